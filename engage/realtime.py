"""Live events: the one place that talks to the channel layer.

A service calls :func:`broadcast_on_commit` inside its transaction. The event is sent only
after the transaction commits (never for a rollback), serialised once, to the group of the
discussion; every consumer in the group writes the same text to its socket. A failure to send
(Redis down, a full channel) is logged and never undoes or fails the write: the database is the
source of truth and clients backfill with ``?after=`` (docs/realtime.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "engage.event"  # handled by DiscussionConsumer.engage_event


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
