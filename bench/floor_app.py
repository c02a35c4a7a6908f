"""The posting floor: the smallest Django + Channels program that does what a comment POST
does for its live readers. ``POST /post/<discussion>/`` inserts one row into the comments
table and, on commit, publishes it once on the same channel layer; ``WS /ws/<discussion>/``
joins the discussion's group and writes each event's text as it is. No middleware, no
validation, no rate limits, no ninja, no land-use lookup: what remains is Django's request
path, the ORM insert, the channel layer and the socket.

Run with the same settings and environment as our server (database, ``REDIS_URL``):
``uvicorn bench.floor_app:application --workers 2``.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.db import transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from engage.models import Comment  # noqa: E402

# The floor is "Django with nothing of ours": same settings (database, pool, channel layer),
# none of our middleware or URLs. Changing settings at run time is acceptable in a benchmark.
settings.MIDDLEWARE = []
settings.ROOT_URLCONF = __name__

EVENT = "floor.event"


def group(discussion: int) -> str:
    return f"discussion-{discussion}"


def event_text(discussion: int, key: int, body: str, display_name: str, created_at) -> str:
    """The event the floor publishes for a stored comment (also what ``post_cpu.py``'s bare
    side publishes, so both deliver the same bytes)."""
    return json.dumps(
        {
            "type": "comment.created",
            "discussion": discussion,
            "comment": {
                "id": key,
                "body": body,
                "display_name": display_name,
                "created_at": created_at.isoformat(),
            },
        }
    )


def post(request: HttpRequest, discussion: int) -> JsonResponse:
    data = json.loads(request.body)
    with transaction.atomic():
        comment = Comment.objects.create(
            discussion_id=discussion,
            body=data["body"],
            display_name=data.get("display_name") or "",
            status=Comment.Status.PUBLISHED,
        )
        text = event_text(
            discussion, comment.pk, comment.body, comment.display_name, comment.created_at
        )
        transaction.on_commit(
            lambda: async_to_sync(get_channel_layer().group_send)(
                group(discussion), {"type": EVENT, "text": text}
            )
        )
    return JsonResponse({"id": comment.pk}, status=201)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


class FloorConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = group(self.scope["url_route"]["kwargs"]["discussion"])
        await self.accept()
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message: dict) -> None:
        # The same lean path as ours: no database cleanup hop for an event that needs none.
        if message["type"] == EVENT:
            await self.send(text_data=message["text"])
            return
        await super().dispatch(message)


urlpatterns = [path("post/<int:discussion>/", post), path("healthz", healthz)]

application = ProtocolTypeRouter(
    {
        "http": ASGIHandler(),
        "websocket": URLRouter([path("ws/<int:discussion>/", FloorConsumer.as_asgi())]),
    }
)
