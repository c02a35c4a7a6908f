"""Reads of the land-use layers: the layer list with legends, point lookup, GeoJSON and tiles.

The heavy reads are one SQL statement each, written per backend where the SQL differs: the
database builds the GeoJSON text (PostGIS ``ST_AsGeoJSON``/``json_agg``, SpatiaLite
``AsGeoJSON``/``json_group_array``) and, on PostGIS, the vector tile (``ST_AsMVT``). SpatiaLite
has no MVT encoder, so there the tile is clipped with Shapely and encoded by
mapbox-vector-tile. All parameters reach the SQL as bound numbers, never as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mapbox_vector_tile
import shapely
from django.db import connection
from django.db.models import Prefetch, QuerySet

from landuse.models import Category, Layer

MAX_ZOOM = 22
TILE_EXTENT = 4096
TILE_BUFFER = 64
WEB_MERCATOR_HALF = 20037508.342789244
FEATURE_TABLE = "landuse_feature"
# SpatiaLite keeps the R*Tree of ``geometry`` in this virtual table (created by GeoDjango).
SPATIALITE_INDEX = f"idx_{FEATURE_TABLE}_geometry"


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


def _is_postgis() -> bool:
    return connection.vendor == "postgresql"


def _bbox_filter_sql(alias: str = "f") -> str:
    """SQL matching features whose bounding box meets (minx, miny, maxx, maxy) in WGS84."""
    if _is_postgis():
        return f"{alias}.geometry && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    # SpatiaLite does not consult the R*Tree by itself: ask it for the candidate ids.
    return (
        f"{alias}.id IN (SELECT pkid FROM {SPATIALITE_INDEX} "  # noqa: S608 - constants only
        "WHERE xmax >= %s AND ymax >= %s AND xmin <= %s AND ymin <= %s)"
    )


def point_lookup(*, lon: float, lat: float) -> list[LayerAnswer]:
    """What every layer says at ``lon``/``lat`` (WGS84), in layer display order.

    One SQL statement for all layers. A point on a shared edge belongs to both neighbours;
    each layer answers once, with the feature of lowest id, so the answer is stable.
    """
    if _is_postgis():
        where = "ST_Intersects(f.geometry, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
        params: list[float] = [lon, lat]
    else:
        where = f"{_bbox_filter_sql()} AND ST_Intersects(f.geometry, MakePoint(%s, %s, 4326))"
        params = [lon, lat, lon, lat, lon, lat]
    sql = f"""
        SELECT l.slug, l.title, l.kind, c.code, c.label, c.colour, c."group", c.description, f.id
        FROM {FEATURE_TABLE} f
        JOIN landuse_layer l ON l.id = f.layer_id
        LEFT JOIN landuse_category c ON c.id = f.category_id
        WHERE {where}
        ORDER BY l.display_order, l.title, l.id, f.id
    """  # noqa: S608 - only constants are interpolated; values are bound parameters
    answers: dict[str, LayerAnswer] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for slug, title, kind, code, label, colour, group, description, fid in cursor.fetchall():
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


def zoom_band(zoom: int | None) -> tuple[str, int]:
    """The stored geometry column and coordinate precision that suit a zoom level.

    Tolerances are in ``landuse.services``; below a quarter pixel at the band's largest zoom.
    """
    if zoom is None or zoom >= 13:
        return "geometry", 6
    if zoom >= 11:
        return "COALESCE(f.geometry_mid, f.geometry)", 5
    return "COALESCE(f.geometry_low, f.geometry)", 5


def layer_features_geojson(
    *, layer: Layer, bbox: Sequence[float] | None = None, zoom: int | None = None
) -> str:
    """The layer's features as an RFC 7946 FeatureCollection, built by the database.

    Geometries were oriented counter-clockwise and made valid at import, so the database only
    serialises them. Properties: the category code, label and colour.
    """
    column, precision = zoom_band(zoom)
    if column == "geometry":
        column = "f.geometry"
    where = "f.layer_id = %s"
    params: list[float | int] = [layer.pk]
    if bbox is not None:
        where += f" AND {_bbox_filter_sql()}"
        params += list(bbox)
    if _is_postgis():
        sql = f"""
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', COALESCE(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', f.id,
                    'geometry', ST_AsGeoJSON({column}, {precision})::json,
                    'properties', json_build_object(
                        'code', c.code, 'label', c.label, 'colour', c.colour)
                ) ORDER BY f.id), '[]'::json)
            )::text
            FROM {FEATURE_TABLE} f LEFT JOIN landuse_category c ON c.id = f.category_id
            WHERE {where}
        """  # noqa: S608 - only constants are interpolated
    else:
        sql = f"""
            SELECT json_object(
                'type', 'FeatureCollection',
                'features', json(COALESCE(json_group_array(json(feature)), '[]'))
            ) FROM (
                SELECT json_object(
                    'type', 'Feature',
                    'id', f.id,
                    'geometry', json(AsGeoJSON({column}, {precision})),
                    'properties', json_object(
                        'code', c.code, 'label', c.label, 'colour', c.colour)
                ) AS feature
                FROM {FEATURE_TABLE} f LEFT JOIN landuse_category c ON c.id = f.category_id
                WHERE {where}
                ORDER BY f.id
            )
        """  # noqa: S608 - only constants are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (text,) = cursor.fetchone()
    return text


# --- Vector tiles ------------------------------------------------------------------------


def tile_in_range(*, z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_bounds_3857(*, z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's envelope in Web Mercator metres (XYZ scheme, y down from the north)."""
    size = 2 * WEB_MERCATOR_HALF / 2**z
    minx = -WEB_MERCATOR_HALF + x * size
    maxy = WEB_MERCATOR_HALF - y * size
    return minx, maxy - size, minx + size, maxy


def _mercator_to_lonlat(mx: float, my: float) -> tuple[float, float]:
    lon = mx / WEB_MERCATOR_HALF * 180
    lat = math.degrees(2 * math.atan(math.exp(my / WEB_MERCATOR_HALF * math.pi)) - math.pi / 2)
    return lon, lat


def layer_tile(*, layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's Mapbox Vector Tile z/x/y; empty bytes when no feature touches it.

    The MVT layer is named after the layer slug; features carry the feature id and the
    properties ``code``, ``label`` and ``colour``.
    """
    if _is_postgis():
        return _postgis_tile(layer=layer, z=z, x=x, y=y)
    return _encoded_tile(layer=layer, z=z, x=x, y=y)


def _postgis_tile(*, layer: Layer, z: int, x: int, y: int) -> bytes:
    sql = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(%s, %s, %s) AS geom),
        mvt AS (
            SELECT ST_AsMVTGeom(f.geometry_3857, bounds.geom, {TILE_EXTENT}, {TILE_BUFFER}, true)
                       AS geom,
                   f.id, c.code, c.label, c.colour
            FROM {FEATURE_TABLE} f
            JOIN bounds ON f.geometry_3857 && bounds.geom
            LEFT JOIN landuse_category c ON c.id = f.category_id
            WHERE f.layer_id = %s
        )
        SELECT ST_AsMVT(mvt.*, %s, {TILE_EXTENT}, 'geom', 'id') FROM mvt WHERE geom IS NOT NULL
    """  # noqa: S608 - only constants are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [z, x, y, layer.pk, layer.slug])
        (tile,) = cursor.fetchone()
    return bytes(tile or b"")


def _encoded_tile(*, layer: Layer, z: int, x: int, y: int) -> bytes:
    bounds = tile_bounds_3857(z=z, x=x, y=y)
    minx, miny, maxx, maxy = bounds
    margin = (maxx - minx) * TILE_BUFFER / TILE_EXTENT
    west, south = _mercator_to_lonlat(minx - margin, miny - margin)
    east, north = _mercator_to_lonlat(maxx + margin, maxy + margin)
    sql = f"""
        SELECT f.id, AsBinary(f.geometry_3857), c.code, c.label, c.colour
        FROM {FEATURE_TABLE} f LEFT JOIN landuse_category c ON c.id = f.category_id
        WHERE f.layer_id = %s AND {_bbox_filter_sql()}
        ORDER BY f.id
    """  # noqa: S608 - only constants are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [layer.pk, west, south, east, north])
        rows = [row for row in cursor.fetchall() if row[1] is not None]
    if not rows:
        return b""
    # Work in tile units (0..4096, y up) snapped to whole numbers, as ST_AsMVTGeom does, on all
    # rows at once: Shapely's array functions run in GEOS without a Python loop per feature.
    scale = TILE_EXTENT / (maxx - minx)
    edge = TILE_EXTENT + TILE_BUFFER
    clip = shapely.box(-TILE_BUFFER, -TILE_BUFFER, edge, edge)
    geometries = shapely.from_wkb([bytes(row[1]) for row in rows])
    dimensions = shapely.get_dimensions(geometries)
    geometries = shapely.transform(geometries, lambda xy: (xy - (minx, miny)) * scale)
    boxes = shapely.bounds(geometries)
    crossing = (boxes[:, 0] < -TILE_BUFFER) | (boxes[:, 1] < -TILE_BUFFER)
    crossing |= (boxes[:, 2] > edge) | (boxes[:, 3] > edge)
    geometries[crossing] = shapely.intersection(geometries[crossing], clip)
    geometries = shapely.set_precision(geometries, 1.0)
    features = []
    for (fid, _, code, label, colour), geometry, dimension in zip(
        rows, geometries, dimensions, strict=True
    ):
        if geometry is None or geometry.is_empty:
            continue
        if geometry.geom_type == "GeometryCollection":
            # Clipping may leave slivers of lower dimension along the tile edge: drop them.
            parts = [g for g in shapely.get_parts(geometry) if g.dimension == dimension]
            if not parts:
                continue
            geometry = shapely.union_all(parts)
        properties = {k: v for k, v in (("code", code), ("label", label), ("colour", colour)) if v}
        features.append({"id": fid, "geometry": geometry, "properties": properties})
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": layer.slug, "features": features}],
        default_options={"extents": TILE_EXTENT},
    )
