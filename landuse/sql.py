"""The SQL of the heavy land-use reads, and the SpatiaLite tile encoder, free of Django.

``landuse.selectors`` runs these through Django's connection; the lean tile route
(``landuse.fastpath``) and the benchmark floor (``bench/floor.py``) run the very same text on
their own connections, so "ours vs the floor" compares the server around the SQL, not the SQL.
Placeholders are ``%s`` (psycopg and Django); ``qmark()`` turns them into sqlite3's ``?``.
Only constants are interpolated into the text; every value is a bound parameter.
"""

from __future__ import annotations

import math

import mapbox_vector_tile
import shapely

MAX_ZOOM = 22
TILE_EXTENT = 4096
TILE_BUFFER = 64
WEB_MERCATOR_HALF = 20037508.342789244
FEATURE_TABLE = "landuse_feature"
GENERALISED_TABLE = "landuse_generalisedfeature"
# Up to this zoom a generalised layer is served dissolved per category (``GeneralisedFeature``).
GENERALISED_MAX_ZOOM = 11


def qmark(sql: str) -> str:
    """``%s`` placeholders as sqlite3's ``?`` (our SQL has no other ``%``)."""
    return sql.replace("%s", "?")


def bbox_filter(*, postgis: bool, alias: str = "f", table: str = FEATURE_TABLE) -> str:
    """Rows of ``table`` whose bounding box meets (minx, miny, maxx, maxy) in WGS84: 4
    parameters."""
    if postgis:
        return f"{alias}.geometry && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    # SpatiaLite does not consult the R*Tree by itself: ask it for the candidate ids. The
    # R*Tree of a geometry column is the virtual table idx_<table>_geometry (made by GeoDjango).
    return (
        f"{alias}.id IN (SELECT pkid FROM idx_{table}_geometry "  # noqa: S608 - constants only
        "WHERE xmax >= %s AND ymax >= %s AND xmin <= %s AND ymin <= %s)"
    )


# --- point lookup ------------------------------------------------------------------------


def lookup_sql(*, postgis: bool) -> str:
    """Every layer's features at a point, in layer display order: parameters from
    ``lookup_params``; columns slug, title, kind, code, label, colour, group, description, id."""
    if postgis:
        where = "ST_Intersects(f.geometry, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
    else:
        where = (
            f"{bbox_filter(postgis=False)} AND ST_Intersects(f.geometry, MakePoint(%s, %s, 4326))"
        )
    return f"""
        SELECT l.slug, l.title, l.kind, c.code, c.label, c.colour, c."group", c.description, f.id
        FROM {FEATURE_TABLE} f
        JOIN landuse_layer l ON l.id = f.layer_id
        LEFT JOIN landuse_category c ON c.id = f.category_id
        WHERE {where}
        ORDER BY l.display_order, l.title, l.id, f.id
    """  # noqa: S608 - only constants are interpolated; values are bound parameters


def lookup_params(*, postgis: bool, lon: float, lat: float) -> list[float]:
    return [lon, lat] if postgis else [lon, lat, lon, lat, lon, lat]


# --- GeoJSON -----------------------------------------------------------------------------


def simplified_band(zoom: int | None) -> str | None:
    """Which stored simplification is drawn at ``zoom``: ``"low"`` (up to z10), ``"mid"``
    (z11-12), or None for full detail. GeoJSON and vector tiles follow the same bands.

    Tolerances are in ``landuse.services``; below a quarter pixel at the band's largest zoom.
    """
    if zoom is None or zoom >= 13:
        return None
    return "mid" if zoom >= 11 else "low"


def zoom_band(zoom: int | None) -> tuple[str, int]:
    """The stored geometry column and coordinate precision that suit a zoom level."""
    band = simplified_band(zoom)
    if band is None:
        return "geometry", 6
    # Four decimals (rounding by at most 5e-5 degrees) stay under a tenth of a pixel up to
    # z11, and take about 8 % off the city-wide GeoJSON.
    return f"COALESCE(f.geometry_{band}, f.geometry)", 5 if zoom == 12 else 4


def generalised_band(zoom: int | None) -> int | None:
    """The ``GeneralisedFeature.max_zoom`` band drawn at ``zoom``; None above them (blocks)."""
    if zoom is None or zoom > GENERALISED_MAX_ZOOM:
        return None
    return 10 if zoom <= 10 else GENERALISED_MAX_ZOOM


def geojson_sql(*, postgis: bool, zoom: int | None, bbox: bool, generalised: bool = False) -> str:
    """One layer as an RFC 7946 FeatureCollection text, built by the database. Parameters:
    the layer id, then the bbox's four numbers when ``bbox``.

    ``generalised`` (the layer's flag): up to ``GENERALISED_MAX_ZOOM`` the features come from
    the layer's dissolved copies, one per category and without an ``id`` (they are not
    features of the source file); above it, and for other layers, one feature per row."""
    column, precision = zoom_band(zoom)
    band = generalised_band(zoom) if generalised else None
    if band is not None:
        table, column, with_id = GENERALISED_TABLE, "f.geometry", False
    else:
        table, with_id = FEATURE_TABLE, True
    if column == "geometry":
        column = "f.geometry"
    where = "f.layer_id = %s"
    if band is not None:
        where += f" AND f.max_zoom = {band}"
    if bbox:
        where += f" AND {bbox_filter(postgis=postgis, table=table)}"
    if postgis:
        # Concatenated rather than json_build_object, whose output puts spaces around every
        # ':' and ','; compact text is about a tenth smaller. to_json() escapes the strings.
        def text(column: str) -> str:
            return f"COALESCE(to_json({column})::text, 'null')"

        feature_id = "'\"id\":' || f.id || ','" if with_id else "''"
        return f"""
            SELECT '{{"type":"FeatureCollection","features":[' || COALESCE(string_agg(
                '{{"type":"Feature",' || {feature_id}
                || '"geometry":' || ST_AsGeoJSON({column}, {precision})
                || ',"properties":{{"code":' || {text("c.code")}
                || ',"label":' || {text("c.label")}
                || ',"colour":' || {text("c.colour")} || '}}}}',
                ',' ORDER BY f.id), '') || ']}}'
            FROM {table} f LEFT JOIN landuse_category c ON c.id = f.category_id
            WHERE {where}
        """  # noqa: S608 - only constants are interpolated
    feature_id = "'id', f.id," if with_id else ""
    return f"""
        SELECT json_object(
            'type', 'FeatureCollection',
            'features', json(COALESCE(json_group_array(json(feature)), '[]'))
        ) FROM (
            SELECT json_object(
                'type', 'Feature',
                {feature_id}
                'geometry', json(AsGeoJSON({column}, {precision})),
                'properties', json_object(
                    'code', c.code, 'label', c.label, 'colour', c.colour)
            ) AS feature
            FROM {table} f LEFT JOIN landuse_category c ON c.id = f.category_id
            WHERE {where}
            ORDER BY f.id
        )
    """  # noqa: S608 - only constants are interpolated


# --- vector tiles ------------------------------------------------------------------------


def tile_in_range(*, z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_geometry(zoom: int) -> str:
    """The stored Web Mercator geometry a tile at ``zoom`` is drawn from: the band GeoJSON
    draws at that zoom (``simplified_band``), projected at import.

    Why not always the full copy: ST_AsMVTGeom's cost grows with the vertices it snaps, clips
    and validates, and at z10 the city's 4,032 blocks carry 52,000 of them where the low band
    keeps 20,000 within a quarter pixel: 21 instead of 36 ms of SQL for the city's tile
    (EXPLAIN ANALYZE and p50 of 30 runs each, in turns). The bbox filter stays on the full
    copy's index: a simplified polygon keeps a subset of its vertices, so it lies within the
    full one's bounding box. NULL means "same as the full copy", as for the WGS84 bands.
    """
    band = simplified_band(zoom)
    if band is None:
        return "f.geometry_3857"
    return f"COALESCE(f.geometry_{band}_3857, f.geometry_3857)"


# PostGIS builds the whole tile. Parameters: z, x, y, layer id, layer slug (the MVT layer name).
# No "WHERE geom IS NOT NULL" on the clipped rows: PostgreSQL inlines the CTE and pushes such a
# filter into the scan, so ST_AsMVTGeom ran twice per feature (once in the filter, once for
# ST_AsMVT), about 40 % of the z10 tile. ST_AsMVT itself skips rows whose geometry is NULL
# (clipped away), and answers empty bytes when none is left (a test holds it to that).
def _postgis_tile_sql(geometry: str) -> str:
    return f"""
    WITH bounds AS (SELECT ST_TileEnvelope(%s, %s, %s) AS geom),
    mvt AS (
        SELECT ST_AsMVTGeom({geometry}, bounds.geom, {TILE_EXTENT}, {TILE_BUFFER}, true)
                   AS geom,
               f.id, c.code, c.label, c.colour
        FROM {FEATURE_TABLE} f
        JOIN bounds ON f.geometry_3857 && bounds.geom
        LEFT JOIN landuse_category c ON c.id = f.category_id
        WHERE f.layer_id = %s
    )
    SELECT ST_AsMVT(mvt.*, %s, {TILE_EXTENT}, 'geom', 'id') FROM mvt
"""  # noqa: S608 - only constants are interpolated


# SpatiaLite has no MVT encoder: it selects the rows, ``encode_tile`` clips and encodes them.
# Parameters: layer id, then ``spatialite_tile_window``.
def _spatialite_tile_sql(geometry: str) -> str:
    return f"""
    SELECT f.id, AsBinary({geometry}), c.code, c.label, c.colour
    FROM {FEATURE_TABLE} f LEFT JOIN landuse_category c ON c.id = f.category_id
    WHERE f.layer_id = %s AND {bbox_filter(postgis=False)}
    ORDER BY f.id
"""  # noqa: S608 - only constants are interpolated


_TILE_SQL = {
    (postgis, zoom): (_postgis_tile_sql if postgis else _spatialite_tile_sql)(tile_geometry(zoom))
    for postgis in (True, False)
    for zoom in range(MAX_ZOOM + 1)
}


def tile_sql(*, postgis: bool, zoom: int) -> str:
    """The tile statement for ``zoom`` (made once per zoom): PostGIS's whole tile, or
    SpatiaLite's rows. Zooms of one band share the same text, so one prepared statement."""
    return _TILE_SQL[postgis, zoom]


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


def spatialite_tile_window(*, z: int, x: int, y: int) -> list[float]:
    """The tile plus its buffer as WGS84 west, south, east, north (the R*Tree is in WGS84)."""
    minx, miny, maxx, maxy = tile_bounds_3857(z=z, x=x, y=y)
    margin = (maxx - minx) * TILE_BUFFER / TILE_EXTENT
    west, south = _mercator_to_lonlat(minx - margin, miny - margin)
    east, north = _mercator_to_lonlat(maxx + margin, maxy + margin)
    return [west, south, east, north]


def encode_tile(rows: list, *, name: str, z: int, x: int, y: int) -> bytes:
    """SpatiaLite's ``tile_sql`` rows as a Mapbox Vector Tile; empty bytes when none is left."""
    rows = [row for row in rows if row[1] is not None]
    if not rows:
        return b""
    minx, miny, maxx, _ = tile_bounds_3857(z=z, x=x, y=y)
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
        [{"name": name, "features": features}],
        default_options={"extents": TILE_EXTENT},
    )
