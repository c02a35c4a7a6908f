"""Redis killed while residents post and pages listen: posting goes on (201 means stored), pages
are told live updates are paused (close code 4503), and once Redis is back they reconnect,
backfill what they missed and receive events again.

The server is the real ASGI app under uvicorn, with its channel layer and cache on a
``redis-server`` of the test's own that is SIGKILLed and started again on the same port.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from engage.livehealth import CLOSE_LIVE_UNAVAILABLE
from tests.faults.client import comments_after, discussion_id, post_comment
from tests.faults.conftest import fault_env
from tests.live_server import live_server

pytestmark = pytest.mark.django_db  # the test database is what the server's copy comes from

ORIGIN = "http://127.0.0.1"


async def close_code(socket, *, within: float) -> int | None:
    """The code the server closed ``socket`` with, or None if it stayed open ``within`` s."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), within)
    except TimeoutError:
        return None
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def post(url: str, discussion: int, body: str) -> tuple[int, dict]:
    status, _, text = await asyncio.to_thread(post_comment, url, discussion, body)
    return status, json.loads(text)


def test_posting_survives_redis_dying_and_pages_are_paused_then_backfill(fault_db, private_redis):
    env = fault_env(fault_db.url, REDIS_URL=private_redis.url)
    with live_server(env) as server:
        discussion = discussion_id(server.url)
        socket_url = f"{server.ws_url}/ws/discussions/{discussion}/"

        async def scenario() -> None:
            listening = await websockets.connect(socket_url, origin=ORIGIN)
            status, before = await post(server.url, discussion, "before the outage")
            assert status == 201
            event = json.loads(await asyncio.wait_for(listening.recv(), 10))
            assert event["comment"]["id"] == before["id"]

            private_redis.kill()
            missed = []
            for n in range(3):
                status, created = await post(server.url, discussion, f"during the outage {n}")
                assert status == 201, created
                missed.append(created["id"])
            assert fault_db.stored_bodies()[-3:] == [f"during the outage {n}" for n in range(3)]

            # The open page learns that live updates stopped; a page arriving now too.
            assert await close_code(listening, within=15) == CLOSE_LIVE_UNAVAILABLE
            arriving = await websockets.connect(socket_url, origin=ORIGIN)
            assert await close_code(arriving, within=15) == CLOSE_LIVE_UNAVAILABLE

            private_redis.start()
            deadline = time.monotonic() + 20
            while True:  # what thread.js does: retry every few seconds while paused
                back = await websockets.connect(socket_url, origin=ORIGIN)
                code = await close_code(back, within=1.5)
                if code is None:
                    break
                assert code == CLOSE_LIVE_UNAVAILABLE
                assert time.monotonic() < deadline, "live updates never came back"
                await asyncio.sleep(0.5)

            # On open the page asks for what came after the last comment it saw.
            backfill = await asyncio.to_thread(comments_after, server.url, discussion, before["id"])
            assert [c["id"] for c in backfill] == missed

            status, after = await post(server.url, discussion, "after the outage")
            assert status == 201
            event = json.loads(await asyncio.wait_for(back.recv(), 10))
            assert (event["type"], event["comment"]["id"]) == ("comment.created", after["id"])
            await back.close()

        asyncio.run(scenario())
