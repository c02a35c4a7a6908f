"""``WS /ws/healthz/``: the WebSocket side of ``/healthz``.

A monitor (or the operator with ``websocat``) sends ``{"type": "ping"}`` and gets ``pong`` back
*through the channel layer*, which proves the whole live path: the ASGI server, origin check,
the consumer and, in production, Redis.
"""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer

MAX_FRAME = 1024


class HealthConsumer(AsyncJsonWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        # Anything but a small JSON text frame closes the socket with 4400; a malformed frame
        # used to raise in Channels' decoder and drop the connection without a close code.
        if text_data is None or len(text_data) > MAX_FRAME:
            await self.close(code=4400)
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.close(code=4400)
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.close(code=4400)
            return
        await self.channel_layer.send(self.channel_name, {"type": "health.pong"})

    async def health_pong(self, event: dict) -> None:
        await self.send_json({"type": "pong", "via": type(self.channel_layer).__name__})
