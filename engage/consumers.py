"""``WS /ws/discussions/<id>/``: live events for one discussion, receive-only.

``connect`` checks through a selector that the discussion exists and is published, then starts
listening to it before accepting (so a page that backfills on open misses nothing); otherwise
the socket is accepted and closed at once with 4404 (a close code the browser can read, unlike
a refused handshake). While the channel layer (Redis) is down, new and open sockets are closed
with 4503 (``engage.livehealth``). Clients send nothing: any frame closes the socket with 4400
(4009 when larger than ``MAX_FRAME``).

Events do not come through this consumer's channel: the process listens to the discussion
once (``engage.realtime.listen``) and puts each event's text, serialised once, in this
socket's outbox; a writer task per socket sends it. A socket whose reader is so slow that
``OUTBOX_LIMIT`` events wait is closed with 1013 ("try again later"): its page reconnects and
backfills, and the process does not hold an unbounded queue for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from engage import livehealth, realtime, selectors
from engage.livehealth import CLOSE_LIVE_UNAVAILABLE

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_DISCUSSION = 4404
CLOSE_CLIENT_MESSAGE = 4400
CLOSE_TOO_BIG = 4009
CLOSE_TOO_SLOW = 1013
MAX_FRAME = 4096
OUTBOX_LIMIT = 500


class DiscussionConsumer(AsyncWebsocketConsumer):
    discussion_id: int | None = None
    writer: asyncio.Task | None = None

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
            self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
            self.discussion_id = discussion_id
            try:
                await realtime.listen(discussion_id=discussion_id, deliver=self.deliver)
            except Exception:
                logger.warning("live updates unavailable: could not listen", exc_info=True)
                self.discussion_id = None
                layer_ok = False
        await self.accept()
        if not live:
            await self.close(code=CLOSE_UNKNOWN_DISCUSSION)
        elif not layer_ok:
            await self.close(code=CLOSE_LIVE_UNAVAILABLE)
        else:
            self.writer = asyncio.create_task(self.write_events())
            livehealth.watch(self)

    async def disconnect(self, code: int) -> None:
        livehealth.unwatch(self)
        await self.stop_listening()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data or "") + len(bytes_data or b"")
        await self.stop_listening()
        await self.close(code=CLOSE_TOO_BIG if size > MAX_FRAME else CLOSE_CLIENT_MESSAGE)

    def deliver(self, text: str | int) -> None:
        """Called by the relay for every event: queue it, never wait. A close code instead of
        text: nothing more will come (4503: the relay stopped, the page reconnects and
        backfills; 4404: the discussion is no longer public)."""
        if isinstance(text, int):
            self.close_soon(text)
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close_soon(CLOSE_TOO_SLOW)

    def close_soon(self, code: int) -> None:
        if self.writer is not None:
            self.writer.cancel()
            self.writer = None
            asyncio.get_running_loop().create_task(self.close_after_stopping(code))

    async def write_events(self) -> None:
        try:
            while True:
                await self.send(text_data=await self.outbox.get())
        except Exception:  # the socket went away; disconnect() stops listening
            return

    async def close_after_stopping(self, code: int) -> None:
        await self.stop_listening()
        with contextlib.suppress(Exception):
            await self.close(code=code)

    async def stop_listening(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            self.writer = None
        if self.discussion_id is not None:
            discussion_id, self.discussion_id = self.discussion_id, None
            try:
                await realtime.stop_listening(discussion_id=discussion_id, deliver=self.deliver)
            except Exception:  # Redis down: the relay's subscription went with it
                logger.info("stop listening failed; channel layer unavailable", exc_info=True)
