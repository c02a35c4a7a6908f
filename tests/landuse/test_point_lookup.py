"""``point_lookup`` and ``GET /api/landuse/lookup/``: what every layer says at a point."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from landuse.models import Layer
from landuse.selectors import LayerAnswer, point_lookup
from landuse.services import layer_import
from tests.landuse.conftest import BOTH_BLOCKS, polygon_feature, prepared_runs, two_blocks

pytestmark = pytest.mark.django_db

URL = "/api/landuse/lookup/"


@pytest.fixture
def city(write_geojson):
    layer_import(
        path=write_geojson(two_blocks()),
        layer_slug="zoning",
        kind="zoning",
        code_field="ZONE",
        label_field="NAME",
    )
    layer_import(
        path=write_geojson([polygon_feature(BOTH_BLOCKS, CODE="UO-3")], "overlay.geojson"),
        layer_slug="historic",
        kind="overlay",
        code_field="CODE",
    )
    Layer.objects.filter(slug="historic").update(display_order=5)


def test_a_point_inside_answers_for_every_layer_in_display_order(city):
    answers = point_lookup(lon=-104.985, lat=39.745)
    assert [(a.layer_slug, a.kind, a.code, a.label) for a in answers] == [
        ("zoning", "zoning", "U-SU-C", "Urban single unit C"),
        ("historic", "overlay", "UO-3", "UO-3"),
    ]
    assert all(isinstance(a, LayerAnswer) and a.colour.startswith("#") for a in answers)
    assert answers[0].feature_id is not None


def test_a_point_on_a_shared_edge_gets_one_stable_answer_per_layer(city):
    answers = point_lookup(lon=-104.98, lat=39.745)
    assert [a.layer_slug for a in answers] == ["zoning", "historic"]
    # Both blocks touch the edge; the older feature (the west block, imported first) answers.
    assert answers[0].code == "U-SU-C"
    assert point_lookup(lon=-104.98, lat=39.745) == answers


def test_a_point_outside_every_feature_gets_no_answer(city):
    assert point_lookup(lon=-104.9, lat=39.745) == []


def test_the_lookup_is_one_sql_statement(city):
    with CaptureQueriesContext(connection) as queries:
        point_lookup(lon=-104.975, lat=39.745)
    assert len(queries) == 1


@pytest.mark.postgis
def test_on_postgis_the_lookup_reuses_a_prepared_statement_and_its_plan(city):
    runs, generic = prepared_runs("%JOIN landuse_layer l%")
    answers = [point_lookup(lon=-104.985 + i * 1e-4, lat=39.745) for i in range(7)]
    now_runs, now_generic = prepared_runs("%JOIN landuse_layer l%")
    assert now_runs - runs == 7
    assert now_generic > generic
    # The generic plan answers as the first, value-specific ones did.
    assert all([a.code for a in answer] == ["U-SU-C", "UO-3"] for answer in answers)


def test_the_api_answers_with_codes_labels_and_colours(client, city):
    response = client.get(URL, {"lon": "-104.975", "lat": "39.745"})
    assert response.status_code == 200
    body = response.json()
    assert (body["lon"], body["lat"]) == (-104.975, 39.745)
    first = body["layers"][0]
    assert (first["layer_slug"], first["code"], first["label"]) == (
        "zoning",
        "C-MX-5",
        "Urban center mixed use 5",
    )
    assert set(first) >= {"layer_slug", "layer_title", "kind", "code", "label", "colour"}


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"lon": "200", "lat": "39.7"}, "lon", "between -180 and 180"),
        ({"lon": "-104.9", "lat": "-95"}, "lat", "between -90 and 90"),
        ({"lon": "east", "lat": "39.7"}, "lon", "must be a number"),
        ({"lon": "NaN", "lat": "39.7"}, "lon", "finite"),
        ({"lon": "-104.9", "lat": "Infinity"}, "lat", "finite"),
        ({"lat": "39.7"}, "lon", "required"),
        ({"lon": "-104.9", "lat": ""}, "lat", "required"),
    ],
)
def test_bad_coordinates_are_a_400_naming_the_field(client, city, params, field, reason):
    response = client.get(URL, params)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert reason in error["message"]
