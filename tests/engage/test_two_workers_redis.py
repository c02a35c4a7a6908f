"""Two server processes sharing Redis: a comment posted to one reaches a page listening on the
other, and a page that reconnects catches up with ``?after=``."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import websockets

from tests.live_server import live_server, manage, server_env

pytestmark = pytest.mark.redis

CREATE_DISCUSSION = (
    "from engage.services import discussion_create;"
    "d = discussion_create(title='Two workers', is_published=True, page_url='/t/');"
    "print(d.pk)"
)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, redis_url, prepared_databases):
    folder = tmp_path_factory.mktemp("two-workers")
    env = server_env(
        DATABASE_URL=f"spatialite:///{folder}/db.sqlite3", REDIS_URL=redis_url, DEBUG="0"
    )
    prepared_databases.copy_to(folder / "db.sqlite3")
    manage("shell", "-c", CREATE_DISCUSSION, env=env)
    with live_server(env) as first, live_server(env) as second:
        yield first, second


def http_json(method: str, url: str, data: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - our own test server
        url,
        method=method,
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def test_a_comment_posted_to_one_worker_reaches_a_page_on_the_other(two_workers):
    first, second = two_workers
    _, discussions = http_json("GET", first.url + "/api/engage/discussions/")
    discussion_id = discussions[0]["id"]

    async def listen_and_post() -> tuple[dict, dict]:
        async with websockets.connect(
            f"{first.ws_url}/ws/discussions/{discussion_id}/", origin="http://127.0.0.1"
        ) as socket:
            status, created = await asyncio.to_thread(
                http_json,
                "POST",
                f"{second.url}/api/engage/discussions/{discussion_id}/comments/",
                {"body": "Posted on the second worker", "display_name": "Two"},
            )
            assert status == 201
            event = json.loads(await asyncio.wait_for(socket.recv(), 10))
            return created, event

    created, event = asyncio.run(listen_and_post())
    assert event["type"] == "comment.created"
    assert event["comment"]["id"] == created["id"]
    assert event["comment"]["body"] == "Posted on the second worker"

    # A page that was away asks the other worker for what it missed.
    _, page = http_json(
        "GET",
        f"{first.url}/api/engage/discussions/{discussion_id}/comments/?after={created['id'] - 1}",
    )
    assert [item["id"] for item in page["items"]] == [created["id"]]


def test_an_unknown_discussion_socket_is_closed_with_4404_over_a_real_server(two_workers):
    first, _ = two_workers

    async def connect() -> int:
        async with websockets.connect(
            f"{first.ws_url}/ws/discussions/424242/", origin="http://127.0.0.1"
        ) as socket:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            return closed.value.rcvd.code

    assert asyncio.run(connect()) == 4404
