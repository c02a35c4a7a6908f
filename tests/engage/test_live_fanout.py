"""How one process hands a discussion's events to its sockets: it joins the discussion's group
once, every local socket gets each event once and in order, a socket that leaves gets nothing
more, a socket whose reader cannot keep up is closed (1013) without holding up the rest, events
that come while a write waits follow it in order, and sockets whose relay stops are closed
(4503) so their pages reconnect."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application
from engage import consumers, realtime
from tests.engage.conftest import LOCAL_ORIGIN, open_discussion

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("release_thread_connections"),
]


async def connect(discussion_id: int, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/discussions/{discussion_id}/{query}", headers=LOCAL_ORIGIN
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def send(discussion_id: int, number: int) -> None:
    await sync_to_async(realtime.send_event)(
        discussion_id=discussion_id, event={"type": "test.event", "number": number}
    )


def audience(discussion_id: int) -> realtime._Audience | None:
    return realtime._audiences.get(
        (id(asyncio.get_running_loop()), realtime.group_name(discussion_id))
    )


async def test_the_sockets_of_a_discussion_share_one_relay_and_each_gets_every_event_in_order():
    discussion = await sync_to_async(open_discussion)()
    sockets = [await connect(discussion.pk) for _ in range(3)]
    relay = audience(discussion.pk)
    assert relay is not None and len(relay.members) == 3
    for number in range(5):
        await send(discussion.pk, number)
    for socket in sockets:
        received = [json.loads(await socket.receive_from(timeout=5))["number"] for _ in range(5)]
        assert received == [0, 1, 2, 3, 4]
        assert await socket.receive_nothing(timeout=0.1)
        await socket.disconnect()
    assert audience(discussion.pk) is None


async def test_a_socket_that_left_gets_nothing_more_and_the_others_still_do():
    discussion = await sync_to_async(open_discussion)()
    leaving, staying = await connect(discussion.pk), await connect(discussion.pk)
    await leaving.disconnect()
    await send(discussion.pk, 1)
    assert json.loads(await staying.receive_from(timeout=5))["number"] == 1
    relay = audience(discussion.pk)
    assert relay is not None and len(relay.members) == 1
    await staying.disconnect()


async def test_a_socket_for_an_unknown_discussion_never_joins_a_relay():
    communicator = WebsocketCommunicator(
        application, "/ws/discussions/999999/", headers=LOCAL_ORIGIN
    )
    await communicator.connect()
    assert (await communicator.receive_output(timeout=5))["code"] == 4404
    assert audience(999999) is None


async def test_a_socket_whose_reader_falls_behind_is_closed_with_1013(monkeypatch):
    monkeypatch.setattr(consumers, "OUTBOX_LIMIT", 3)
    never = asyncio.Event()

    async def stuck_write(self, text):
        await never.wait()  # a client that stopped reading: its writes never complete

    monkeypatch.setattr(consumers.DiscussionConsumer, "write", stuck_write)
    discussion = await sync_to_async(open_discussion)()
    slow = await connect(discussion.pk)
    for number in range(5):  # one in flight, three queued, the fifth overflows
        await send(discussion.pk, number)
    assert await slow.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": consumers.CLOSE_TOO_SLOW,
    }
    assert audience(discussion.pk) is None


async def test_one_slow_socket_does_not_delay_the_others(monkeypatch):
    never = asyncio.Event()
    original = consumers.DiscussionConsumer.write

    async def slow_socket_is_stuck(self, text):
        if self.scope["query_string"] == b"slow":
            await never.wait()
        await original(self, text)

    monkeypatch.setattr(consumers.DiscussionConsumer, "write", slow_socket_is_stuck)
    discussion = await sync_to_async(open_discussion)()
    slow, fast = await connect(discussion.pk, "?slow"), await connect(discussion.pk)
    for number in range(3):
        await send(discussion.pk, number)
    received = [json.loads(await fast.receive_from(timeout=5))["number"] for _ in range(3)]
    assert received == [0, 1, 2]
    assert await slow.receive_nothing(timeout=0.1)
    await fast.disconnect()
    await slow.disconnect()


async def test_events_that_come_while_a_write_waits_for_the_reader_follow_it_in_order(monkeypatch):
    reader_caught_up = asyncio.Event()
    original = consumers.DiscussionConsumer.write

    async def first_write_waits(self, text):
        if json.loads(text)["number"] == 0:
            await reader_caught_up.wait()
        await original(self, text)

    monkeypatch.setattr(consumers.DiscussionConsumer, "write", first_write_waits)
    discussion = await sync_to_async(open_discussion)()
    socket = await connect(discussion.pk)
    for number in range(4):
        await send(discussion.pk, number)
    assert await socket.receive_nothing(timeout=0.2)
    reader_caught_up.set()
    received = [json.loads(await socket.receive_from(timeout=5))["number"] for _ in range(4)]
    assert received == [0, 1, 2, 3]
    await send(discussion.pk, 4)  # written at once again
    assert json.loads(await socket.receive_from(timeout=5))["number"] == 4
    await socket.disconnect()


async def test_sockets_are_closed_with_4503_when_their_relay_stops_so_pages_reconnect():
    discussion = await sync_to_async(open_discussion)()
    sockets = [await connect(discussion.pk) for _ in range(2)]
    # A message the relay cannot read stops it, as any failure inside it would.
    await get_channel_layer().group_send(
        realtime.group_name(discussion.pk), {"type": realtime.MESSAGE_TYPE}
    )
    for socket in sockets:
        assert await socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": consumers.CLOSE_LIVE_UNAVAILABLE,
        }
    assert audience(discussion.pk) is None
    again = await connect(discussion.pk)
    await send(discussion.pk, 7)
    assert json.loads(await again.receive_from(timeout=5))["number"] == 7
    await again.disconnect()
