"""The way `make run` serves the site: one uvicorn process, DEBUG off, answering pages, the API,
static files and WebSockets on the same port."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
import websockets

from tests.live_server import SERVE_FLAGS, live_server, manage, server_env


@pytest.fixture(scope="module")
def served(tmp_path_factory, prepared_databases):
    folder = tmp_path_factory.mktemp("served")
    env = server_env(
        DATABASE_URL=f"spatialite:///{folder}/db.sqlite3",
        STATIC_ROOT=str(folder / "static"),
        MEDIA_ROOT=str(folder / "media"),
        REDIS_URL="",
        DEBUG="0",
    )
    prepared_databases.copy_to(folder / "db.sqlite3", demo=True)
    manage("collectstatic", "--no-input", env=env)
    with live_server(env) as server:
        yield server


def get(url: str) -> tuple[int, Message, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local test server
        return response.status, response.headers, response.read()


def test_health_pages_api_and_static_files_come_from_one_process(served):
    status, _, body = get(served.url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"

    status, headers, body = get(served.url + "/")
    assert status == 200 and b"Plan Together" in body
    assert headers["X-Frame-Options"] == "DENY"

    status, _, body = get(served.url + "/api/openapi.json")
    assert status == 200 and json.loads(body)["openapi"].startswith("3.")

    status, headers, body = get(served.url + "/static/leaflet/leaflet.js")
    assert status == 200 and b"Leaflet" in body[:2000]
    assert "javascript" in headers["Content-Type"]


def test_the_same_process_answers_a_websocket(served):
    async def ping() -> dict:
        async with websockets.connect(
            served.ws_url + "/ws/healthz/", origin="http://127.0.0.1"
        ) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(ping()) == {"type": "pong", "via": "InMemoryChannelLayer"}


def test_a_websocket_from_a_foreign_origin_is_refused(served):
    async def connect() -> None:
        async with websockets.connect(
            served.ws_url + "/ws/healthz/", origin="https://evil.example"
        ):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403


def test_websockets_are_served_without_per_message_compression(served):
    # Compressing every event once per socket cost more of a worker than anything else but
    # the socket writes under the posting benchmark (README "Performance"); events are small.
    async def extensions() -> str | None:
        async with websockets.connect(
            served.ws_url + "/ws/healthz/", origin="http://127.0.0.1", compression="deflate"
        ) as socket:
            return socket.response.headers.get("Sec-WebSocket-Extensions")

    assert asyncio.run(extensions()) is None


def test_these_tests_serve_with_the_makefiles_websocket_flags():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    serve = re.search(r"^serve:\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    recipe = " ".join(serve.replace("\\\n", " ").split())
    for name, value in zip(SERVE_FLAGS[::2], SERVE_FLAGS[1::2], strict=True):
        assert f"{name} {value}" in recipe, name
