"""``GET /api/landuse/layers/<slug>/features.geojson``: RFC 7946, by bbox and zoom, cached."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape

from landuse.services import layer_import
from tests.landuse.conftest import polygon_feature, two_blocks, wiggly_block

pytestmark = pytest.mark.django_db

URL = "/api/landuse/layers/zoning/features.geojson"


@pytest.fixture
def zoning(write_geojson):
    return layer_import(
        path=write_geojson([*two_blocks(), wiggly_block()]),
        layer_slug="zoning",
        kind="zoning",
        code_field="ZONE",
        label_field="NAME",
    ).layer


def assert_rfc7946(collection: dict) -> None:
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert "crs" not in geometry
        polygons = [geometry["coordinates"]]
        if geometry["type"] == "MultiPolygon":
            polygons = geometry["coordinates"]
        for rings in polygons:
            for index, ring in enumerate(rings):
                assert len(ring) >= 4 and ring[0] == ring[-1]
                assert all(len(position) == 2 for position in ring)
                # Right-hand rule: exterior counter-clockwise, holes clockwise.
                assert shapely.LinearRing(ring).is_ccw == (index == 0)
                assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)
        assert shape(geometry).is_valid


def test_the_whole_layer_is_a_valid_rfc_7946_feature_collection(client, zoning):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(response.content)
    assert_rfc7946(collection)
    properties = sorted(
        (f["properties"]["code"], f["properties"]["label"]) for f in collection["features"]
    )
    assert properties == [
        ("C-MX-5", "Urban center mixed use 5"),
        ("I-A", "Light industrial"),
        ("U-SU-C", "Urban single unit C"),
    ]
    assert all(f["properties"]["colour"].startswith("#") for f in collection["features"])


def test_a_bbox_returns_only_the_features_it_touches(client, zoning):
    response = client.get(URL, {"bbox": "-104.995,39.741,-104.985,39.749", "zoom": "16"})
    codes = [f["properties"]["code"] for f in response.json()["features"]]
    assert codes == ["U-SU-C"]
    empty = client.get(URL, {"bbox": "-100,30,-99,31"}).json()
    assert empty == {"type": "FeatureCollection", "features": []}


def test_a_low_zoom_gets_fewer_vertices_and_stays_valid(client, zoning):
    def vertices(zoom: str) -> int:
        collection = client.get(URL, {"zoom": zoom}).json()
        assert_rfc7946(collection)
        return sum(
            shapely.get_num_coordinates(shape(f["geometry"])) for f in collection["features"]
        )

    assert vertices("10") < vertices("12") < vertices("16")


def test_an_unchanged_layer_answers_304_to_its_etag_and_date(client, zoning):
    first = client.get(URL, {"zoom": "12"})
    etag, modified = first["ETag"], first["Last-Modified"]
    assert first["Cache-Control"] == "public, no-cache"
    again = client.get(URL, {"zoom": "12"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    dated = client.get(URL, {"zoom": "12"}, headers={"If-Modified-Since": modified})
    assert dated.status_code == 304
    # Another bbox or zoom band is another representation.
    other = client.get(URL, {"zoom": "16"}, headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_a_reimport_changes_the_etag_and_the_content(client, zoning, write_geojson):
    first = client.get(URL)
    layer_import(
        path=write_geojson(two_blocks()[:1], "smaller.geojson"),
        layer_slug="zoning",
        code_field="ZONE",
    )
    second = client.get(URL, headers={"If-None-Match": first["ETag"]})
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    assert len(second.json()["features"]) == 1


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"bbox": "1,2,3"}, "bbox", "four numbers"),
        ({"bbox": "a,b,c,d"}, "bbox", "must be a number"),
        ({"bbox": "-104,39,-105,40"}, "bbox", "minimum must be below maximum"),
        ({"bbox": "-200,39,-105,40"}, "bbox", "between -180 and 180"),
        ({"bbox": "-105,39,-104,95"}, "bbox", "between -90 and 90"),
        ({"bbox": "-105,nan,-104,40"}, "bbox", "finite"),
        ({"zoom": "-1"}, "zoom", "whole number"),
        ({"zoom": "99"}, "zoom", "whole number"),
        ({"zoom": "12.5"}, "zoom", "whole number"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(client, zoning, params, field, reason):
    response = client.get(URL, params)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field and reason in error["message"]


def test_an_unknown_layer_is_a_404(client, zoning):
    response = client.get("/api/landuse/layers/parks/features.geojson")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "slug"


def test_at_city_zoom_the_blocks_of_a_zone_are_one_dissolved_feature_with_its_code(
    client, write_geojson
):
    # Both blocks share a zone: at z11 they are one feature, at z12 still two.
    same_zone = [
        polygon_feature(block["geometry"]["coordinates"][0], ZONE="U-SU-C", NAME="SU")
        for block in two_blocks()
    ]
    layer_import(
        path=write_geojson(same_zone),
        layer_slug="zoning",
        kind="zoning",
        code_field="ZONE",
        label_field="NAME",
    )
    city = client.get(URL, {"zoom": "11"}).json()
    assert_rfc7946(city)
    [feature] = city["features"]
    assert feature["properties"] == {
        "code": "U-SU-C",
        "label": "SU",
        "colour": feature["properties"]["colour"],
    }
    assert feature["geometry"]["type"] == "Polygon"
    assert shape(feature["geometry"]).area == pytest.approx(0.0002, rel=1e-3)
    assert "id" not in feature
    assert len(client.get(URL, {"zoom": "12"}).json()["features"]) == 2
    assert (
        len(
            client.get(URL, {"zoom": "10", "bbox": "-104.995,39.741,-104.985,39.749"}).json()[
                "features"
            ]
        )
        == 1
    )
    assert client.get(URL, {"zoom": "11", "bbox": "-100,30,-99,31"}).json()["features"] == []


def test_a_reimport_rebuilds_the_dissolved_city_zoom_features(client, zoning, write_geojson):
    before = {f["properties"]["code"] for f in client.get(URL, {"zoom": "11"}).json()["features"]}
    assert before == {"U-SU-C", "C-MX-5", "I-A"}
    layer_import(
        path=write_geojson(two_blocks()[:1], "smaller.geojson"),
        layer_slug="zoning",
        code_field="ZONE",
    )
    after = client.get(URL, {"zoom": "11"}).json()["features"]
    assert [f["properties"]["code"] for f in after] == ["U-SU-C"]
    assert shape(after[0]["geometry"]).equals(
        shapely.Polygon(two_blocks()[0]["geometry"]["coordinates"][0])
    )


def test_a_layer_of_points_keeps_one_feature_per_point_at_city_zoom(client, write_geojson):
    points = [
        {
            "type": "Feature",
            "properties": {"KIND": "stop"},
            "geometry": {"type": "Point", "coordinates": [-104.99 + k / 100, 39.74]},
        }
        for k in range(3)
    ]
    layer_import(path=write_geojson(points), layer_slug="stops", code_field="KIND")
    collection = client.get("/api/landuse/layers/stops/features.geojson", {"zoom": "11"}).json()
    assert len(collection["features"]) == 3
    assert all("id" in feature for feature in collection["features"])
