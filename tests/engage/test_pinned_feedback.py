"""Comments pinned to a point, a line or a polygon: the geometry rules, the land-use answer
recorded at the pin, and the GeoJSON the map reads."""

from __future__ import annotations

import pytest

from engage.models import Comment
from tests.engage.conftest import INSIDE, OUTSIDE, error_fields, open_discussion, post_comment

pytestmark = pytest.mark.django_db

SQUARE = [[-104.99, 39.74], [-104.98, 39.74], [-104.98, 39.75], [-104.99, 39.75], [-104.99, 39.74]]


def polygon(ring):
    return {"type": "Polygon", "coordinates": [ring]}


def test_a_point_pin_records_zoning_and_future_land_use_at_its_location(
    anonymous_client, discussion, landuse_map
):
    point = [-104.99, 39.74]
    response = post_comment(
        anonymous_client, discussion, geometry={"type": "Point", "coordinates": point}
    )
    assert response.status_code == 201
    out = response.json()
    assert out["geometry"] == {"type": "Point", "coordinates": point}
    assert [a["code"] for a in out["landuse"]] == ["C-MX-5", "CC"]
    comment = Comment.objects.get()
    assert comment.zoning_code == "C-MX-5"
    assert comment.future_land_use_code == "CC"
    assert comment.geometry.srid == 4326


def test_a_polygon_pin_is_looked_up_at_its_point_on_surface(
    anonymous_client, discussion, landuse_map
):
    ring = [[-104.995, 39.735], [-104.985, 39.735], [-104.985, 39.745], [-104.995, 39.735]]
    response = post_comment(anonymous_client, discussion, geometry=polygon(ring))
    assert response.status_code == 201
    assert Comment.objects.get().zoning_code == "C-MX-5"


def test_a_line_pin_outside_every_layer_records_no_codes(anonymous_client, discussion, landuse_map):
    line = {"type": "LineString", "coordinates": [[-105.05, 39.65], [-105.04, 39.66]]}
    response = post_comment(anonymous_client, discussion, geometry=line)
    assert response.status_code == 201
    comment = Comment.objects.get()
    assert comment.landuse == [] and comment.zoning_code == ""


def test_a_polygon_drawn_clockwise_is_accepted_and_served_counter_clockwise(
    anonymous_client, discussion
):
    response = post_comment(anonymous_client, discussion, geometry=polygon(SQUARE[::-1]))
    assert response.status_code == 201
    assert response.json()["geometry"]["coordinates"] == [SQUARE]


def bowtie():
    return polygon(
        [[-104.99, 39.74], [-104.98, 39.75], [-104.98, 39.74], [-104.99, 39.75], [-104.99, 39.74]]
    )


def many_vertices(n):
    ring = [[-104.99 + i * 1e-6, 39.74 + (i % 2) * 1e-6] for i in range(n)]
    return {"type": "LineString", "coordinates": ring}


BAD_GEOMETRY = {
    "a bow-tie polygon": bowtie(),
    "an unclosed ring": polygon(SQUARE[:-1] + [[-104.985, 39.745]]),
    "a ring of three positions": polygon([SQUARE[0], SQUARE[1], SQUARE[0]]),
    "longitude 200": {"type": "Point", "coordinates": [200, 39.7]},
    "latitude -95": {"type": "Point", "coordinates": [-104.9, -95]},
    "swapped lat/lon (outside the plan area)": {"type": "Point", "coordinates": INSIDE[::-1]},
    "a point outside the plan area": {"type": "Point", "coordinates": OUTSIDE},
    "a polygon crossing the plan area's edge": polygon(
        [[-104.9, 39.7], [-104.5, 39.7], [-104.5, 39.8], [-104.9, 39.7]]
    ),
    "a crs member": {
        "type": "Point",
        "coordinates": INSIDE,
        "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
    },
    "a WKT string": "POINT(-104.99 39.74)",
    "an EWKT string": "SRID=3857;POINT(-11688000 4828000)",
    "a HEX WKB string": "0101000000F6285C8FC23F5AC01F85EB51B8DE4340",
    "a GeometryCollection": {
        "type": "GeometryCollection",
        "geometries": [{"type": "Point", "coordinates": INSIDE}],
    },
    "a MultiPoint": {"type": "MultiPoint", "coordinates": [INSIDE]},
    "a Feature instead of a geometry": {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": INSIDE},
        "properties": {},
    },
    "four numbers per position": {"type": "Point", "coordinates": [-104.99, 39.74, 1, 2]},
    "one number": {"type": "Point", "coordinates": [-104.99]},
    "an empty point": {"type": "Point", "coordinates": []},
    "an empty polygon": {"type": "Polygon", "coordinates": []},
    "a one-position line": {"type": "LineString", "coordinates": [INSIDE]},
    "a line of one repeated position": {"type": "LineString", "coordinates": [INSIDE, INSIDE]},
    "coordinates as strings": {"type": "Point", "coordinates": ["-104.99", "39.74"]},
    "booleans as coordinates": {"type": "Point", "coordinates": [True, False]},
    "too many vertices": many_vertices(2001),
    "a list instead of an object": [-104.99, 39.74],
    "a number": 42,
}


@pytest.mark.parametrize("geometry", BAD_GEOMETRY.values(), ids=BAD_GEOMETRY.keys())
def test_bad_geometry_is_refused_naming_the_field(
    anonymous_client, discussion, django_capture_on_commit_callbacks, geometry
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_comment(anonymous_client, discussion, geometry=geometry)
    assert response.status_code == 400, response.content
    assert error_fields(response) == {"geometry"}
    assert Comment.objects.count() == 0
    assert callbacks == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(anonymous_client, discussion, constant):
    raw = (
        '{"body": "hi", "display_name": "Sam", '
        f'"geometry": {{"type": "Point", "coordinates": [{constant}, 39.74]}}}}'
    )
    response = anonymous_client.post(
        f"/api/engage/discussions/{discussion.pk}/comments/",
        data=raw,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_a_million_vertices_are_refused_without_parsing_them_all(anonymous_client, discussion):
    response = post_comment(anonymous_client, discussion, geometry=many_vertices(1_000_000))
    assert response.status_code == 413
    assert Comment.objects.count() == 0


def test_2000_vertices_are_accepted(anonymous_client, discussion):
    response = post_comment(anonymous_client, discussion, geometry=many_vertices(2000))
    assert response.status_code == 201


def test_any_valid_location_is_accepted_when_the_discussion_has_no_plan_area(anonymous_client, db):
    discussion = open_discussion(plan_area=None)
    response = post_comment(
        anonymous_client, discussion, geometry={"type": "Point", "coordinates": [151.2, -33.9]}
    )
    assert response.status_code == 201


# --- feedback.geojson ---------------------------------------------------------------------


def feedback(client, discussion, query=""):
    return client.get(f"/api/engage/discussions/{discussion.pk}/feedback.geojson{query}")


def test_the_map_gets_published_pins_as_a_feature_collection(anonymous_client, discussion):
    pin = {"type": "Point", "coordinates": INSIDE}
    post_comment(anonymous_client, discussion, geometry=pin, category="idea", body="<b>x</b>")
    post_comment(anonymous_client, discussion, body="not pinned")
    response = feedback(anonymous_client, discussion)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["geometry"] == pin
    assert feature["properties"]["category"] == "idea"
    assert feature["properties"]["body"] == "<b>x</b>"
    assert feature["properties"]["body_html"] == "&lt;b&gt;x&lt;/b&gt;"


def test_the_map_can_show_one_category(anonymous_client, discussion):
    pin = {"type": "Point", "coordinates": INSIDE}
    post_comment(anonymous_client, discussion, geometry=pin, category="idea")
    post_comment(anonymous_client, discussion, geometry=pin, category="concern")
    features = feedback(anonymous_client, discussion, "?category=concern").json()["features"]
    assert [f["properties"]["category"] for f in features] == ["concern"]


def test_an_unknown_category_filter_is_refused(anonymous_client, discussion):
    response = feedback(anonymous_client, discussion, "?category=nope")
    assert response.status_code == 400
    assert error_fields(response) == {"category"}


def test_hidden_and_pending_pins_are_not_on_the_map(anonymous_client, db):
    discussion = open_discussion(moderation="pre")
    post_comment(anonymous_client, discussion, geometry={"type": "Point", "coordinates": INSIDE})
    assert feedback(anonymous_client, discussion).json()["features"] == []


def test_the_feedback_of_an_unpublished_discussion_is_404(anonymous_client, db):
    discussion = open_discussion(is_published=False)
    assert feedback(anonymous_client, discussion).status_code == 404
