"""Property-based tests (Hypothesis): whatever GeoJSON-ish object or comment body a client
sends, the validator answers with a field-named refusal or a valid, flat, WGS84 geometry, and
the API never answers 5xx or stores invalid geometry. Bounded: a few seconds per test."""

from __future__ import annotations

import json
import math

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engage.models import Comment
from engage.validation import GEOMETRY_TYPES, Problem, geometry_from_geojson
from tests.engage.conftest import comments_url
from tests.security.conftest import assert_inert_html

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-106, max_value=-104, allow_nan=False),  # around the plan area
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -180, 180, 90, -90, 200, -95, 1e308, -0.0, 5e-324]),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | NUMBERS | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
POSITION = st.lists(NUMBERS, min_size=0, max_size=5) | JSONISH
LINE = st.lists(POSITION, max_size=12)
RING = st.lists(
    st.tuples(
        st.floats(min_value=-105.1, max_value=-104.8), st.floats(min_value=39.6, max_value=39.9)
    ).map(list),
    min_size=0,
    max_size=10,
).map(lambda ring: ring + ring[:1] if ring else ring)
GEOMETRY = st.fixed_dictionaries(
    {
        "type": st.sampled_from([*GEOMETRY_TYPES, "MultiPoint", "GeometryCollection", "x"])
        | st.text(max_size=5),
        "coordinates": POSITION | LINE | st.lists(LINE | RING, max_size=4) | JSONISH,
    },
    optional={
        "crs": JSONISH,
        "bbox": JSONISH,
        "geometries": st.lists(JSONISH, max_size=3),
        "srid": st.integers(),
    },
)


def _check_accepted(geometry) -> None:
    assert geometry.srid == 4326
    assert geometry.geom_type in GEOMETRY_TYPES
    assert geometry.valid, geometry.valid_reason
    assert not geometry.empty and not geometry.hasz
    xmin, ymin, xmax, ymax = geometry.extent
    assert all(math.isfinite(n) for n in (xmin, ymin, xmax, ymax))
    assert -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


@settings(max_examples=600, deadline=None)
@given(value=GEOMETRY | JSONISH)
def test_the_geometry_validator_refuses_cleanly_or_returns_a_valid_geometry(value):
    try:
        geometry = geometry_from_geojson(value)
    except Problem as problem:
        assert problem.errors and problem.errors[0]["field"] == "geometry"
        assert problem.status == 400
        return
    _check_accepted(geometry)


@settings(max_examples=300, deadline=None)
@given(ring=RING, holes=st.lists(RING, max_size=2))
def test_random_polygons_in_the_plan_area_are_valid_or_refused(ring, holes):
    try:
        geometry = geometry_from_geojson({"type": "Polygon", "coordinates": [ring, *holes]})
    except Problem:
        return
    _check_accepted(geometry)


FIELDS = st.sampled_from(["body", "display_name", "geometry", "category", "parent", "website"])
BODIES = st.dictionaries(
    FIELDS | st.text(max_size=10),
    st.text(max_size=200) | JSONISH | GEOMETRY,
    max_size=6,
)


@pytest.mark.django_db
@override_settings(ENGAGE_RATE_LIMITS={"comment": (100_000, 60)})
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=BODIES)
def test_the_comment_api_never_answers_5xx_nor_stores_invalid_geometry(discussion, data):
    try:
        raw = json.dumps(data, allow_nan=True)
    except (ValueError, RecursionError):
        return
    response = Client().generic(
        "POST", comments_url(discussion), raw, content_type="application/json"
    )
    assert response.status_code in (201, 400, 413), (response.status_code, response.content)
    if response.status_code == 201:
        created = response.json()
        assert_inert_html(created["body_html"])
        stored = Comment.objects.get(pk=created["id"])
        assert "\x00" not in stored.body + stored.display_name
        if stored.geometry is not None:
            _check_accepted(stored.geometry)
    else:
        assert "field" in response.json()["errors"][0]  # "" for an unknown field named ""


@pytest.mark.django_db
@override_settings(ENGAGE_RATE_LIMITS={"comment": (100_000, 60)})
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.text(min_size=1, max_size=300), name=st.text(min_size=1, max_size=70))
def test_any_unicode_text_is_stored_or_refused_never_a_5xx(discussion, body, name):
    response = Client().post(
        comments_url(discussion),
        data=json.dumps({"body": body, "display_name": name}),
        content_type="application/json",
    )
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        assert_inert_html(response.json()["body_html"])
