"""A WebSocket message goes through the real ASGI application (origin check, auth middleware,
routing, consumer) and back through the channel layer, in memory and on Redis."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from config.asgi import application

LOCAL_ORIGIN = [(b"origin", b"http://localhost:8000")]


async def ping_pong(headers) -> dict:
    communicator = WebsocketCommunicator(application, "/ws/healthz/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "ping"})
    reply = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return reply


async def test_a_ping_comes_back_through_the_in_memory_layer():
    with override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    ):
        reply = await ping_pong(LOCAL_ORIGIN)
    assert reply == {"type": "pong", "via": "InMemoryChannelLayer"}


@pytest.mark.redis
async def test_a_ping_comes_back_through_redis(redis_url):
    with override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [redis_url]},
            }
        }
    ):
        reply = await ping_pong(LOCAL_ORIGIN)
    assert reply == {"type": "pong", "via": "RedisPubSubChannelLayer"}


@pytest.mark.parametrize(
    "headers",
    [[(b"origin", b"https://evil.example")], [], [(b"origin", b"null")]],
    ids=["foreign origin", "missing origin", "null origin"],
)
async def test_a_socket_from_elsewhere_is_refused(headers):
    communicator = WebsocketCommunicator(application, "/ws/healthz/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_an_unknown_message_closes_the_socket_cleanly():
    communicator = WebsocketCommunicator(application, "/ws/healthz/", headers=LOCAL_ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "launch"})
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4400}
