"""Reads of the land-use layers: the layer list with legends, point lookup, GeoJSON and tiles.

The heavy reads are one SQL statement each, written per backend where the SQL differs: the
database builds the GeoJSON text (PostGIS ``ST_AsGeoJSON``/``json_agg``, SpatiaLite
``AsGeoJSON``/``json_group_array``) and, on PostGIS, the vector tile (``ST_AsMVT``). SpatiaLite
has no MVT encoder, so there the tile is clipped with Shapely and encoded by
mapbox-vector-tile. All parameters reach the SQL as bound numbers, never as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Prefetch, QuerySet

from landuse import sql
from landuse.models import Category, Layer
from landuse.prepared import fetch_all, is_postgis

MAX_ZOOM = sql.MAX_ZOOM
TILE_EXTENT = sql.TILE_EXTENT
tile_in_range = sql.tile_in_range
zoom_band = sql.zoom_band


@dataclass(frozen=True)
class LayerAnswer:
    """What one layer says at a point."""

    layer_slug: str
    layer_title: str
    kind: str
    code: str
    label: str
    colour: str
    group: str = ""
    description: str = ""
    feature_id: int | None = None


def layer_list() -> QuerySet[Layer]:
    """Every layer in display order with its categories (the legend) prefetched."""
    return Layer.objects.prefetch_related(
        Prefetch("categories", queryset=Category.objects.order_by("order", "code"))
    ).order_by("display_order", "title")


def layer_get(*, slug: str) -> Layer | None:
    return Layer.objects.filter(slug=slug).first()


def point_lookup(*, lon: float, lat: float) -> list[LayerAnswer]:
    """What every layer says at ``lon``/``lat`` (WGS84), in layer display order.

    One SQL statement for all layers. A point on a shared edge belongs to both neighbours;
    each layer answers once, with the feature of lowest id, so the answer is stable.
    """
    postgis = is_postgis()
    text, params = (
        sql.lookup_sql(postgis=postgis),
        sql.lookup_params(postgis=postgis, lon=lon, lat=lat),
    )
    # Prepared on PostGIS, as the tile from z13 (below): planning took 0.09 ms of a 0.17 ms
    # lookup (EXPLAIN ANALYZE, p50 of the bench's 20 city points), and every lookup asks about
    # one point, so one generic plan suits them all.
    return answers_from_rows(fetch_all(text, params))


def answers_from_rows(rows: Sequence[tuple]) -> list[LayerAnswer]:
    """The first feature of each layer in the lookup's rows (they come in display order)."""
    answers: dict[str, LayerAnswer] = {}
    for slug, title, kind, code, label, colour, group, description, fid in rows:
        if slug not in answers:
            answers[slug] = LayerAnswer(
                layer_slug=slug,
                layer_title=title,
                kind=kind,
                code=code or "",
                label=label or "",
                colour=colour or "",
                group=group or "",
                description=description or "",
                feature_id=fid,
            )
    return list(answers.values())


# --- GeoJSON -----------------------------------------------------------------------------


def layer_features_geojson(
    *, layer: Layer, bbox: Sequence[float] | None = None, zoom: int | None = None
) -> str:
    """The layer's features as an RFC 7946 FeatureCollection, built by the database.

    Geometries were oriented counter-clockwise and made valid at import, so the database only
    serialises them. Properties: the category code, label and colour. A generalised layer
    (polygons only) answers up to ``sql.GENERALISED_MAX_ZOOM`` with one dissolved feature per
    category, without ids, instead of one feature per block.
    """
    params: list[float | int] = [layer.pk, *(bbox or ())]
    text = sql.geojson_sql(
        postgis=is_postgis(), zoom=zoom, bbox=bbox is not None, generalised=layer.generalised
    )
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        (body,) = cursor.fetchone()
    return body


# --- Vector tiles ------------------------------------------------------------------------


# From this zoom the PostGIS tile statement is prepared once per connection and its plan kept.
# Why: planning a z16 tile took 0.10 ms beside 0.16 ms of execution (EXPLAIN ANALYZE, p50 over
# the bench's 24 city tiles; from psycopg 0.37 ms a tile unprepared, 0.22 ms prepared), most
# of our gap to the bench floor, whose psycopg connection prepares it. Below this zoom a tile
# takes milliseconds, planning is a few per cent of it, and a plan made for the tile's own
# extent can suit a wide area better than the generic plan a prepared statement settles on:
# at z10 (the city in one tile) planning took 0.45 ms, and the generic plan PostgreSQL chose
# from the sixth run (one row expected from the geometry index, 4,032 found) ran 43-45 ms
# against 36-37 ms for the custom plan (EXPLAIN ANALYZE of EXECUTE, same session, loaded host).
PREPARED_TILE_MIN_ZOOM = 13


def layer_tile(*, layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's Mapbox Vector Tile z/x/y; empty bytes when no feature touches it.

    The MVT layer is named after the layer slug; features carry the feature id and the
    properties ``code``, ``label`` and ``colour``. Up to z12 the geometry is the stored
    simplified band GeoJSON draws at that zoom (``sql.tile_geometry``), under a quarter pixel.
    """
    postgis = is_postgis()
    text = sql.tile_sql(postgis=postgis, zoom=z)
    if postgis:
        params = [z, x, y, layer.pk, layer.slug]
        [(tile,)] = fetch_all(text, params, prepare=z >= PREPARED_TILE_MIN_ZOOM)
        return bytes(tile or b"")
    with connection.cursor() as cursor:
        cursor.execute(text, [layer.pk, *sql.spatialite_tile_window(z=z, x=x, y=y)])
        return sql.encode_tile(cursor.fetchall(), name=layer.slug, z=z, x=x, y=y)
