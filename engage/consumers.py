"""``WS /ws/discussions/<id>/``: live events for one discussion, receive-only.

``connect`` checks through a selector that the discussion exists and is published, then joins
the group ``discussion-<id>`` before accepting (so a page that backfills on open misses
nothing); otherwise the socket is accepted and closed at once with 4404 (a close code the
browser can read, unlike a refused handshake). While the channel layer (Redis) is down, new
and open sockets are closed with 4503 (``engage.livehealth``). Clients send nothing: any
frame closes the socket with 4400 (4009 when larger than ``MAX_FRAME``). Events arrive already
serialised (once, in ``engage.realtime``) and are written as they are.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from engage import livehealth, selectors
from engage.livehealth import CLOSE_LIVE_UNAVAILABLE
from engage.realtime import MESSAGE_TYPE, group_name

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_DISCUSSION = 4404
CLOSE_CLIENT_MESSAGE = 4400
CLOSE_TOO_BIG = 4009
MAX_FRAME = 4096


class DiscussionConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if hasattr(self, "channel_name") or scope.get("type") != "websocket":
                raise
            # The layer could not even give this socket a channel (Redis down): tell the
            # page with a close code it can read instead of a failed handshake.
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_LIVE_UNAVAILABLE})

    async def connect(self) -> None:
        discussion_id = self.scope["url_route"]["kwargs"]["discussion_id"]
        live = await database_sync_to_async(selectors.discussion_is_live)(
            discussion_id=discussion_id
        )
        layer_ok = live and await livehealth.ready()
        if layer_ok:
            self.group = group_name(discussion_id)
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
            except Exception:
                logger.warning("live updates unavailable: group_add failed", exc_info=True)
                layer_ok = False
        await self.accept()
        if not live:
            await self.close(code=CLOSE_UNKNOWN_DISCUSSION)
        elif not layer_ok:
            await self.close(code=CLOSE_LIVE_UNAVAILABLE)
        else:
            livehealth.watch(self)

    async def disconnect(self, code: int) -> None:
        livehealth.unwatch(self)
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # Redis down: its subscription went with it
                logger.info("group_discard failed; channel layer unavailable", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data or "") + len(bytes_data or b"")
        await self.close(code=CLOSE_TOO_BIG if size > MAX_FRAME else CLOSE_CLIENT_MESSAGE)

    async def dispatch(self, message: dict) -> None:
        # Live events never touch the database: skip Channels' per-message
        # aclose_old_connections() hop to a thread (shared PERF notes: ~2.7x less CPU).
        if message["type"] == MESSAGE_TYPE:
            await self.engage_event(message)
            return
        await super().dispatch(message)

    async def engage_event(self, event: dict) -> None:
        await self.send(text_data=event["text"])
