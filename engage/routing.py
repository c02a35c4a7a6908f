"""WebSocket routes of the engagement app."""

websocket_urlpatterns: list = []
