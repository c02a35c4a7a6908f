"""Live events: the one place that talks to the channel layer.

A service calls :func:`broadcast_on_commit` inside its transaction. The event is sent only
after the transaction commits (never for a rollback), serialised once, to the group of the
discussion. A failure to send (Redis down, a full channel) is logged and never undoes or fails
the write: the database is the source of truth and clients backfill with ``?after=``
(docs/realtime.md).

On the receiving side each process joins a discussion's group once, whatever the number of its
sockets (:func:`listen`): one relay task receives the event and hands the same text to every
local socket, which writes it at once (``engage.consumers``). Joining the group per socket
made the channel layer deserialise the event, start a task and run Channels' dispatch once per
socket and event: with 1000 sockets that was about half of a worker's CPU per delivered event
(bench/fanout.py, README).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "engage.event"  # an event's text, for every socket of the discussion
WITHDRAWN_TYPE = "engage.withdrawn"  # the discussion is no longer public: close its sockets
# Close codes a relay hands its sockets instead of text (engage.consumers reads them).
CLOSE_WITHDRAWN = 4404
CLOSE_RELAY_STOPPED = 4503


def group_name(discussion_id: int) -> str:
    return f"discussion-{discussion_id}"


def send_event(*, discussion_id: int, event: dict) -> None:
    """Send now (outside a transaction, or from an on_commit callback)."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    async_to_sync(get_channel_layer().group_send)(
        group_name(discussion_id), {"type": MESSAGE_TYPE, "text": text}
    )


def broadcast_on_commit(*, discussion_id: int, build: Callable[[], dict]) -> None:
    """After the current transaction commits, send the event ``build()`` returns."""

    def send() -> None:
        try:
            send_event(discussion_id=discussion_id, event=build())
        except Exception:
            logger.exception(
                "live event for discussion %s not sent; clients catch up with ?after=",
                discussion_id,
            )

    transaction.on_commit(send)


def withdraw_on_commit(*, discussion_id: int) -> None:
    """After the current transaction commits, close every open socket of the discussion (in
    every process) with 4404, as a new one would be: its page was unpublished, made private
    or moved out of sight. A failure is logged: no new event can reach a discussion that is
    no longer public, since posting to it is refused."""

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(
                group_name(discussion_id), {"type": WITHDRAWN_TYPE}
            )
        except Exception:
            logger.exception("sockets of withdrawn discussion %s not told", discussion_id)

    transaction.on_commit(send)


# Called with each event's text, or once with a close code when no more will come.
Deliver = Callable[[str | int], None]


class _Audience:
    """The sockets of one discussion in one process (and event loop), and the relay task that
    receives the discussion's events once and hands them to each."""

    def __init__(self, group: str, loop: asyncio.AbstractEventLoop) -> None:
        self.group, self.loop = group, loop
        self.layer = get_channel_layer()
        self.members: set[Deliver] = set()
        self.channel: str | None = None
        self.ready: asyncio.Future[None] = loop.create_future()
        self.relay = loop.create_task(self._relay())

    async def _relay(self) -> None:
        try:
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
        except Exception as exc:
            self.ready.set_exception(exc)
            raise
        self.ready.set_result(None)
        try:
            while True:
                message = await self.layer.receive(self.channel)
                if message.get("type") == WITHDRAWN_TYPE:
                    for deliver in list(self.members):
                        deliver(CLOSE_WITHDRAWN)
                    continue
                if message.get("type") != MESSAGE_TYPE:
                    continue
                text = message["text"]
                for deliver in list(self.members):
                    deliver(text)
                # Each deliver writes to its socket at once, and the layer hands over queued
                # events without waiting: a relay that fell behind would hold the event loop
                # until it caught up, starving the health ping (sockets closed with 4503),
                # clients' frames and requests. One yield per event, not per socket.
                await asyncio.sleep(0)
        except Exception:
            # Its sockets would get nothing more: tell each so it closes
            # and its page reconnects, backfills and starts a new relay.
            logger.exception("live relay for %s stopped", self.group)
            for deliver in list(self.members):
                deliver(CLOSE_RELAY_STOPPED)
            raise

    async def close(self) -> None:
        self.relay.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.relay
        if self.channel is not None:
            await self.layer.group_discard(self.group, self.channel)


# Keyed by event loop too: each test runs its own loop, a server process has one.
_audiences: dict[tuple[int, str], _Audience] = {}


async def listen(*, discussion_id: int, deliver: Deliver) -> None:
    """Call ``deliver(text)`` with every event of the discussion until :func:`stop_listening`,
    or ``deliver(close_code)`` once when no more will come (the relay stopped: 4503; the
    discussion was withdrawn: 4404). ``deliver`` runs inside the relay: it must not block
    (queue the text and return)."""
    loop = asyncio.get_running_loop()
    key = (id(loop), group_name(discussion_id))
    audience = _audiences.get(key)
    if audience is None or audience.loop is not loop or audience.relay.done():
        audience = _audiences[key] = _Audience(group_name(discussion_id), loop)
    audience.members.add(deliver)
    try:
        await asyncio.shield(audience.ready)
    except BaseException:
        await stop_listening(discussion_id=discussion_id, deliver=deliver)
        raise


async def stop_listening(*, discussion_id: int, deliver: Deliver) -> None:
    key = (id(asyncio.get_running_loop()), group_name(discussion_id))
    audience = _audiences.get(key)
    if audience is None:
        return
    audience.members.discard(deliver)
    if not audience.members:
        del _audiences[key]
        await audience.close()
