"""Hostile geometry on pinned feedback (THREATS 3): every case is a 400 naming ``geometry``,
nothing stored, nothing broadcast; no user string or SRID ever reaches GEOS or GDAL."""

from __future__ import annotations

import json
import time

import pytest

from engage.validation import MAX_VERTICES, Problem, geometry_from_geojson
from tests.engage.conftest import INSIDE, comments_url, post_comment
from tests.security.conftest import assert_error

pytestmark = pytest.mark.django_db

LON, LAT = INSIDE


def square(size: float = 0.001) -> list[list[float]]:
    return [
        [LON, LAT],
        [LON + size, LAT],
        [LON + size, LAT + size],
        [LON, LAT + size],
        [LON, LAT],
    ]


def collection(depth: int) -> dict:
    geometry: dict = {"type": "Point", "coordinates": INSIDE}
    for _ in range(depth):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


BOWTIE = [[LON, LAT], [LON + 0.01, LAT + 0.01], [LON + 0.01, LAT], [LON, LAT + 0.01], [LON, LAT]]

HOSTILE = {
    "bow-tie polygon": {"type": "Polygon", "coordinates": [BOWTIE]},
    "unclosed ring": {"type": "Polygon", "coordinates": [square()[:-1]]},
    "ring of three positions": {"type": "Polygon", "coordinates": [square()[:3]]},
    "polygon without rings": {"type": "Polygon", "coordinates": []},
    "line of one position": {"type": "LineString", "coordinates": [INSIDE]},
    "line of one repeated position": {"type": "LineString", "coordinates": [INSIDE, INSIDE]},
    "longitude 200": {"type": "Point", "coordinates": [200, LAT]},
    "latitude -95": {"type": "Point", "coordinates": [LON, -95]},
    "huge integer": {"type": "Point", "coordinates": [10**400, LAT]},
    "strings": {"type": "Point", "coordinates": [str(LON), str(LAT)]},
    "booleans": {"type": "Point", "coordinates": [True, False]},
    "null coordinates": {"type": "Point", "coordinates": None},
    "nested coordinates": {"type": "Point", "coordinates": [[LON, LAT]]},
    "swapped lat/lon": {"type": "Point", "coordinates": [LAT, LON]},
    "outside the plan area": {"type": "Point", "coordinates": [-104.50, 39.74]},
    "crs member": {
        "type": "Point",
        "coordinates": INSIDE,
        "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
    },
    "crs pointing at a file": {
        "type": "Point",
        "coordinates": INSIDE,
        "crs": {"type": "link", "properties": {"href": "file:///etc/passwd", "type": "proj4"}},
    },
    "crs pointing at a URL": {
        "type": "Point",
        "coordinates": INSIDE,
        "crs": {"type": "link", "properties": {"href": "http://169.254.169.254/", "type": "wkt"}},
    },
    "GeometryCollection": collection(1),
    "nested GeometryCollection": collection(100),
    "MultiPoint": {"type": "MultiPoint", "coordinates": [INSIDE]},
    "Feature wrapper": {"type": "Feature", "geometry": {"type": "Point", "coordinates": INSIDE}},
    "empty Point": {"type": "Point", "coordinates": []},
    "empty LineString": {"type": "LineString", "coordinates": []},
    "empty Polygon ring": {"type": "Polygon", "coordinates": [[]]},
    "4-number position": {"type": "Point", "coordinates": [LON, LAT, 0, 0]},
    "1-number position": {"type": "Point", "coordinates": [LON]},
    "unknown type": {"type": "Circle", "coordinates": INSIDE, "radius": 5},
    "type missing": {"coordinates": INSIDE},
    "extra member": {"type": "Point", "coordinates": INSIDE, "srid": 3857},
    "too many rings": {"type": "Polygon", "coordinates": [square()] * 51},
    "hole outside the shell": {
        "type": "Polygon",
        "coordinates": [square(), [[p[0] + 1, p[1]] for p in square()]],
    },
}

TEXT_FORMS = [
    "SRID=3857;POINT(-11688000 4828000)",
    "POINT(-104.99 39.74)",
    "0101000020E6100000A4703D0AD73F5AC01F85EB51B8DE4340",  # HEXEWKB with SRID 4326
    "010100000000000000000000000000000000000000",
    '{"type": "Point", "coordinates": [-104.99, 39.74]}',  # GeoJSON as a string
    "/etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_geometry_is_refused_naming_the_geometry(
    anonymous_client, discussion, nothing_changes, name
):
    with nothing_changes():
        response = post_comment(anonymous_client, discussion, geometry=HOSTILE[name])
    assert_error(response, 400, "geometry")
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("text", TEXT_FORMS)
def test_geometry_as_text_ewkt_or_hex_is_refused(
    anonymous_client, discussion, nothing_changes, text
):
    with nothing_changes():
        response = post_comment(anonymous_client, discussion, geometry=text)
    assert_error(response, 400, "geometry")


@pytest.mark.parametrize("depth", [300, 2000])
def test_a_deeply_nested_geometry_collection_never_reaches_geos(
    anonymous_client, discussion, nothing_changes, depth
):
    point = '{"type": "Point", "coordinates": [-104.99, 39.74]}'
    nested = '{"type": "GeometryCollection", "geometries": [' * depth + point + "]}" * depth
    raw = '{"body": "x", "display_name": "n", "geometry": ' + nested + "}"
    with nothing_changes():
        response = anonymous_client.generic(
            "POST", comments_url(discussion), raw, content_type="application/json"
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in {"body", "geometry"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_nan_and_infinity_are_refused(anonymous_client, discussion, nothing_changes, constant):
    raw = (
        '{"body": "x", "display_name": "n", "geometry": '
        f'{{"type": "Point", "coordinates": [{constant}, 39.74]}}}}'
    )
    with nothing_changes():
        response = anonymous_client.generic(
            "POST", comments_url(discussion), raw, content_type="application/json"
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in {"body", "geometry"}


def test_a_million_vertices_are_refused_fast_over_http(
    anonymous_client, discussion, nothing_changes
):
    ring = [[LON + i * 1e-9, LAT] for i in range(1_000_000)] + [[LON, LAT]]
    raw = json.dumps({"body": "x", "display_name": "n", "geometry": {"type": "Polygon",
                      "coordinates": [ring]}})  # fmt: skip
    started = time.perf_counter()
    with nothing_changes():
        response = anonymous_client.generic(
            "POST", comments_url(discussion), raw, content_type="application/json"
        )
    elapsed = time.perf_counter() - started
    assert response.status_code == 413  # refused on Content-Length, before parsing
    # Not a benchmark: a guard that the refusal does not parse or validate the geometry.
    assert elapsed < 2, elapsed


def test_the_validator_refuses_a_million_vertices_before_looking_at_them():
    ring = [[LON, LAT]] * 1_000_000
    started = time.perf_counter()
    with pytest.raises(Problem) as refused:
        geometry_from_geojson({"type": "Polygon", "coordinates": [ring]})
    assert time.perf_counter() - started < 0.5
    assert "at most" in str(refused.value)


def test_the_vertex_budget_is_shared_by_all_rings():
    hole = [[LON + 0.0001, LAT + 0.0001], [LON + 0.0002, LAT + 0.0001],
            [LON + 0.0002, LAT + 0.0002], [LON + 0.0001, LAT + 0.0001]]  # fmt: skip
    rings = [square(0.01)] + [hole] * 49
    geometry_from_geojson({"type": "Polygon", "coordinates": rings[:2]})  # fine
    many = [[[LON + i * 1e-7, LAT] for i in range(MAX_VERTICES // 2)] + [[LON, LAT]]] * 3
    with pytest.raises(Problem):
        geometry_from_geojson({"type": "Polygon", "coordinates": many})


def test_a_point_where_only_polygons_would_do_names_the_type():
    with pytest.raises(Problem) as refused:
        geometry_from_geojson({"type": "GeometryCollection", "geometries": []})
    assert refused.value.errors[0]["field"] == "geometry"


def test_a_3d_position_is_stored_flat(anonymous_client, discussion):
    response = post_comment(
        anonymous_client, discussion, geometry={"type": "Point", "coordinates": [LON, LAT, 1600]}
    )
    assert response.status_code == 201
    assert response.json()["geometry"]["coordinates"] == [LON, LAT]


def test_the_stored_geometry_is_the_validated_one(anonymous_client, discussion):
    clockwise = list(reversed(square()))
    response = post_comment(
        anonymous_client, discussion, geometry={"type": "Polygon", "coordinates": [clockwise]}
    )
    assert response.status_code == 201
    from engage.models import Comment

    stored = Comment.objects.get().geometry
    assert stored.valid and stored.srid == 4326 and not stored.hasz
