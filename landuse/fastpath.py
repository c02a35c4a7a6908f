"""A lean route for the hottest reads, in front of Django: vector tiles, the point lookup and
the layers' GeoJSON.

Why: Django's ASGI request path costs about 1.5 ms per request before any work (each sync
middleware hook hops to a thread; PERF.md, and ``bench/tiles.py`` in this repository measured a
cached tile at 5 ms through Django against 0.14 ms from a bare ASGI app). A tile map asks for
dozens of tiles per view, most of them small or cached, so that overhead was most of the time.

What it keeps: the same selectors and SQL (run in Django's own sync thread, on Django's pooled
connection; only the SpatiaLite point lookup reads in the event loop, see ``SpatiaLiteReader``),
the same ETag / Last-Modified / 304 rules, the same security headers as every
Django response (``config.security.response_security_headers``) and the Host check
(``ALLOWED_HOSTS``). Anything it does not answer plainly goes to Django unchanged: other
methods, unknown hosts, NUL bytes, a bad tile number or coordinate, an unknown layer, any error
response. So every error and every other path keeps Django's behaviour.

Caching: tile bodies are kept in this process, keyed by layer version, up to
``LANDUSE_TILE_CACHE_BYTES``. Layer versions are read from the database at most once per
``LAYER_VERSIONS_TTL`` seconds; ``layer_versions_forget`` (called by ``layer_import``) drops
them at once in the importing process, other worker processes see a re-import within the TTL.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.signals import setting_changed
from django.http.request import split_domain_port, validate_host
from django.utils.http import http_date

from landuse import sql

logger = logging.getLogger(__name__)

LAYER_VERSIONS_TTL = 1.0
TILE_PATH = re.compile(
    r"^/tiles/(?P<slug>[-\w]+)/(?P<z>\d{1,2})/(?P<x>\d{1,7})/(?P<y>\d{1,7})\.mvt$"
)
LOOKUP_PATH = "/api/landuse/lookup/"
GEOJSON_PATH = re.compile(r"^/api/landuse/layers/(?P<slug>[-\w]+)/features\.geojson$")
GEOJSON = b"application/geo+json"
MVT = b"application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class LayerVersion:
    pk: int
    slug: str
    version: int
    imported_at: dt.datetime | None
    generalised: bool = False


_versions: dict[str, LayerVersion] = {}
_versions_read_at = -1e9
# (layer pk, version, z, x, y) -> (body, ETag): a cached tile answers without working out
# its ETag again.
_tiles: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
_tile_bytes = 0


def layer_versions_forget() -> None:
    """Forget the cached layer versions and tiles (after an import in this process)."""
    global _versions_read_at, _tile_bytes
    _versions_read_at = -1e9
    _tiles.clear()
    _tile_bytes = 0


def _read_layer_versions() -> dict[str, LayerVersion]:
    from landuse.models import Layer

    rows = Layer.objects.values_list("pk", "slug", "version", "imported_at", "generalised")
    return {row[1]: LayerVersion(*row) for row in rows}


def _tile(layer: LayerVersion, z: int, x: int, y: int) -> bytes:
    from landuse import selectors

    return selectors.layer_tile(layer=layer, z=z, x=x, y=y)


def _geojson(layer: LayerVersion, bbox, zoom: int | None, etag: str) -> str:
    """The body Django's view gives, from the same cache entry (``landuse.api``)."""
    from django.core.cache import cache

    from landuse import selectors
    from landuse.api import CACHE_SECONDS, body_cache_key

    key = body_cache_key(GEOJSON.decode(), etag)
    body = cache.get(key)
    if body is None:
        body = selectors.layer_features_geojson(layer=layer, bbox=bbox, zoom=zoom)
        cache.set(key, body, CACHE_SECONDS)
    return body


def _lookup(lon: float, lat: float) -> list:
    from landuse import selectors

    return selectors.point_lookup(lon=lon, lat=lat)


class SpatiaLiteReader:
    """The point lookup on SpatiaLite, run in the event loop's own thread on a read-only
    connection of its own, never waiting for a lock.

    Why: on SpatiaLite the statement takes about 0.1 ms, while the hop to Django's sync thread
    and back (``sync_to_async``: two thread wake-ups, context copies) and Django's cursor
    wrapper took 0.3 ms more per lookup, over twice the bare floor (profile in the performance
    notes). SQLite answers a point query from its R*Tree without waiting for anything but a
    lock, so the loop can afford it, as the floor does. Only the lookup comes here: tiles and
    GeoJSON take milliseconds and stay in the thread.

    The connection is opened once per process (loading mod_spatialite costs milliseconds) on
    the database Django uses (the test database in tests) and only ever reads
    (``query_only``). It waits for no lock (``busy_timeout`` 0): while a writer commits, or on
    any other SQLite error, ``rows`` answers None and the caller takes the usual thread path.
    """

    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None
        self._name: str | None = None

    def _open(self, name: str, libraries: list[str]) -> sqlite3.Connection:
        connection = sqlite3.connect(
            name,
            uri=True,  # as Django opens it: the in-memory test database is a URI
            check_same_thread=False,  # each event loop's thread in turn, never two at once
            isolation_level=None,
            timeout=0,
        )
        connection.enable_load_extension(True)
        for library in libraries:
            try:
                connection.load_extension(library)
                break
            except sqlite3.Error:
                continue
        else:
            connection.close()
            raise sqlite3.OperationalError("mod_spatialite not found")
        connection.enable_load_extension(False)
        # Loading mod_spatialite resets the lock wait to 5 s: never wait in the event loop.
        connection.execute("PRAGMA busy_timeout = 0")
        connection.execute("PRAGMA query_only = 1")
        return connection

    def rows(self, name: str, text: str, params: list) -> list[tuple] | None:
        """The rows of ``text`` (``?`` placeholders) from the database file or URI ``name``,
        or None when SQLite could not answer at once (the caller then asks Django)."""
        try:
            if self._connection is None or self._name != name:
                from django.db import connection

                self.close()
                # GeoDjango's own list (SPATIALITE_LIBRARY_PATH first) where Django runs on
                # SpatiaLite; the plain name elsewhere (a test of the reader on PostGIS).
                libraries = getattr(connection, "lib_spatialite_paths", ["mod_spatialite"])
                self._connection = self._open(name, libraries)
                self._name = name
            return self._connection.execute(text, params).fetchall()
        except sqlite3.Error as exc:
            logger.debug("SpatiaLite lookup on the loop failed (%s); the thread answers", exc)
            return None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = self._name = None


_spatialite_reader = SpatiaLiteReader()
_SPATIALITE_LOOKUP_SQL = sql.qmark(sql.lookup_sql(postgis=False))


async def _point_lookup(lon: float, lat: float) -> list:
    from django.db import DEFAULT_DB_ALIAS, connections

    # The settings, not the connection object: this dict is what Django connects with (the test
    # database's name once tests run), and reading it does not touch the per-thread connection.
    database = connections.settings[DEFAULT_DB_ALIAS]
    if database["ENGINE"].endswith("spatialite"):
        from landuse import selectors

        params = sql.lookup_params(postgis=False, lon=lon, lat=lat)
        rows = _spatialite_reader.rows(database["NAME"], _SPATIALITE_LOOKUP_SQL, params)
        if rows is not None:
            return selectors.answers_from_rows(rows)
    return await _lookup_async(lon, lat)


# Outside Django's handler there is no per-request context, so these run in asgiref's one
# process-wide sync thread (Django gives each request its own); they use Django's connection
# handling, the test database and the connection pool like any view.
_read_layer_versions_async = sync_to_async(_read_layer_versions, thread_sensitive=True)
_tile_async = sync_to_async(_tile, thread_sensitive=True)
_lookup_async = sync_to_async(_lookup, thread_sensitive=True)
_geojson_async = sync_to_async(_geojson, thread_sensitive=True)


async def _layer(slug: str) -> LayerVersion | None:
    global _versions, _versions_read_at
    now = time.monotonic()
    if now - _versions_read_at > LAYER_VERSIONS_TTL:
        _versions = await _read_layer_versions_async()
        _versions_read_at = now
    return _versions.get(slug)


def _remember(key: tuple, body: bytes, etag: str) -> None:
    global _tile_bytes
    limit = _settings().tile_cache_bytes
    if len(body) > limit:
        return
    _tiles[key] = (body, etag)
    _tile_bytes += len(body)
    while _tile_bytes > limit:
        _, (old, _etag) = _tiles.popitem(last=False)
        _tile_bytes -= len(old)


@dataclass(frozen=True)
class _Settings:
    allowed_hosts: tuple[str, ...]
    debug: bool
    proxy_header: bytes | None
    proxy_value: str | None
    ssl_redirect: bool
    tile_cache_bytes: int


# Each ``settings.X`` goes through Django's lazy settings object (about a microsecond each, a
# dozen per request): the few this route reads are copied once, and again when one changes.
@functools.cache
def _settings() -> _Settings:
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    return _Settings(
        allowed_hosts=tuple(settings.ALLOWED_HOSTS),
        debug=settings.DEBUG,
        proxy_header=(
            proxy[0].removeprefix("HTTP_").lower().replace("_", "-").encode() if proxy else None
        ),
        proxy_value=proxy[1] if proxy else None,
        ssl_redirect=settings.SECURE_SSL_REDIRECT,
        tile_cache_bytes=settings.LANDUSE_TILE_CACHE_BYTES,
    )


def _headers(scope: dict) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope["headers"]}


def _is_secure(scope: dict, headers: dict[bytes, bytes]) -> bool:
    config = _settings()
    if config.proxy_header:
        value = headers.get(config.proxy_header, b"").decode("latin-1")
        return value.split(",")[0].strip() == config.proxy_value
    return scope.get("scheme") == "https"


def _plain_request(scope: dict, headers: dict[bytes, bytes], secure: bool) -> bool:
    """A request the fast path may answer: GET/HEAD, allowed host, nothing Django would
    redirect or refuse first."""
    query = scope.get("query_string", b"")
    if scope["method"] not in ("GET", "HEAD") or b"\x00" in query or b"%00" in query:
        return False
    if not _host_allowed(headers.get(b"host", b"")):
        return False
    return not (_settings().ssl_redirect and not secure)


# The Host check and the security headers depend only on settings and the request's Host or
# path, yet took a tenth of a lookup's time when worked out again per request: remembered
# per value (bounded, a client chooses the Host header) and forgotten when a setting changes.
@functools.lru_cache(maxsize=64)
def _host_allowed(host: bytes) -> bool:
    domain, _port = split_domain_port(host.decode("latin-1"))
    allowed = list(_settings().allowed_hosts)
    if _settings().debug and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


@functools.lru_cache(maxsize=256)
def _security_headers(secure: bool, path: str = "/tiles/") -> tuple[tuple[bytes, bytes], ...]:
    from config.security import response_security_headers

    return tuple(
        (name.lower().encode(), value.encode())
        for name, value in response_security_headers(secure=secure, path=path).items()
    )


def _forget_settings(**kwargs) -> None:
    _settings.cache_clear()
    _host_allowed.cache_clear()
    _security_headers.cache_clear()
    _layer_headers.cache_clear()


setting_changed.connect(_forget_settings, dispatch_uid="landuse_fastpath_forget_settings")


def _etag(layer: LayerVersion, *parts: object) -> str:
    from landuse.api import etag_for

    return etag_for(slug=layer.slug, pk=layer.pk, version=layer.version, parts=parts)


@functools.lru_cache(maxsize=256)
def _layer_headers(
    layer: LayerVersion, secure: bool, path: str = "/tiles/"
) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every answer about a layer version carries, 200 or 304, but its ETag:
    security, and Last-Modified from the layer's import, to be revalidated on every use.
    Remembered per layer version (a new import is a new version)."""
    common = (*_security_headers(secure, path), (b"cache-control", b"public, no-cache"))
    if layer.imported_at:
        common += ((b"last-modified", http_date(layer.imported_at.timestamp()).encode()),)
    return common


def _revalidation_headers(
    layer: LayerVersion, etag: str, secure: bool, path: str = "/tiles/"
) -> list[tuple[bytes, bytes]]:
    return [*_layer_headers(layer, secure, path), (b"etag", etag.encode())]


def _not_modified(headers: dict[bytes, bytes], etag: str, last_modified) -> bool:
    if_none_match = headers.get(b"if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.decode("latin-1").split(",")}
        return etag in tags or "*" in tags
    if_modified_since = headers.get(b"if-modified-since")
    if if_modified_since is None or not last_modified:
        return False
    from django.utils.http import parse_http_date_safe

    since = parse_http_date_safe(if_modified_since.decode("latin-1"))
    return bool(since and int(last_modified.timestamp()) <= since)


async def _send(
    send, scope: dict, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


Response = tuple[int, bytes, list[tuple[bytes, bytes]]]


async def _tile_response(scope, headers, secure: bool, match: re.Match) -> Response | None:
    z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
    if not sql.tile_in_range(z=z, x=x, y=y):
        return None
    layer = await _layer(match["slug"])
    if layer is None:
        return None
    key = (layer.pk, layer.version, z, x, y)
    cached = _tiles.get(key)
    etag = cached[1] if cached else _etag(layer, z, x, y)
    common = _revalidation_headers(layer, etag, secure)
    if _not_modified(headers, etag, layer.imported_at):
        return 304, b"", common
    if cached is None:
        body = await _tile_async(layer, z, x, y)
        _remember(key, body, etag)
    else:
        body = cached[0]
        _tiles.move_to_end(key)
    return (200 if body else 204), body, [*common, (b"content-type", MVT)]


def _coordinate(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None  # NaN and infinities fail both bounds


async def _lookup_response(scope, headers, secure: bool) -> Response | None:
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    lon = _coordinate(query.get("lon"), -180, 180)
    lat = _coordinate(query.get("lat"), -90, 90)
    if lon is None or lat is None:
        return None
    answers = await _point_lookup(lon, lat)
    body = json.dumps(
        {"lon": lon, "lat": lat, "layers": [answer.__dict__ for answer in answers]}
    ).encode()
    response_headers = [
        *_security_headers(secure),
        (b"content-type", b"application/json; charset=utf-8"),
    ]
    return 200, body, response_headers


async def _geojson_response(scope, headers, secure: bool, match: re.Match) -> Response | None:
    """The city-wide GeoJSON: 3 ms of Django's request path on an 8 ms body was over the
    issue's 1.3x. Bad parameters are left to Django, which names the field."""
    from landuse.api import FieldError, parse_bbox, parse_zoom

    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if set(query) - {"bbox", "zoom"}:
        return None
    try:
        bbox, zoom = parse_bbox(query.get("bbox")), parse_zoom(query.get("zoom"))
    except FieldError:
        return None
    layer = await _layer(match["slug"])
    if layer is None:
        return None
    etag = _etag(layer, bbox, sql.zoom_band(zoom))
    common = _revalidation_headers(layer, etag, secure, scope["path"])
    if _not_modified(headers, etag, layer.imported_at):
        return 304, b"", common
    body = await _geojson_async(layer, bbox, zoom, etag)
    return 200, body.encode(), [*common, (b"content-type", GEOJSON)]


class LandUseFastPath:
    """ASGI middleware: answers plain tile and lookup GETs, hands everything else to ``app``."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            match = TILE_PATH.match(path)
            geojson = None if match else GEOJSON_PATH.match(path)
            if match or geojson or path == LOOKUP_PATH:
                headers = _headers(scope)
                secure = _is_secure(scope, headers)
                if _plain_request(scope, headers, secure):
                    try:
                        if match:
                            response = await _tile_response(scope, headers, secure, match)
                        elif geojson:
                            response = await _geojson_response(scope, headers, secure, geojson)
                        else:
                            response = await _lookup_response(scope, headers, secure)
                    except Exception:
                        # Nothing was sent yet: Django answers (a database outage is its 503).
                        logger.exception("lean route failed for %s; Django answers", path)
                        response = None
                    if response is not None:
                        await _send(send, scope, *response)
                        return
        await self.app(scope, receive, send)
