"""The lean route for tiles and the point lookup (``landuse.fastpath``), driven as ASGI: it
answers what Django would, with the same headers, and leaves everything else to Django."""

from __future__ import annotations

import asyncio
import math

import mapbox_vector_tile
import pytest
from asgiref.sync import sync_to_async

from config.asgi import django_asgi_app
from landuse.fastpath import LandUseFastPath, layer_versions_forget
from landuse.services import layer_import
from tests.engage.conftest import release_thread_connections  # noqa: F401 - shared fixture
from tests.landuse.conftest import two_blocks

# The route reads through Django's sync thread, which has its own connection: data must be
# committed for it to see.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("release_thread_connections"),
]

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "x-frame-options",
    "strict-transport-security",
)


def tile_path(lon: float, lat: float, z: int) -> str:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/zoning/{z}/{x}/{y}.mvt"


BLOCKS_TILE = tile_path(-104.98, 39.745, 12)


async def must_not_be_reached(scope, receive, send):
    raise AssertionError(f"{scope['path']} went to Django")


class Recorder:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def http_scope(path: str, *, method: str = "GET", host: str = "127.0.0.1", headers=()) -> dict:
    """The ASGI scope of a plain HTTP request to ``path`` (with its query string, if any)."""
    path, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", host.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def call(
    app, path: str, *, method: str = "GET", host: str = "127.0.0.1", headers=(), body=b""
):
    scope = http_scope(path, method=method, host=host, headers=headers)
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        # The client stays connected; Django cancels this wait once it has responded.
        await asyncio.Future()

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    head = {name.decode().lower(): value.decode() for name, value in sent[0]["headers"]}
    return sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
async def zoning(write_geojson):
    layer_versions_forget()
    return await sync_to_async(layer_import)(
        path=write_geojson(two_blocks()),
        layer_slug="zoning",
        kind="zoning",
        code_field="ZONE",
        label_field="NAME",
    )


async def test_a_tile_is_answered_without_django_with_the_bytes_and_etag_django_gives(zoning):
    status, head, body = await call(LandUseFastPath(must_not_be_reached), BLOCKS_TILE)
    django_status, django_head, django_body = await call(django_asgi_app, BLOCKS_TILE)
    assert status == django_status == 200
    assert head["content-type"] == "application/vnd.mapbox-vector-tile"
    assert body == django_body
    assert head["etag"] == django_head["etag"]
    assert head["last-modified"] == django_head["last-modified"]
    assert head["cache-control"] == django_head["cache-control"]


async def test_the_lean_route_sends_the_security_headers_django_sends(zoning):
    _, head, _ = await call(LandUseFastPath(must_not_be_reached), BLOCKS_TILE)
    _, django_head, _ = await call(django_asgi_app, BLOCKS_TILE)
    expected = {name: django_head.get(name) for name in SECURITY_HEADERS}
    assert {name: head.get(name) for name in SECURITY_HEADERS} == expected
    assert "frame-ancestors 'none'" in head["content-security-policy"]


async def test_a_tile_answers_304_to_its_etag_without_a_body(zoning):
    app = LandUseFastPath(must_not_be_reached)
    _, head, _ = await call(app, BLOCKS_TILE)
    status, again, body = await call(
        app, BLOCKS_TILE, headers=[(b"if-none-match", head["etag"].encode())]
    )
    assert status == 304 and body == b""
    assert again["etag"] == head["etag"]
    assert "content-security-policy" in again


async def test_a_cached_tile_is_answered_with_the_headers_of_its_first_answer(zoning):
    app = LandUseFastPath(must_not_be_reached)
    first = await call(app, BLOCKS_TILE)
    second = await call(app, BLOCKS_TILE)
    assert second == first
    assert first[0] == 200 and first[1]["etag"]


async def test_a_tile_answers_304_to_if_modified_since_its_import_and_200_before_it(zoning):
    app = LandUseFastPath(must_not_be_reached)
    _, head, _ = await call(app, BLOCKS_TILE)
    since = head["last-modified"].encode()
    status, again, body = await call(app, BLOCKS_TILE, headers=[(b"if-modified-since", since)])
    assert status == 304 and body == b"" and again["etag"] == head["etag"]
    older = b"Mon, 01 Jan 2001 00:00:00 GMT"
    status, _, body = await call(app, BLOCKS_TILE, headers=[(b"if-modified-since", older)])
    assert status == 200 and body


async def test_a_host_dropped_from_the_settings_is_left_to_django_at_once(zoning, settings):
    recorder = Recorder()
    app = LandUseFastPath(recorder)
    assert (await call(app, BLOCKS_TILE, host="maps.example.org"))[0] == 418
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "maps.example.org"]
    assert (await call(app, BLOCKS_TILE, host="maps.example.org"))[0] == 200
    settings.ALLOWED_HOSTS = [h for h in settings.ALLOWED_HOSTS if h != "maps.example.org"]
    assert (await call(app, BLOCKS_TILE, host="maps.example.org"))[0] == 418
    assert recorder.paths == [BLOCKS_TILE, BLOCKS_TILE]


async def test_a_reimport_invalidates_the_cached_tile(zoning, write_geojson):
    app = LandUseFastPath(must_not_be_reached)
    _, first_head, first = await call(app, BLOCKS_TILE)
    _, _, cached = await call(app, BLOCKS_TILE)
    assert cached == first
    assert len(mapbox_vector_tile.decode(first)["zoning"]["features"]) == 2

    await sync_to_async(layer_import)(
        path=write_geojson(two_blocks()[:1], "one.geojson"), layer_slug="zoning", code_field="ZONE"
    )
    status, head, after = await call(app, BLOCKS_TILE)
    assert status == 200
    assert head["etag"] != first_head["etag"]
    assert len(mapbox_vector_tile.decode(after)["zoning"]["features"]) == 1


async def test_the_lookup_answers_what_the_api_answers(zoning):
    import json

    path = "/api/landuse/lookup/?lon=-104.985&lat=39.745"
    status, head, body = await call(LandUseFastPath(must_not_be_reached), path)
    django_status, _, django_body = await call(django_asgi_app, path)
    assert status == django_status == 200
    assert head["content-type"] == "application/json; charset=utf-8"
    assert json.loads(body) == json.loads(django_body)
    assert json.loads(body)["layers"][0]["code"] == "U-SU-C"
    assert "content-security-policy" in head


# PostGIS lookups go through Django's pooled connection in its thread.
@pytest.mark.spatialite
async def test_on_spatialite_the_lookup_is_answered_without_the_hop_to_django_s_thread(
    zoning, monkeypatch
):
    import json

    from landuse import fastpath

    path = "/api/landuse/lookup/?lon=-104.985&lat=39.745"
    _, _, through_the_thread = await call(django_asgi_app, path)

    async def no_thread(*args):
        raise AssertionError("the lookup went to the sync thread")

    monkeypatch.setattr(fastpath, "_lookup_async", no_thread)
    status, _, body = await call(LandUseFastPath(must_not_be_reached), path)
    assert status == 200
    assert json.loads(body) == json.loads(through_the_thread)


def test_the_spatialite_reader_answers_none_at_once_while_a_writer_holds_the_lock(tmp_path):
    import sqlite3

    from landuse.fastpath import SpatiaLiteReader

    path = str(tmp_path / "locked.sqlite3")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES (1)")
    reader = SpatiaLiteReader()
    try:
        assert reader.rows(path, "SELECT ST_X(MakePoint(x, 2)) FROM t", []) == [(1.0,)]
        writer.execute("BEGIN EXCLUSIVE")
        assert reader.rows(path, "SELECT x FROM t", []) is None
        writer.execute("COMMIT")
        assert reader.rows(path, "SELECT x FROM t", []) == [(1,)]
        with pytest.raises(sqlite3.OperationalError):
            reader._connection.execute("INSERT INTO t VALUES (2)")  # it only ever reads
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/landuse/layers/zoning/features.geojson?zoom=11",
        "/api/landuse/layers/zoning/features.geojson?zoom=16&bbox=-104.995,39.741,-104.985,39.749",
        "/api/landuse/layers/zoning/features.geojson",
    ],
)
async def test_the_geojson_is_answered_without_django_as_django_answers_it(zoning, path):
    import json

    from django.core.cache import cache

    django_status, django_head, django_body = await call(django_asgi_app, path)
    await sync_to_async(cache.clear)()
    status, head, body = await call(LandUseFastPath(must_not_be_reached), path)
    assert status == django_status == 200
    assert head["content-type"] == django_head["content-type"] == "application/geo+json"
    assert json.loads(body) == json.loads(django_body)
    for name in ("etag", "last-modified", "cache-control", *SECURITY_HEADERS):
        assert head.get(name) == django_head.get(name), name
    _, _, again = await call(
        LandUseFastPath(must_not_be_reached),
        path,
        headers=[(b"if-none-match", head["etag"].encode())],
    )
    assert again == b""


@pytest.mark.parametrize(
    "method, path, host",
    [
        ("POST", BLOCKS_TILE, "127.0.0.1"),
        ("GET", BLOCKS_TILE, "evil.example"),
        ("GET", "/tiles/zoning/23/0/0.mvt", "127.0.0.1"),
        ("GET", "/tiles/parks/0/0/0.mvt", "127.0.0.1"),
        ("GET", BLOCKS_TILE + "?x=%00", "127.0.0.1"),
        ("GET", "/api/landuse/lookup/?lon=abc&lat=39.7", "127.0.0.1"),
        ("GET", "/api/landuse/lookup/?lon=nan&lat=39.7", "127.0.0.1"),
        ("GET", "/api/landuse/lookup/?lon=-104.9", "127.0.0.1"),
        ("GET", "/api/landuse/layers/", "127.0.0.1"),
        ("GET", "/api/landuse/layers/zoning/features.geojson?zoom=99", "127.0.0.1"),
        ("GET", "/api/landuse/layers/zoning/features.geojson?bbox=1,2,3", "127.0.0.1"),
        ("GET", "/api/landuse/layers/parks/features.geojson", "127.0.0.1"),
        ("GET", "/api/landuse/layers/zoning/features.geojson?format=x", "127.0.0.1"),
    ],
)
async def test_anything_but_a_plain_good_request_is_left_to_django(zoning, method, path, host):
    django = Recorder()
    status, _, _ = await call(LandUseFastPath(django), path, method=method, host=host)
    assert status == 418
    assert django.paths == [path.partition("?")[0]]


async def test_django_still_refuses_what_the_lean_route_left_to_it(zoning):
    status, _, body = await call(django_asgi_app, "/api/landuse/lookup/?lon=abc&lat=39.7")
    assert status == 400 and b'"field": "lon"' in body
    status, _, _ = await call(django_asgi_app, BLOCKS_TILE, host="evil.example")
    assert status == 400


async def test_behind_an_https_proxy_the_lean_route_sends_hsts_as_django_does(zoning, settings):
    from django.core.handlers.asgi import ASGIHandler

    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    django = ASGIHandler()  # its middleware reads the settings now
    https = [(b"x-forwarded-proto", b"https")]

    _, head, _ = await call(LandUseFastPath(must_not_be_reached), BLOCKS_TILE, headers=https)
    _, django_head, _ = await call(django, BLOCKS_TILE, headers=https)
    assert head["strict-transport-security"] == django_head["strict-transport-security"]
    assert {name: head.get(name) for name in SECURITY_HEADERS} == {
        name: django_head.get(name) for name in SECURITY_HEADERS
    }

    # Plain HTTP is Django's to redirect.
    status, _, _ = await call(LandUseFastPath(django), BLOCKS_TILE)
    assert status == 301


async def test_a_failure_inside_the_lean_route_leaves_the_request_to_django(zoning, monkeypatch):
    from landuse import fastpath

    async def broken(*args):
        raise RuntimeError("database went away")

    monkeypatch.setattr(fastpath, "_tile_async", broken)
    fastpath.layer_versions_forget()
    django = Recorder()
    status, _, _ = await call(LandUseFastPath(django), BLOCKS_TILE)
    assert status == 418
    assert django.paths == [BLOCKS_TILE]
