"""The live thread in a real browser: two residents on the same page see each other's comments
arrive without a reload, and nothing is fetched from outside the site."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_page, screenshot, start_site
from tests.live_server import free_port

pytestmark = pytest.mark.browser


def post_comment(page, body: str, name: str = "Resident") -> None:
    page.fill("#comment-body", body)
    if page.locator("#comment-display-name").count():
        page.fill("#comment-display-name", name)
    page.click("#comment-form button[type=submit]")
    page.locator("ol.thread li.comment", has_text=body).wait_for()


def test_two_residents_see_each_others_comments_live(browser, site):
    alice = open_page(browser, site)
    bob = open_page(browser, site)

    post_comment(alice, "The riverside path needs lighting.", "Alice")
    mine = alice.locator("ol.thread li.comment", has_text="The riverside path needs lighting.")
    mine.wait_for()
    bob.locator("ol.thread li.comment", has_text="The riverside path needs lighting.").wait_for()
    assert bob.locator("li.comment .comment-author", has_text="Alice").count() == 1
    assert bob.inner_text(".live-state") == "Live"

    post_comment(bob, "Agreed, and benches too.", "Bob")
    alice.locator("ol.thread li.comment", has_text="Agreed, and benches too.").wait_for()
    # Each comment once, however it arrived (own POST answer and the broadcast).
    assert alice.locator("li.comment", has_text="The riverside path needs lighting.").count() == 1
    assert bob.locator("li.comment", has_text="Agreed, and benches too.").count() == 1
    alice.wait_for_function(
        "() => document.querySelector('.thread-announcer').textContent.includes('Bob')"
    )
    screenshot(alice, "live-thread")
    assert alice.errors == [] and bob.errors == []
    assert site.outside == []


@pytest.mark.redis
def test_a_comment_hidden_by_a_moderator_vanishes_from_the_residents_page(
    browser, prepared, redis_url, tmp_path
):
    # The moderator acts in another process (as a second worker would), so the live server and
    # that process share the Redis channel layer.
    with start_site(prepared, tmp_path, REDIS_URL=redis_url) as site:
        alice = open_page(browser, site)
        bob = open_page(browser, site)
        post_comment(alice, "Buy cheap watches at example.test", "Spammer")
        post_comment(alice, "The ferry landing needs a ramp.", "Alice")
        spam = bob.locator("li.comment", has_text="Buy cheap watches")
        spam.wait_for()
        bob.locator("li.comment", has_text="The ferry landing").wait_for()

        site.shell("from tests.e2e.seed import hide; hide('Buy cheap watches at example.test')")
        spam.wait_for(state="detached")
        alice.locator("li.comment", has_text="Buy cheap watches").wait_for(state="detached")
        assert bob.locator("li.comment", has_text="The ferry landing").count() == 1
        # A reload shows what the server renders: the comment is gone there too.
        bob.reload()
        bob.wait_for_selector("section#feedback-map[data-live='live']")
        assert bob.locator("li.comment", has_text="Buy cheap watches").count() == 0
        assert alice.errors == [] and bob.errors == []
        assert site.outside == []


def test_after_the_server_goes_away_the_page_reconnects_and_backfills(browser, prepared, tmp_path):
    port = free_port()
    with start_site(prepared, tmp_path, port=port) as site:
        bob = open_page(browser, site)
        post_comment(bob, "Before the restart.", "Bob")
        post_comment(bob, "Also before.", "Bob")
    # The server process is gone: the page says so and keeps trying.
    bob.wait_for_selector("section#feedback-map[data-live='reconnecting']")
    assert bob.inner_text(".live-state") == "Reconnecting…"
    screenshot(bob, "reconnecting")

    # While it is away: two new comments and a moderator hiding one it shows.
    site.shell(
        "from tests.e2e.seed import post, hide; "
        f"post({site.discussion}, 'Missed while Bob was away.', 'Carol'); "
        f"post({site.discussion}, 'Also missed.', 'Dan'); "
        "hide('Before the restart.')"
    )
    with start_site(prepared, tmp_path, port=port, keep_database=True) as site:
        bob.wait_for_selector("section#feedback-map[data-live='live']", timeout=40_000)
        bob.locator("li.comment", has_text="Missed while Bob was away.").wait_for()
        bob.locator("li.comment", has_text="Also missed.").wait_for()
        # ?changed_since= told it about the hide it missed.
        bob.locator("li.comment", has_text="Before the restart.").wait_for(state="detached")
        assert bob.locator("li.comment", has_text="Also missed.").count() == 1
        assert bob.locator("li.comment", has_text="Also before.").count() == 1
        assert bob.errors == []
        assert site.outside == []
