"""Shared fixtures and the rules for tests that need a service.

- ``@pytest.mark.postgis`` tests are deselected (not skipped) when the suite runs on SpatiaLite.
- ``@pytest.mark.redis`` tests take ``TEST_REDIS_URL`` (or ``REDIS_URL``). Without a reachable
  Redis they skip on a laptop and *fail* when ``CI`` is set: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import types

import pytest
from django.conf import settings

from tests.live_server import PreparedDatabases

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def restore_what_migrations_made_after_transactional_tests(item: pytest.Item) -> None:
    """Every transactional test rolls back by serialisation. A transactional test ends with a
    flush that also wipes what migrations made (Wagtail's root page and default site, the
    workflow); with serialised rollback the next test gets it back. Mixed, they break each
    other: a plain flush re-creates content types through post_migrate, and the next
    serialised restore then collides with them, so the choice is made once, here, for all."""
    marker = item.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    if marker.kwargs.get("serialized_rollback"):
        return
    item.add_marker(
        pytest.mark.django_db(*marker.args, **{**marker.kwargs, "serialized_rollback": True}),
        append=False,
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    # Browser tests go last: Playwright's sync API keeps an event loop running in the main
    # thread for the rest of the session, and asyncio.run() refuses to start beside it.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    for item in items:
        restore_what_migrations_made_after_transactional_tests(item)
    # Tests of one backend's own path are deselected on the other, not skipped: in CI a skip
    # would read as a service that was missing.
    other = "spatialite" if settings.DATABASE_IS_POSTGIS else "postgis"
    kept, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker(other) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def require_service(reason: str) -> None:
    """Skip on a laptop, fail in CI."""
    if IN_CI:
        pytest.fail(f"CI requires this service: {reason}", pytrace=False)
    pytest.skip(reason)


def configured_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ""


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = configured_redis_url()
    if not url:
        require_service("no Redis configured: set TEST_REDIS_URL or REDIS_URL")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require_service(f"Redis at {url} is unreachable: {exc}")
    return url


@pytest.fixture(scope="session")
def prepared_databases(tmp_path_factory) -> PreparedDatabases:
    """Migrated SpatiaLite files, made on first use, for tests that start the real server."""
    return PreparedDatabases(tmp_path_factory.mktemp("prepared-databases"))


@pytest.fixture
def rate_limit_clock_held(monkeypatch):
    """The clock the rate limits read (``engage.services.time``) stands still in the middle
    of a window. The limits count in fixed windows: a test whose requests straddled a window's
    end would see the count start again (it did, in CI, more than once)."""
    middle = 1_800_000_000 + 30.0  # a multiple of 60, then half a window
    monkeypatch.setattr("engage.services.time", types.SimpleNamespace(time=lambda: middle))
