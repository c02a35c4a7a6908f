"""Django's ASGI handler with the request's sync work run in one thread hop.

Django's stock ``ASGIHandler`` loads the chain in async mode: every change between a sync-only
middleware (ours, and the view) and an async-capable one (Django's own run their hooks through
``sync_to_async`` in async mode; servestatic's is async-only) is a thread hop, about nine per
request here. Our views are sync, so this handler loads the chain in sync mode and runs chain
and view in one ``sync_to_async`` call, as WSGI would in its worker thread. Static files keep
the stock handler (``config.asgi``): servestatic serves them from async code.

Django's ``handle`` then still made two hops more per request: ``request_started`` and
``request_finished`` (sent by ``response.close()``) each ran their sync receivers through a
``sync_to_async`` of their own. Here they go in the same hop as the view: a complete
response is closed on the request's thread before its bytes are sent (it holds nothing that
sending needs; the database connection goes back sooner), a streamed one after its last chunk,
as Django does. CPU per sequential comment POST in process (``bench/post_cpu.py``, three
rounds of 1,500): 4.05-4.95 ms with three hops, 3.24-3.67 ms with one. A client that leaves
before the answer still cancels it, as in Django (a streamed export stops).

Each request still has a thread of its own while it runs (Django's ``ThreadSensitiveContext``),
but from a set of kept threads rather than a new one per request (``_RequestThreads``): CPU
per sequential comment POST in process 4.96 → 4.16 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

STATIC_FILES_MIDDLEWARE = "servestatic.middleware.ServeStaticMiddleware"
# Idle request threads kept for the next requests; more may run at once, the rest then end.
IDLE_THREADS_KEPT = 32


@contextlib.contextmanager
def _middleware_without(path: str) -> Iterator[None]:
    # BaseHandler.load_middleware reads settings.MIDDLEWARE; this runs once, at start-up.
    chain = settings.MIDDLEWARE
    settings.MIDDLEWARE = [m for m in chain if m != path]
    try:
        yield
    finally:
        settings.MIDDLEWARE = chain


class _RequestThreads:
    """Single-thread executors lent to one request at a time and then reused.

    Django gives each request a ``ThreadSensitiveContext`` of its own, so its sync code (view,
    middleware, streamed export batches) runs on one thread of its own while other requests
    run on theirs; asgiref makes that thread for the request and, at its end, a second thread
    to join it. Lending a kept thread instead keeps the isolation without the two thread
    starts per request. Used from the event loop's thread only."""

    def __init__(self, keep: int) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._keep = keep

    def lend(self) -> ThreadPoolExecutor:
        if self._idle:
            return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        # Work still queued on it (a view that outlived a cancelled request) runs before the
        # next borrower's: one thread, one call at a time, as the context requires.
        if len(self._idle) < self._keep:
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)


class SyncChainASGIHandler(ASGIHandler):
    """Every request but static files: ``settings.MIDDLEWARE`` without the static files
    middleware, in sync mode, and the view, in one hop to Django's thread-sensitive thread."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        with _middleware_without(STATIC_FILES_MIDDLEWARE):
            self.load_middleware(is_async=False)
        self._threads = _RequestThreads(IDLE_THREADS_KEPT)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves only HTTP here, not {scope['type']}.")
        executor = self._threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._threads.give_back(executor)

    async def handle(self, scope, receive, send) -> None:
        """Django's ``ASGIHandler.handle`` with one thread hop instead of three."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        ended = _Ended()

        async def process_request() -> HttpResponseBase:
            response = await sync_to_async(self._respond, thread_sensitive=True)(
                scope, body_file, ended
            )
            with contextlib.suppress(asyncio.CancelledError):  # the client left while sending
                await self.send_response(response, send)
            return response

        # As Django: the disconnect listener goes first, so that its end cancels the request.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request()),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            # The client left before the answer. The view may still be running on the
            # request's thread; this queues behind it there and ends the request unless the
            # view's response already did.
            await sync_to_async(ended.end_once, thread_sensitive=True)(self.__class__)
        else:
            if response.streaming:  # its last chunk is sent: close it, as Django does
                await sync_to_async(response.close, thread_sensitive=True)()
        body_file.close()

    def _respond(self, scope, body_file, ended: _Ended) -> HttpResponseBase:
        """On the request's thread: ``request_started``, the request, chain and view, and for
        a complete response its ``close()`` (``request_finished``)."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = error_response if request is None else self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            ended.done = True
            response.close()
        return response


class _Ended:
    """Whether a request's ``request_finished`` went out (through its response's close)."""

    done = False

    def end_once(self, sender: type) -> None:
        if not self.done:
            self.done = True
            signals.request_finished.send(sender=sender)
