"""``GET /tiles/<slug>/<z>/<x>/<y>.mvt``: decoded in the test, on both backends."""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import GEOSGeometry, Polygon

from landuse.models import Feature
from landuse.selectors import TILE_EXTENT, layer_tile
from landuse.services import layer_import
from tests.landuse.conftest import polygon_feature, prepared_runs, two_blocks, wiggly_block

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


# --- The stored band a tile is drawn from (landuse.sql.tile_geometry) ----------------------


@pytest.fixture
def wiggly(write_geojson):
    layer = layer_import(
        path=write_geojson([*two_blocks(), wiggly_block()]), layer_slug="zoning", code_field="ZONE"
    ).layer
    return layer, Feature.objects.get(category__code="I-A")


def west_and_east(layer, code: str, z: int, lon: float = -104.985) -> tuple[float, float]:
    """The longitudes of the west and east edges of feature ``code`` in the tile at zoom ``z``
    over the wiggly block at ``lon`` (one tile unit is under 1e-4 degrees at z10)."""
    x, y = tile_of(lon, 39.7325, z)
    decoded = mapbox_vector_tile.decode(layer_tile(layer=layer, z=z, x=x, y=y))
    [feature] = [f for f in decoded["zoning"]["features"] if f["properties"]["code"] == code]
    units = [point[0] for point in feature["geometry"]["coordinates"][0]]
    return tuple((x + u / TILE_EXTENT) / 2**z * 360 - 180 for u in (min(units), max(units)))


def mercator_rectangle(west: float, east: float) -> GEOSGeometry:
    """A rectangle over the wiggly block's latitudes from ``west`` to ``east``, in EPSG:3857."""
    rectangle = Polygon.from_bbox((west, 39.7305, east, 39.7345))
    rectangle.srid = 4326
    return rectangle.transform(3857, clone=True)


def test_up_to_z12_a_tile_draws_the_band_geojson_draws_and_from_z13_the_full_copy(wiggly):
    layer, block = wiggly
    assert block.geometry_low_3857.num_coords < block.geometry_3857.num_coords
    assert block.geometry_mid_3857.num_coords < block.geometry_3857.num_coords
    # Each band replaced by a strip of its own (low: the block's west fifth, mid: its east
    # fifth), so the tile shows which copy it was drawn from.
    low, mid = (-104.99, -104.988), (-104.982, -104.98)
    Feature.objects.filter(pk=block.pk).update(
        geometry_low_3857=mercator_rectangle(*low), geometry_mid_3857=mercator_rectangle(*mid)
    )
    for z, expected in [(10, low), (11, mid), (12, mid)]:
        assert west_and_east(layer, "I-A", z) == pytest.approx(expected, abs=1e-4), z
    # At z13 a tile edge crosses the block at -104.9854: the tile west of it holds the full
    # block from its west edge to that edge (and the buffer beyond), neither strip.
    west, east = west_and_east(layer, "I-A", 13, lon=-104.988)
    assert west == pytest.approx(-104.99, abs=1e-4)
    assert -104.9855 < east < -104.984


def test_a_tile_draws_the_full_copy_of_a_feature_without_a_stored_band(wiggly):
    layer, block = wiggly
    # Rectangles keep every vertex when simplified, so they have no band; nor had features
    # imported before the bands were stored, until the migration projected theirs.
    assert not Feature.objects.exclude(pk=block.pk).filter(geometry_low_3857__isnull=False)
    Feature.objects.filter(pk=block.pk).update(geometry_low_3857=None, geometry_mid_3857=None)
    for z in (10, 12):
        assert west_and_east(layer, "I-A", z) == pytest.approx((-104.99, -104.98), abs=1e-4)
        assert west_and_east(layer, "U-SU-C", z) == pytest.approx((-104.99, -104.98), abs=1e-4)


# --- PostGIS: the tile statement prepared from street zooms (landuse.selectors) -----------


def tile_plan_runs() -> tuple[int, int]:
    """Runs of prepared tile statements on this connection so far: (all, on a generic plan)."""
    return prepared_runs("%ST_AsMVT%")


def features(tile: bytes) -> list:
    """A tile's features, sorted: ST_AsMVT does not promise an order, and two plans may differ."""
    return sorted(
        (f["id"], json.dumps(f["geometry"]), json.dumps(f["properties"], sort_keys=True))
        for layer in mapbox_vector_tile.decode(tile).values()
        for f in layer["features"]
    )


def plain_tile(layer, z: int, x: int, y: int) -> bytes:
    from django.db import connection

    from landuse import sql

    with connection.cursor() as cursor:
        cursor.execute(sql.tile_sql(postgis=True, zoom=z), [z, x, y, layer.pk, layer.slug])
        return bytes(cursor.fetchone()[0] or b"")


@pytest.mark.postgis
def test_on_postgis_a_street_zoom_tile_reuses_a_prepared_statement_and_its_plan(zoning):
    from landuse.selectors import PREPARED_TILE_MIN_ZOOM, layer_tile

    x, y = tile_of(-104.98, 39.745, 16)
    assert 16 >= PREPARED_TILE_MIN_ZOOM
    runs, generic = tile_plan_runs()
    # PostgreSQL plans the first five runs for their values, then keeps a generic plan.
    for _ in range(7):
        layer_tile(layer=zoning, z=16, x=x, y=y)
    now_runs, now_generic = tile_plan_runs()
    assert now_runs - runs == 7
    assert now_generic > generic


@pytest.mark.postgis
def test_on_postgis_a_city_zoom_tile_is_planned_for_its_own_extent(zoning):
    from landuse.selectors import PREPARED_TILE_MIN_ZOOM, layer_tile

    x, y = tile_of(-104.98, 39.745, 10)
    assert 10 < PREPARED_TILE_MIN_ZOOM
    runs = tile_plan_runs()
    for _ in range(3):
        layer_tile(layer=zoning, z=10, x=x, y=y)
    assert tile_plan_runs() == runs


@pytest.mark.postgis
def test_on_postgis_the_prepared_tile_is_the_tile_the_plain_statement_builds(zoning):
    from landuse.selectors import layer_tile

    # Past PostgreSQL's fifth run a prepared statement may switch to its generic plan: the
    # answers must not change when it does, for tiles with features and without.
    tiles = [(z, *tile_of(-104.98, 39.745, z)) for z in (13, 15, 17)] + [(16, 0, 0)]
    for _ in range(3):
        for z, x, y in tiles:
            tile = layer_tile(layer=zoning, z=z, x=x, y=y)
            assert features(tile) == features(plain_tile(zoning, z, x, y))
    codes = {
        f["properties"]["code"]
        for f in mapbox_vector_tile.decode(
            layer_tile(layer=zoning, z=13, x=tiles[0][1], y=tiles[0][2])
        )["zoning"]["features"]
    }
    assert codes == {"C-MX-5", "U-SU-C"}
    assert layer_tile(layer=zoning, z=16, x=0, y=0) == b""


@pytest.mark.postgis
def test_without_django_s_pool_psycopg_prepares_nothing_and_the_tile_is_the_same(zoning):
    from django.db import connection

    from landuse.selectors import layer_tile

    # DATABASE_POOL off (an external pooler): Django's default, no prepared statements.
    x, y = tile_of(-104.98, 39.745, 16)
    connection.ensure_connection()
    kept = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None
    runs = tile_plan_runs()
    try:
        tile = layer_tile(layer=zoning, z=16, x=x, y=y)
        assert tile_plan_runs() == runs
    finally:
        connection.connection.prepare_threshold = kept
    assert features(tile) == features(plain_tile(zoning, 16, x, y))
    assert features(tile)


@pytest.mark.postgis
def test_on_postgis_a_prepared_tile_refuses_a_transaction_marked_for_rollback_as_django_does(
    zoning,
):
    from django.db import DatabaseError, connection, transaction
    from django.db.transaction import TransactionManagementError

    from landuse.selectors import layer_tile

    with transaction.atomic():
        try:
            with transaction.atomic(savepoint=False), connection.cursor() as cursor:
                cursor.execute("SELECT no_such_function()")
        except DatabaseError:
            pass
        # z16: the prepared statement; z10: Django's own cursor. Both refuse alike.
        for z in (16, 10):
            x, y = tile_of(-104.98, 39.745, z)
            with pytest.raises(TransactionManagementError):
                layer_tile(layer=zoning, z=z, x=x, y=y)


@pytest.mark.postgis
def test_while_django_logs_queries_the_tile_statement_is_logged(zoning):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from landuse.selectors import layer_tile

    x, y = tile_of(-104.98, 39.745, 16)
    with CaptureQueriesContext(connection) as queries:
        tile = layer_tile(layer=zoning, z=16, x=x, y=y)
    assert [q["sql"].count("ST_AsMVT(") for q in queries] == [1]
    assert features(tile) == features(plain_tile(zoning, 16, x, y))
