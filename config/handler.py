"""Django's ASGI handler with the middleware chain and the view run in one thread hop.

Django's stock ``ASGIHandler`` loads the chain in async mode: every change between a sync-only
middleware (ours, and the view) and an async-capable one (Django's own run their hooks through
``sync_to_async`` in async mode; servestatic's is async-only) is a thread hop, about nine per
request here. Our views are sync, so this handler loads the chain in sync mode and runs chain
and view in one ``sync_to_async`` call, as WSGI would in its worker thread. Static files keep
the stock handler (``config.asgi``): servestatic serves them from async code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase

STATIC_FILES_MIDDLEWARE = "servestatic.middleware.ServeStaticMiddleware"


@contextlib.contextmanager
def _middleware_without(path: str) -> Iterator[None]:
    # BaseHandler.load_middleware reads settings.MIDDLEWARE; this runs once, at start-up.
    chain = settings.MIDDLEWARE
    settings.MIDDLEWARE = [m for m in chain if m != path]
    try:
        yield
    finally:
        settings.MIDDLEWARE = chain


class SyncChainASGIHandler(ASGIHandler):
    """Every request but static files: ``settings.MIDDLEWARE`` without the static files
    middleware, in sync mode, and the view, in one hop to Django's thread-sensitive thread."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        with _middleware_without(STATIC_FILES_MIDDLEWARE):
            self.load_middleware(is_async=False)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response
