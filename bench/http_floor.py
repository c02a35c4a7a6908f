"""The floor for the read path: a bare ASGI app (no Django) running the same SQL as ours
(``landuse/sql.py``) on one pooled connection, served by the same uvicorn.

    FLOOR_DATABASE=postgresql://…|/path/db.sqlite3 uvicorn bench.http_floor:app

- ``/tiles/<slug>/<z>/<x>/<y>.mvt``: the tile SQL on every request (PostGIS ``ST_AsMVT``;
  SpatiaLite: the same row SQL through ``sqlite3`` with mod_spatialite, then the same encoder);
- ``/cached/<anything>``: the same tile's bytes from memory (computed on the first request);
- ``/geojson/<slug>?zoom=z``: the GeoJSON SQL; ``/lookup?lon=&lat=``: the lookup SQL as JSON.
"""

from __future__ import annotations

import json
import os
import sqlite3
from urllib.parse import parse_qs

from landuse import sql

DATABASE = os.environ.get("FLOOR_DATABASE", "")
POSTGIS = DATABASE.startswith("postgres")
_state: dict = {}


async def _query(text: str, params: list) -> list[tuple]:
    if POSTGIS:
        if "pool" not in _state:
            from psycopg_pool import AsyncConnectionPool

            _state["pool"] = AsyncConnectionPool(DATABASE, min_size=1, max_size=2, open=False)
            await _state["pool"].open()
        async with _state["pool"].connection() as connection:
            cursor = await connection.execute(text, params)
            return await cursor.fetchall()
    if "sqlite" not in _state:
        connection = sqlite3.connect(DATABASE, check_same_thread=False)
        connection.enable_load_extension(True)
        connection.load_extension("mod_spatialite")
        _state["sqlite"] = connection
    return _state["sqlite"].execute(sql.qmark(text), params).fetchall()


async def _layer(slug: str) -> tuple[int, bool]:
    """The layer's id and whether it is generalised (read once, as ours reads the row)."""
    layers = _state.get("layers")
    if layers is None:
        rows = await _query("SELECT slug, id, generalised FROM landuse_layer", [])
        layers = _state["layers"] = {slug: (pk, bool(flag)) for slug, pk, flag in rows}
    return layers[slug]


async def _layer_id(slug: str) -> int:
    return (await _layer(slug))[0]


async def _tile(slug: str, z: int, x: int, y: int) -> bytes:
    layer = await _layer_id(slug)
    if POSTGIS:
        text = sql.tile_sql(postgis=True, zoom=z)
        [(tile,)] = await _query(text, [z, x, y, layer, slug])
        return bytes(tile or b"")
    rows = await _query(
        sql.tile_sql(postgis=False, zoom=z), [layer, *sql.spatialite_tile_window(z=z, x=x, y=y)]
    )
    return sql.encode_tile(rows, name=slug, z=z, x=x, y=y)


async def _body(path: str, query: dict) -> tuple[bytes, bytes]:
    parts = path.strip("/").split("/")
    if parts[0] == "tiles":
        slug, z, x, y = parts[1], int(parts[2]), int(parts[3]), int(parts[4].split(".")[0])
        return await _tile(slug, z, x, y), b"application/vnd.mapbox-vector-tile"
    if parts[0] == "cached":
        cache = _state.setdefault("cache", {})
        if path not in cache:
            cache[path] = (await _body(path.removeprefix("/cached"), query))[0]
        return cache[path], b"application/vnd.mapbox-vector-tile"
    if parts[0] == "geojson":
        zoom = int(query["zoom"][0])
        layer, generalised = await _layer(parts[1])
        text = sql.geojson_sql(postgis=POSTGIS, zoom=zoom, bbox=False, generalised=generalised)
        [(body,)] = await _query(text, [layer])
        return body.encode(), b"application/geo+json"
    if parts[0] == "lookup":
        lon, lat = float(query["lon"][0]), float(query["lat"][0])
        rows = await _query(
            sql.lookup_sql(postgis=POSTGIS), sql.lookup_params(postgis=POSTGIS, lon=lon, lat=lat)
        )
        seen: dict = {}
        for slug, title, kind, code, label, colour, group, description, fid in rows:
            seen.setdefault(
                slug,
                dict(
                    zip(
                        LOOKUP_KEYS,
                        (slug, title, kind, code, label, colour, group, description, fid),
                        strict=True,
                    )
                ),
            )
        return json.dumps({"lon": lon, "lat": lat, "layers": list(seen.values())}).encode(), (
            b"application/json"
        )
    raise LookupError(path)


LOOKUP_KEYS = (
    "layer_slug",
    "layer_title",
    "kind",
    "code",
    "label",
    "colour",
    "group",
    "description",
    "feature_id",
)


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    try:
        body, content_type = await _body(scope["path"], parse_qs(scope["query_string"].decode()))
        status = 200 if body else 204
    except LookupError:
        body, content_type, status = b"not found", b"text/plain", 404
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
