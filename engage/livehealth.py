"""Is the live path (the channel layer, i.e. Redis) working for the sockets of this process?

While Redis is down, events are not delivered, and an open socket cannot tell: it simply
stays quiet. So each worker with open discussion sockets runs one small check every
``ENGAGE_LIVE_CHECK_SECONDS``: a message sent to itself through the channel layer must come
back (see :func:`patience`). When it does not, every discussion socket of the worker is closed with
:data:`CLOSE_LIVE_UNAVAILABLE`; pages show "live updates paused", keep posting over HTTP (a
201 still means stored) and reconnect until the layer answers again, then backfill what they
missed with ``?after=`` / ``?changed_since=`` (docs/realtime.md).

The in-memory layer cannot fail on its own, so it is never checked.

Not covered: an outage shorter than one check interval on a worker that published nothing
during it; its pages stay connected and may miss the events of those seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

# 1013 would be "try again later", but browsers only let pages see 1000 and 3000-4999.
CLOSE_LIVE_UNAVAILABLE = 4503
PING = "engage.live.ping"


class Closable(Protocol):
    async def close(self, code: int | None = None) -> None: ...


_open: set[Closable] = set()
_watch: asyncio.Task | None = None
_channel: dict[asyncio.AbstractEventLoop, str] = {}  # one ping channel per loop, reused
_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
_healthy = True  # the last check's answer
_checked_at = 0.0  # and when it was given (time.monotonic())


def interval() -> float:
    return float(getattr(settings, "ENGAGE_LIVE_CHECK_SECONDS", 2))


def _checked_layer():
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer) or interval() <= 0:
        return None
    return layer


async def ready() -> bool:
    """Can a socket joining now expect events? After a failed check, only once a round trip
    succeeds again: Redis may be back while this worker's subscriptions are not yet."""
    layer = _checked_layer()
    if layer is None or _healthy:
        return True
    loop = asyncio.get_running_loop()
    async with _locks.setdefault(loop, asyncio.Lock()):  # one ping at a time per channel
        # Sockets that queued behind a check take its answer instead of pinging again.
        if not _healthy and time.monotonic() - _checked_at >= interval():
            await _check(layer, loop)
    return _healthy


async def _check(layer, loop) -> bool:
    global _healthy, _checked_at
    ok, channel = await layer_answers(layer, _channel.pop(loop, None))
    if channel:
        _channel[loop] = channel
    _healthy, _checked_at = ok, time.monotonic()
    return ok


def watch(consumer: Closable) -> None:
    """Close ``consumer`` with 4503 if the layer stops answering (call from ``connect``)."""
    global _watch
    layer = _checked_layer()
    if layer is None:
        return
    _open.add(consumer)
    loop = asyncio.get_running_loop()
    if _watch is None or _watch.done() or _watch.get_loop() is not loop:
        _watch = loop.create_task(_check_while_open(layer))


def unwatch(consumer: Closable) -> None:
    _open.discard(consumer)


def patience() -> float:
    """How long a ping may take before the layer counts as down. A dead Redis refuses the
    connection at once (an error, seen within one interval); only a silent network needs this
    timeout. It is generous because a worker busy fanning out to many sockets delivers the ping
    late too, and closing every socket of a merely slow worker would make it slower."""
    return max(10.0, 5 * interval())


async def layer_answers(layer, channel: str | None) -> tuple[bool, str | None]:
    """Send a ping to our own channel and wait for it. Returns (ok, channel to reuse)."""
    try:
        channel = channel or await layer.new_channel(prefix="engage-live.")
        await asyncio.wait_for(layer.send(channel, {"type": PING}), patience())
        message = await asyncio.wait_for(layer.receive(channel), patience())
        return message.get("type") == PING, channel
    except Exception as exc:  # any layer error means "not delivering" here
        logger.warning("live updates unavailable (channel layer): %s", exc)
        # A cancelled receive unsubscribes the channel (channels_redis pub/sub): start afresh.
        return False, None


async def _check_while_open(layer) -> None:
    loop = asyncio.get_running_loop()
    while _open:
        await asyncio.sleep(interval())
        async with _locks.setdefault(loop, asyncio.Lock()):
            ok = await _check(layer, loop)
        if not ok:
            for consumer in list(_open):
                _open.discard(consumer)
                try:
                    await consumer.close(code=CLOSE_LIVE_UNAVAILABLE)
                except Exception:  # already gone
                    logger.debug("socket already closed", exc_info=True)
