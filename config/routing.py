"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from django.urls import path

from config.consumers import HealthConsumer
from engage.routing import websocket_urlpatterns as engage_routes

websocket_urlpatterns = [
    path("ws/healthz/", HealthConsumer.as_asgi()),
    *engage_routes,
]
