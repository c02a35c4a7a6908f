"""Redis dies under an open page: the page says live updates are paused and still posts; when
Redis is back it goes live again and shows what it missed. A real browser, a real server, a
``redis-server`` of the test's own killed with SIGKILL and started again."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import require_service
from tests.e2e.conftest import open_page, screenshot, start_site
from tests.faults.client import post_comment as post_over_http
from tests.faults.conftest import LIVE_SETTINGS, PrivateRedis
from tests.live_server import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        require_service("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


def post_from_the_page(page, body: str) -> None:
    page.fill("#comment-body", body)
    if page.locator("#comment-display-name").count():
        page.fill("#comment-display-name", "Bob")
    page.click("#comment-form button[type=submit]")
    page.locator("ol.thread li.comment", has_text=body).wait_for()


def test_the_page_shows_paused_while_redis_is_down_and_catches_up_after(
    browser, prepared, tmp_path, redis
):
    overrides = {"REDIS_URL": redis.url, "DJANGO_SETTINGS_MODULE": LIVE_SETTINGS}
    with start_site(prepared, tmp_path, **overrides) as site:
        bob = open_page(browser, site)

        redis.kill()
        bob.wait_for_selector("section#feedback-map[data-live='paused']", timeout=20_000)
        assert bob.inner_text(".live-state").startswith("Live updates paused")
        screenshot(bob, "live-paused")
        post_from_the_page(bob, "Posted while live updates were paused.")
        status, _, _ = post_over_http(site.url, site.discussion, "Carol, while Bob was paused.")
        assert status == 201

        redis.start()
        bob.wait_for_selector("section#feedback-map[data-live='live']", timeout=30_000)
        bob.locator("li.comment", has_text="Carol, while Bob was paused.").wait_for()

        status, _, _ = post_over_http(site.url, site.discussion, "Dan, live again.")
        assert status == 201
        bob.locator("li.comment", has_text="Dan, live again.").wait_for()
        assert bob.locator("li.comment", has_text="Carol, while Bob was paused.").count() == 1
        assert bob.errors == []
        assert site.outside == []
