"""One ASGI application for HTTP and WebSocket: ``config.asgi:application``."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.env import ConfigError  # noqa: E402

try:
    from django.core.asgi import get_asgi_application

    # Static files: the stock handler, whose chain includes servestatic's async middleware.
    django_static_app = get_asgi_application()
    from config.handler import SyncChainASGIHandler

    # Everything else: the same chain in sync mode, one thread hop (config/handler.py).
    django_asgi_app = SyncChainASGIHandler()
except ConfigError as exc:
    raise SystemExit(f"configuration error: {exc}") from None

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from landuse.fastpath import LandUseFastPath  # noqa: E402


async def django_http(scope, receive, send) -> None:
    if scope["path"].startswith(settings.STATIC_URL):
        await django_static_app(scope, receive, send)
    else:
        await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        # Tiles and the point lookup skip Django's request path (see landuse/fastpath.py).
        "http": LandUseFastPath(django_http),
        # No session or user on sockets: both consumers serve the public and read neither, and
        # Channels' session middleware wraps every message sent (about a tenth of a worker's
        # CPU in a 1000-socket fan-out). The origin check stays on every socket.
        "websocket": OriginValidator(
            URLRouter(websocket_urlpatterns), settings.WEBSOCKET_ALLOWED_ORIGINS
        ),
    }
)
