"""Each request's sync code runs on a thread of its own while it lasts, and the threads are
reused by later requests rather than started anew for each (``config.handler``)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core.signals import request_started

from config.asgi import django_asgi_app
from tests.engage.conftest import release_thread_connections  # noqa: F401 - shared fixture
from tests.landuse.test_tile_fast_path import call

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("release_thread_connections"),
]


@pytest.fixture
def threads_seen():
    seen: list[int] = []

    def record(**kwargs) -> None:
        seen.append(threading.get_ident())

    request_started.connect(record, dispatch_uid="test-request-threads")
    yield seen
    request_started.disconnect(dispatch_uid="test-request-threads")


async def test_requests_one_after_another_reuse_one_thread(threads_seen):
    for _ in range(5):
        status, _head, _body = await call(django_asgi_app, "/healthz")
        assert status == 200
    assert len(threads_seen) == 5
    assert len(set(threads_seen)) == 1
    assert threads_seen[0] != threading.get_ident()  # not the event loop's thread


async def test_requests_at_the_same_time_run_on_threads_of_their_own():
    second_started = threading.Event()
    waited: list[bool] = []
    seen: list[int] = []

    def hold_the_first(**kwargs) -> None:
        seen.append(threading.get_ident())
        if len(seen) == 1:
            # On a shared thread the second request could not start until this one ended.
            waited.append(second_started.wait(timeout=5))
        else:
            second_started.set()

    request_started.connect(hold_the_first, dispatch_uid="test-hold-the-first")
    try:
        answers = await asyncio.gather(
            call(django_asgi_app, "/healthz"), call(django_asgi_app, "/healthz")
        )
    finally:
        request_started.disconnect(dispatch_uid="test-hold-the-first")
    assert [status for status, _head, _body in answers] == [200, 200]
    assert waited == [True]
    assert len(set(seen)) == 2
