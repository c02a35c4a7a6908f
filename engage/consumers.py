"""``WS /ws/discussions/<id>/``: live events for one discussion, receive-only.

``connect`` checks through a selector that the discussion exists and is published, then starts
listening to it before accepting (so a page that backfills on open misses nothing); otherwise
the socket is accepted and closed at once with 4404 (a close code the browser can read, unlike
a refused handshake). While the channel layer (Redis) is down, new and open sockets are closed
with 4503 (``engage.livehealth``). Clients send nothing: any frame closes the socket with 4400
(4009 when larger than ``MAX_FRAME``).

Events do not come through this consumer's channel: the process listens to the discussion
once (``engage.realtime.listen``) and hands each event's text, serialised once, to every local
socket's :meth:`DiscussionConsumer.deliver`, which writes it to the server at once, inside the
relay (:func:`write_now`): no task, queue or trip through the event loop per socket and event,
and none of Channels' send wrappers. Only a write that has to wait (the client reads slowly and
the server's buffer for it is full) is finished by a task; events that come meanwhile wait in
the socket's outbox, in order. A socket whose reader is so slow that ``OUTBOX_LIMIT`` events
wait is closed with 1013 ("try again later"): its page reconnects and backfills, and the
process does not hold an unbounded queue for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

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


class _Rest:
    """The rest of a coroutine that :func:`write_now` ran up to its first wait, as an awaitable
    a task can finish: it passes on to the coroutine whatever the task's event loop sends or
    throws into it (results, cancellation)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        waiting_on = self.waiting_on
        while True:
            try:
                value = yield waiting_on
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as exc:  # cancellation: the write sees it where it waits
                try:
                    waiting_on = self.coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting_on = self.coro.send(value)
                except StopIteration as stop:
                    return stop.value


def write_now(coro: Coroutine[Any, Any, Any]) -> Awaitable[Any] | None:
    """Run ``coro`` (a write to a socket) now, in the caller's task, up to its first wait.
    Returns None when it finished without waiting, the usual case: the ASGI server had room in
    the socket's buffer. Otherwise an awaitable that finishes it, for a task to await. Errors
    raised before the first wait propagate.

    This is what Python 3.12's eager tasks do; on 3.11 a task per socket and event (or a writer
    task woken through a queue) cost more CPU than the write itself with 1000 sockets."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return _Rest(coro, waiting_on)


class DiscussionConsumer(AsyncWebsocketConsumer):
    discussion_id: int | None = None
    # While set, a write waits for the client to read (or the socket is not accepted yet) and
    # later events wait in the outbox.
    sending: asyncio.Future[None] | None = None
    accepted = False
    done = False  # closing or gone: deliver nothing more
    close_code: int | None = None  # asked for before the socket was accepted

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
            self.outbox: deque[str] = deque()
            # Events that come before the accept below has gone out wait for it.
            self.sending = asyncio.get_running_loop().create_future()
            self.discussion_id = discussion_id
            try:
                await realtime.listen(discussion_id=discussion_id, deliver=self.deliver)
            except Exception:
                logger.warning("live updates unavailable: could not listen", exc_info=True)
                self.discussion_id = None
                layer_ok = False
        await self.accept()
        self.accepted = True
        if not live:
            await self.close(code=CLOSE_UNKNOWN_DISCUSSION)
        elif not layer_ok:
            await self.close(code=CLOSE_LIVE_UNAVAILABLE)
        elif self.close_code is not None:
            self.close_soon(self.close_code)
        else:
            self.sending = asyncio.create_task(self.send_waiting())
            livehealth.watch(self)

    async def disconnect(self, code: int) -> None:
        livehealth.unwatch(self)
        await self.stop_listening()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data or "") + len(bytes_data or b"")
        await self.stop_listening()
        await self.close(code=CLOSE_TOO_BIG if size > MAX_FRAME else CLOSE_CLIENT_MESSAGE)

    async def write(self, text: str) -> None:
        """One event to the client, straight to the ASGI server: Channels' send wrappers add
        nothing a receive-only socket needs."""
        await self.base_send({"type": "websocket.send", "text": text})

    def deliver(self, text: str | int) -> None:
        """Called by the relay for every event: write it now, or queue it behind a write that
        waits; never wait, never raise into the relay. A close code instead of text: nothing
        more will come (4503: the relay stopped, the page reconnects and backfills; 4404: the
        discussion is no longer public)."""
        if self.done:
            return
        if isinstance(text, int):
            self.close_soon(text)
        elif self.sending is not None:
            if len(self.outbox) >= OUTBOX_LIMIT:
                self.close_soon(CLOSE_TOO_SLOW)
            else:
                self.outbox.append(text)
        else:
            try:
                rest = write_now(self.write(text))
            except Exception:  # the socket went away; disconnect() stops listening
                self.done = True
                return
            if rest is not None:
                self.sending = asyncio.get_running_loop().create_task(self.send_waiting(rest))

    async def send_waiting(self, rest: Awaitable[Any] | None = None) -> None:
        """Finish a write that had to wait, then send what queued behind it, in order."""
        try:
            if rest is not None:
                await rest
            while self.outbox:
                await self.write(self.outbox.popleft())
        except Exception:  # the socket went away; disconnect() stops listening
            self.done = True
            return
        self.sending = None

    def close_soon(self, code: int) -> None:
        self.done = True
        if not self.accepted:  # connect() closes it once accepted
            self.close_code = code
            return
        if self.sending is not None:
            self.sending.cancel()
            self.sending = None
        asyncio.get_running_loop().create_task(self.close_after_stopping(code))

    async def close_after_stopping(self, code: int) -> None:
        await self.stop_listening()
        with contextlib.suppress(Exception):
            await self.close(code=code)

    async def stop_listening(self) -> None:
        self.done = True
        if self.sending is not None:
            self.sending.cancel()
            self.sending = None
        if self.discussion_id is not None:
            discussion_id, self.discussion_id = self.discussion_id, None
            self.outbox.clear()
            try:
                await realtime.stop_listening(discussion_id=discussion_id, deliver=self.deliver)
            except Exception:  # Redis down: the relay's subscription went with it
                logger.info("stop listening failed; channel layer unavailable", exc_info=True)
