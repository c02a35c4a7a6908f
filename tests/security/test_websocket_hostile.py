"""Hostile WebSocket clients (THREATS 6), through the real ASGI application: foreign or missing
Origin refused at the handshake; big frames, malformed JSON, unknown message types and floods
close that socket with a clear code while another client on the same discussion keeps
receiving; refused HTTP input broadcasts nothing to a listening client."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from engage.consumers import CLOSE_CLIENT_MESSAGE, CLOSE_TOO_BIG, CLOSE_UNKNOWN_DISCUSSION
from tests.engage.conftest import LOCAL_ORIGIN, open_discussion, post_comment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("release_thread_connections"),
]


def communicator(path: str, headers=LOCAL_ORIGIN) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers)


async def connected(discussion_id: int) -> WebsocketCommunicator:
    socket = communicator(f"/ws/discussions/{discussion_id}/")
    ok, _ = await socket.connect()
    assert ok
    return socket


async def assert_closed_with(socket: WebsocketCommunicator, code: int) -> None:
    message = await socket.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    assert message.get("code") == code, message


async def assert_still_live(discussion, socket: WebsocketCommunicator) -> None:
    response = await sync_to_async(post_comment)(Client(), discussion, body="still here")
    assert response.status_code == 201
    event = json.loads(await socket.receive_from(timeout=5))
    assert event["comment"]["body"] == "still here"


@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"https://evil.example")],
        [(b"origin", b"null")],
        [(b"origin", b"http://localhost.evil.example")],
        [(b"origin", b"file://")],
        [],
    ],
    ids=["foreign", "null", "lookalike", "file", "missing"],
)
async def test_a_socket_from_a_foreign_or_missing_origin_is_refused(headers):
    discussion = await sync_to_async(open_discussion)()
    socket = communicator(f"/ws/discussions/{discussion.pk}/", headers=headers)
    ok, _ = await socket.connect()
    assert not ok
    await socket.disconnect()


async def test_an_unknown_discussion_closes_with_4404():
    socket = communicator("/ws/discussions/99999999/")
    ok, _ = await socket.connect()
    assert ok
    await assert_closed_with(socket, CLOSE_UNKNOWN_DISCUSSION)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text": "x" * (20 * 1024 * 1024)}, CLOSE_TOO_BIG),
        ({"bytes": b"\x00" * (20 * 1024 * 1024)}, CLOSE_TOO_BIG),
        ({"text": "{not json"}, CLOSE_CLIENT_MESSAGE),
        ({"text": '{"type": "comment.create", "body": "x"}'}, CLOSE_CLIENT_MESSAGE),
        ({"text": '{"type": "engage.event", "text": "<script>"}'}, CLOSE_CLIENT_MESSAGE),
        ({"text": "[" * 50_000}, CLOSE_TOO_BIG),
        ({"bytes": b"\xff\xfe"}, CLOSE_CLIENT_MESSAGE),
    ],
    ids=[
        "20MB-text",
        "20MB-binary",
        "malformed",
        "unknown-type",
        "spoofed-event",
        "nested",
        "binary",
    ],  # fmt: skip
)
async def test_a_hostile_frame_closes_that_socket_and_no_other(frame, code):
    discussion = await sync_to_async(open_discussion)()
    bystander = await connected(discussion.pk)
    hostile = await connected(discussion.pk)
    await hostile.send_input({"type": "websocket.receive", **frame})
    await assert_closed_with(hostile, code)
    await assert_still_live(discussion, bystander)
    await bystander.disconnect()


async def test_a_flooding_socket_is_closed_and_the_others_keep_receiving():
    discussion = await sync_to_async(open_discussion)()
    bystander = await connected(discussion.pk)
    flooder = await connected(discussion.pk)
    for _ in range(1000):
        await flooder.send_input({"type": "websocket.receive", "text": "ping"})
    await assert_closed_with(flooder, CLOSE_CLIENT_MESSAGE)
    await assert_still_live(discussion, bystander)
    await bystander.disconnect()


async def test_a_client_cannot_inject_an_event_into_the_group():
    """The only way into a discussion's group is the server: a message type named after our
    handler sent by the client is just a frame and closes the socket."""
    discussion = await sync_to_async(open_discussion)()
    bystander = await connected(discussion.pk)
    attacker = await connected(discussion.pk)
    await attacker.send_json_to({"type": "engage.event", "text": '{"type": "comment.created"}'})
    await assert_closed_with(attacker, CLOSE_CLIENT_MESSAGE)
    assert await bystander.receive_nothing(timeout=0.3)
    await bystander.disconnect()


@pytest.mark.parametrize(
    "data",
    [
        {"body": "<svg onload=alert(1)>", "display_name": "x", "status": "published"},
        {"body": "", "display_name": "x"},
        {"body": "x", "display_name": "x", "geometry": {"type": "Point", "coordinates": [200, 0]}},
        {"body": "x", "display_name": "x", "website": "http://spam.example"},
    ],
    ids=["mass-assignment", "empty", "bad-geometry", "honeypot"],
)
async def test_a_refused_post_broadcasts_nothing_to_a_listening_client(data):
    discussion = await sync_to_async(open_discussion)()
    listener = await connected(discussion.pk)
    response = await sync_to_async(Client().post)(
        f"/api/engage/discussions/{discussion.pk}/comments/",
        data=json.dumps(data),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert await listener.receive_nothing(timeout=0.3)
    await listener.disconnect()


@pytest.mark.parametrize("text", ["{not json", "[]", '"ping"', '{"type": "pong"}', "x" * 100_000])
async def test_the_health_socket_closes_cleanly_on_bad_input(text):
    socket = communicator("/ws/healthz/")
    ok, _ = await socket.connect()
    assert ok
    await socket.send_to(text_data=text)
    await assert_closed_with(socket, 4400)


async def test_the_health_socket_answers_a_ping():
    socket = communicator("/ws/healthz/")
    ok, _ = await socket.connect()
    assert ok
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "pong"
    await asyncio.wait_for(socket.disconnect(), 5)
