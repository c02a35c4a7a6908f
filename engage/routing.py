"""WebSocket routes of the engagement app."""

from django.urls import path

from engage.consumers import DiscussionConsumer

websocket_urlpatterns: list = [
    path("ws/discussions/<int:discussion_id>/", DiscussionConsumer.as_asgi()),
]
