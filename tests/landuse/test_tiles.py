"""``GET /tiles/<slug>/<z>/<x>/<y>.mvt``: decoded in the test, on both backends."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

from landuse.services import layer_import
from tests.landuse.conftest import polygon_feature, two_blocks

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture
def zoning(write_geojson):
    return layer_import(
        path=write_geojson(two_blocks()),
        layer_slug="zoning",
        kind="zoning",
        code_field="ZONE",
        label_field="NAME",
    ).layer


def get_tile(client, z: int, x: int, y: int, **headers):
    return client.get(f"/tiles/zoning/{z}/{x}/{y}.mvt", headers=headers)


def test_a_tile_over_the_blocks_decodes_to_both_features_with_properties(client, zoning):
    x, y = tile_of(-104.98, 39.745, 12)
    response = get_tile(client, 12, x, y)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    layer = decoded["zoning"]
    assert layer["extent"] == 4096
    codes = sorted(f["properties"]["code"] for f in layer["features"])
    assert codes == ["C-MX-5", "U-SU-C"]
    west = next(f for f in layer["features"] if f["properties"]["code"] == "U-SU-C")
    assert west["properties"]["label"] == "Urban single unit C"
    assert west["properties"]["colour"].startswith("#")
    assert west["geometry"]["type"] == "Polygon"
    assert isinstance(west["id"], int)


def test_a_deep_tile_inside_one_block_holds_only_that_block(client, zoning):
    x, y = tile_of(-104.987, 39.745, 17)
    decoded = mapbox_vector_tile.decode(get_tile(client, 17, x, y).content)
    assert [f["properties"]["code"] for f in decoded["zoning"]["features"]] == ["U-SU-C"]
    # The block covers the tile: its clipped ring spans the whole extent (plus the buffer).
    [ring] = decoded["zoning"]["features"][0]["geometry"]["coordinates"]
    xs = [p[0] for p in ring]
    assert min(xs) <= 0 and max(xs) >= 4096


def test_a_tile_with_no_feature_is_204(client, zoning):
    x, y = tile_of(10.0, 50.0, 12)
    response = get_tile(client, 12, x, y)
    assert response.status_code == 204
    assert response.content == b""


def test_a_tile_that_meets_only_a_features_bounding_box_is_204(client, write_geojson):
    # A right triangle: its bounding box covers the north-east corner, the triangle does not.
    triangle = [[-105.0, 39.7], [-104.9, 39.7], [-105.0, 39.8], [-105.0, 39.7]]
    layer_import(
        path=write_geojson([polygon_feature(triangle, ZONE="OS-A")]),
        layer_slug="zoning",
        code_field="ZONE",
    )
    x, y = tile_of(-104.91, 39.79, 16)
    response = get_tile(client, 16, x, y)
    assert response.status_code == 204
    assert response.content == b""
    # The tile at the triangle's right angle holds it: the layer itself is drawn.
    x, y = tile_of(-104.999, 39.701, 16)
    assert get_tile(client, 16, x, y).status_code == 200


def test_a_tile_answers_304_to_its_etag_until_the_next_import(client, zoning, write_geojson):
    x, y = tile_of(-104.98, 39.745, 12)
    first = get_tile(client, 12, x, y)
    assert get_tile(client, 12, x, y, If_None_Match=first["ETag"]).status_code == 304
    layer_import(
        path=write_geojson(two_blocks()[:1], "one.geojson"), layer_slug="zoning", code_field="ZONE"
    )
    after = get_tile(client, 12, x, y, If_None_Match=first["ETag"])
    assert after.status_code == 200
    assert len(mapbox_vector_tile.decode(after.content)["zoning"]["features"]) == 1


@pytest.mark.parametrize("path", ["23/0/0", "3/8/0", "3/0/8", "-1/0/0", "2/-1/0", "0/0/1"])
def test_a_tile_outside_the_grid_is_400(client, zoning, path):
    response = client.get(f"/tiles/zoning/{path}.mvt")
    assert response.status_code == 400
    assert "outside the grid" in response.json()["errors"][0]["message"]


def test_an_unknown_layer_is_404(client, zoning):
    assert client.get("/tiles/parks/0/0/0.mvt").status_code == 404
