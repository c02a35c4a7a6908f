"""``WS /ws/healthz/``: the WebSocket side of ``/healthz``.

A monitor (or the operator with ``websocat``) sends ``{"type": "ping"}`` and gets ``pong`` back
*through the channel layer*, which proves the whole live path: the ASGI server, origin check,
the consumer and, in production, Redis.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class HealthConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.close(code=4400)
            return
        await self.channel_layer.send(self.channel_name, {"type": "health.pong"})

    async def health_pong(self, event: dict) -> None:
        await self.send_json({"type": "pong", "via": type(self.channel_layer).__name__})
