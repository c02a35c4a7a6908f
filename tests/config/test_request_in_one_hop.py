"""A request's sync work (``request_started``, the view, and for a complete response its
``close()`` with ``request_finished``) runs in one trip to the request's thread, and the
request still ends exactly once whether the answer is complete, streamed, or abandoned by a
client that left (``config.handler``)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core.signals import request_finished, request_started
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from config.asgi import django_asgi_app
from tests.engage.conftest import release_thread_connections  # noqa: F401 - shared fixture
from tests.landuse.test_tile_fast_path import call, http_scope

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("release_thread_connections"),
]

view_entered = threading.Event()
view_may_answer = threading.Event()
stream_closed = threading.Event()


def slow_view(request):
    view_entered.set()
    view_may_answer.wait(timeout=10)
    return HttpResponse("late")


def stream_view(request):
    async def chunks():
        try:
            for index in range(int(request.GET.get("n", "1000000"))):
                yield f"chunk {index}\n".encode()
                await asyncio.sleep(0)
        finally:
            stream_closed.set()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def plain_view(request):
    return HttpResponse("plain")


urlpatterns = [
    path("slow/", slow_view),
    path("stream/", stream_view),
    path("plain/", plain_view),
]


@pytest.fixture(autouse=True)
def these_views(settings):
    settings.ROOT_URLCONF = __name__
    for event in (view_entered, view_may_answer, stream_closed):
        event.clear()
    yield
    view_may_answer.set()  # a failed test must not leave a thread waiting


@pytest.fixture
def signals_seen():
    seen: list[tuple[str, int]] = []

    def started(**kwargs) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs) -> None:
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started, dispatch_uid="test-one-hop-started")
    request_finished.connect(finished, dispatch_uid="test-one-hop-finished")
    yield seen
    request_started.disconnect(dispatch_uid="test-one-hop-started")
    request_finished.disconnect(dispatch_uid="test-one-hop-finished")


async def test_request_started_view_and_request_finished_run_on_the_request_thread(
    signals_seen,
):
    status, _head, body = await call(django_asgi_app, "/plain/")
    assert (status, body) == (200, b"plain")
    assert [name for name, _ in signals_seen] == ["started", "finished"]
    threads = {thread for _, thread in signals_seen}
    assert len(threads) == 1
    assert threads != {threading.get_ident()}  # not the event loop's thread


async def test_a_complete_answer_takes_one_trip_to_the_request_thread(monkeypatch):
    trips: list[str] = []
    lend = django_asgi_app._threads.lend

    def counted_lend():
        executor = lend()
        submit = executor.submit

        def counted_submit(fn, *args, **kwargs):
            trips.append(getattr(fn, "__name__", repr(fn)))
            return submit(fn, *args, **kwargs)

        monkeypatch.setattr(executor, "submit", counted_submit)
        return executor

    monkeypatch.setattr(django_asgi_app._threads, "lend", counted_lend)
    status, _head, body = await call(django_asgi_app, "/plain/")
    assert (status, body) == (200, b"plain")
    # Django's own handler takes three: request_started, the view, response.close().
    assert len(trips) == 1, trips


async def test_streamed_response_ends_the_request_after_its_last_chunk(signals_seen):
    status, _head, body = await call(django_asgi_app, "/stream/?n=3")
    assert status == 200
    assert body == b"chunk 0\nchunk 1\nchunk 2\n"
    assert [name for name, _ in signals_seen] == ["started", "finished"]
    assert stream_closed.is_set()


async def _call_until_client_leaves(url: str, leave: asyncio.Event) -> list[dict]:
    """Call the app as a client that disconnects once ``leave`` is set; the messages sent."""
    requests = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        if requests:
            return requests.pop()
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if len(sent) == 4:  # the head and three chunks of a stream
            leave.set()

    await asyncio.wait_for(django_asgi_app(http_scope(url), receive, send), timeout=10)
    return sent


async def test_client_leaving_during_the_view_ends_the_request_once_after_the_view(
    signals_seen,
):
    leave = asyncio.Event()
    request = asyncio.create_task(_call_until_client_leaves("/slow/", leave))
    assert await asyncio.to_thread(view_entered.wait, 5)
    leave.set()
    await asyncio.sleep(0.1)
    assert not request.done()  # the request waits for its view before it ends
    view_may_answer.set()
    sent = await request
    assert sent == []  # nobody to answer
    assert [name for name, _ in signals_seen] == ["started", "finished"]


async def test_client_leaving_during_a_stream_stops_the_stream_and_ends_the_request_once(
    signals_seen,
):
    sent = await _call_until_client_leaves("/stream/", asyncio.Event())
    assert stream_closed.is_set()
    assert 4 <= len(sent) < 100  # the head, a few chunks, and no more once the client left
    assert sent[0]["status"] == 200
    assert [name for name, _ in signals_seen] == ["started", "finished"]
