"""Mistakes a planner can make are validation errors in the editor, never server errors."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.blocks.struct_block import StructBlockValidationError

from cms.blocks import CallToActionBlock, MapBlock, PlanAreaBlock, TimelineBlock
from cms.models import PlanningTopicPage
from tests.cms.conftest import SQUARE, map_value

pytestmark = pytest.mark.django_db


def map_errors(value: dict) -> dict:
    """Clean a map block value as the editor would, layers given as instances or ids."""
    value = {**value, "layers": [getattr(v, "pk", v) for v in value["layers"]]}
    block = MapBlock()
    with pytest.raises(StructBlockValidationError) as caught:
        block.clean(block.to_python(value))
    return caught.value.block_errors


def plan_area_error(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        PlanAreaBlock().clean(text)
    return " ".join(caught.value.messages)


# --- Map block ------------------------------------------------------------------------------


def test_a_valid_map_block_passes_and_keeps_a_normalised_plan_area(layers):
    block = MapBlock()
    cleaned = block.clean(block.to_python({**map_value(layers), "layers": [layers[0].pk]}))
    assert json.loads(cleaned["plan_area"]) == SQUARE


def test_it_rejects_a_map_block_pointing_at_a_deleted_layer(layers):
    value = {**map_value(layers), "layers": [layers[0].pk, layers[1].pk]}
    layers[1].delete()
    errors = map_errors(value)
    assert "no longer exists" in " ".join(errors["layers"].non_block_errors.as_data()[0].messages)


def test_it_rejects_a_map_without_layers():
    errors = map_errors({**map_value([]), "layers": []})
    assert "layers" in errors


def test_it_rejects_a_centre_outside_wgs84(layers):
    errors = map_errors({**map_value(layers[:1]), "centre_latitude": Decimal("95")})
    assert "centre_latitude" in errors


def test_it_rejects_a_plan_area_that_is_a_point():
    message = plan_area_error('{"type": "Point", "coordinates": [-104.99, 39.74]}')
    assert "must be a Polygon or MultiPolygon, not Point" in message


def test_it_rejects_a_bowtie_polygon():
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert "not valid" in plan_area_error(json.dumps(bowtie))


def test_it_rejects_an_unclosed_ring():
    ring = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
    assert "end where it starts" in plan_area_error(json.dumps(ring))


def test_it_rejects_coordinates_outside_wgs84():
    far = {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, -95], [0, 0]]]}
    assert "WGS84" in plan_area_error(json.dumps(far))


def test_it_rejects_a_crs_member():
    with_crs = {**SQUARE, "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}
    assert "crs" in plan_area_error(json.dumps(with_crs))


def test_it_rejects_text_that_is_not_geojson():
    assert "not valid GeoJSON" in plan_area_error("SRID=4326;POLYGON((0 0,1 0,1 1,0 0))")
    assert "not valid GeoJSON" in plan_area_error('{"type": "Polygon", "coordinates": [NaN]}')


def test_it_rejects_a_geometry_collection():
    collection = {"type": "GeometryCollection", "geometries": [SQUARE]}
    assert "must be a Polygon" in plan_area_error(json.dumps(collection))


def test_it_accepts_a_feature_collection_of_one_polygon_as_exported_by_geojson_io():
    text = json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE}]}
    )
    assert json.loads(PlanAreaBlock().clean(text)) == SQUARE


def test_an_empty_plan_area_is_allowed():
    assert PlanAreaBlock().clean("  ") == ""


# --- Timeline and call to action ----------------------------------------------------------


def test_it_rejects_a_timeline_phase_ending_before_it_starts():
    block = TimelineBlock()
    value = block.to_python(
        {"phases": [{"title": "Review", "starts_on": "2026-10-01", "ends_on": "2026-09-01"}]}
    )
    with pytest.raises(ValidationError) as caught:
        block.clean(value)
    phase_errors = caught.value.block_errors["phases"].block_errors[0].block_errors
    assert phase_errors["ends_on"].messages == ["A phase cannot end before it starts."]


def test_a_phase_of_one_day_is_fine():
    block = TimelineBlock()
    block.clean(
        block.to_python(
            {"phases": [{"title": "Hearing", "starts_on": "2027-03-01", "ends_on": "2027-03-01"}]}
        )
    )


def test_it_rejects_a_call_to_action_anchor_that_is_not_an_id():
    block = CallToActionBlock()
    value = block.to_python(
        {"heading": "Go", "button_label": "Go", "anchor": 'x" onclick="alert(1)'}
    )
    with pytest.raises(StructBlockValidationError) as caught:
        block.clean(value)
    assert "anchor" in caught.value.block_errors


# --- Through the editor -------------------------------------------------------------------


DISCUSSION_FIELDS = {
    "comments_open_at": "",
    "comments_close_at": "",
    "moderation": "post",
    "allow_anonymous": "on",
    "discussion_plan_area": "",
    "feedback_categories-count": "0",
}


def editor_post(
    client, topic_index, *, layer_pk: int, plan_area: str, ends_on: str = "", **discussion
):
    fields = {**DISCUSSION_FIELDS, **discussion}
    # The page's own plan area field is named plan_area in the form; the block's has a prefix.
    fields["plan_area"] = fields.pop("discussion_plan_area")
    data = {
        **fields,
        "title": "Bad map",
        "slug": "bad-map",
        "summary": "",
        "body-count": "2",
        "body-0-type": "map",
        "body-0-deleted": "",
        "body-0-order": "0",
        "body-0-id": "11111111-1111-1111-1111-111111111111",
        "body-0-value-title": "A map",
        "body-0-value-layers-count": "1",
        "body-0-value-layers-0-value": str(layer_pk),
        "body-0-value-layers-0-deleted": "",
        "body-0-value-layers-0-order": "0",
        "body-0-value-layers-0-id": "22222222-2222-2222-2222-222222222222",
        "body-0-value-centre_latitude": "39.74",
        "body-0-value-centre_longitude": "-104.99",
        "body-0-value-zoom": "12",
        "body-0-value-plan_area": plan_area,
        "body-1-type": "timeline",
        "body-1-deleted": "",
        "body-1-order": "1",
        "body-1-id": "33333333-3333-3333-3333-333333333333",
        "body-1-value-heading": "",
        "body-1-value-phases-count": "1",
        "body-1-value-phases-0-value-title": "Review",
        "body-1-value-phases-0-value-starts_on": "2026-10-01",
        "body-1-value-phases-0-value-ends_on": ends_on,
        "body-1-value-phases-0-value-description": "",
        "body-1-value-phases-0-deleted": "",
        "body-1-value-phases-0-order": "0",
        "body-1-value-phases-0-id": "44444444-4444-4444-4444-444444444444",
        "action-publish": "publish",
    }
    url = reverse("wagtailadmin_pages:add", args=("cms", "planningtopicpage", topic_index.pk))
    return client.post(url, data)


def test_the_editor_saves_a_valid_map_and_timeline(client, superuser, topic_index, layers):
    client.force_login(superuser)
    response = editor_post(
        client,
        topic_index,
        layer_pk=layers[0].pk,
        plan_area=json.dumps(SQUARE),
        ends_on="2026-12-01",
    )
    assert response.status_code == 302
    assert PlanningTopicPage.objects.get(slug="bad-map").live


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("point", "must be a Polygon or MultiPolygon"),
        ("deleted layer", "no longer exists"),
        ("phase", "A phase cannot end before it starts."),
    ],
)
def test_the_editor_shows_an_error_and_saves_nothing(
    client, superuser, topic_index, layers, problem, message
):
    client.force_login(superuser)
    layer_pk = layers[0].pk
    plan_area, ends_on = json.dumps(SQUARE), "2026-12-01"
    if problem == "point":
        plan_area = '{"type": "Point", "coordinates": [-104.99, 39.74]}'
    elif problem == "deleted layer":
        layers[0].delete()
    else:
        ends_on = "2026-09-01"
    response = editor_post(
        client, topic_index, layer_pk=layer_pk, plan_area=plan_area, ends_on=ends_on
    )
    assert response.status_code == 200
    assert "The page could not be created due to validation errors" in response.content.decode()
    assert message in response.content.decode()
    assert not PlanningTopicPage.objects.filter(slug="bad-map").exists()
