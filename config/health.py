"""``/healthz``: can this process reach its database and its channel layer?

Load balancers and the operator read it; it answers 200 when both are reachable and 503 with
the failing part named otherwise. It never says more than ok/error and the engine, so it can
stay public.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT = 2.0


def _database_status() -> dict:
    engine = connection.vendor if connection.vendor != "sqlite" else "spatialite"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "unreachable" to a probe
        logger.warning("healthz: database unreachable: %s", exc)
        return {"ok": False, "engine": engine, "error": "database unreachable"}
    return {"ok": True, "engine": engine}


async def _channel_layer_status() -> dict:
    layer = get_channel_layer()
    name = type(layer).__name__ if layer else "none"
    if layer is None:
        return {"ok": False, "backend": name, "error": "no channel layer configured"}
    try:
        # A real send/receive on a fresh channel proves the layer (and Redis) answers.
        channel = await layer.new_channel()
        await asyncio.wait_for(layer.send(channel, {"type": "health.ping"}), CHANNEL_LAYER_TIMEOUT)
        message = await asyncio.wait_for(layer.receive(channel), CHANNEL_LAYER_TIMEOUT)
        if message.get("type") != "health.ping":
            raise RuntimeError("unexpected message")
    except Exception as exc:
        logger.warning("healthz: channel layer unreachable: %s", exc)
        return {"ok": False, "backend": name, "error": "channel layer unreachable"}
    return {"ok": True, "backend": name}


@never_cache
async def healthz(request) -> JsonResponse:
    database = await sync_to_async(_database_status, thread_sensitive=True)()
    channel_layer = await _channel_layer_status()
    ok = database["ok"] and channel_layer["ok"]
    return JsonResponse(
        {"status": "ok" if ok else "error", "database": database, "channel_layer": channel_layer},
        status=200 if ok else 503,
    )
