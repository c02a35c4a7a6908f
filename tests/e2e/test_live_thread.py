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


def test_residents_reply_agree_report_and_edit_and_others_see_it_live(browser, site):
    alice = open_page(browser, site)
    bob = open_page(browser, site)
    post_comment(alice, "Plant more trees on the embankment.", "Alice")
    theirs = bob.locator("li.comment", has_text="Plant more trees on the embankment.")
    theirs.wait_for()

    # Bob agrees: his button is pressed, and Alice's count follows live.
    theirs.get_by_role("button", name="Agree 0", exact=True).click()
    theirs.locator("button.reaction-agree[aria-pressed='true']").wait_for()
    alice.wait_for_function(
        "() => [...document.querySelectorAll('li.comment .reaction-agree .reaction-count')]"
        ".some(e => e.textContent === '1')"
    )

    # Bob replies: the form moves under the comment, focus goes to its text box.
    theirs.get_by_role("button", name="Reply").click()
    assert bob.evaluate("document.activeElement.id") == "comment-body"
    assert bob.inner_text("#comment-form h3") == "Reply to Alice"
    bob.fill("#comment-body", "Yes, native species please.")
    bob.fill("#comment-display-name", "Bob")
    bob.click("#comment-form button[type=submit]")
    reply = alice.locator("li.comment ol.replies li.comment", has_text="Yes, native species")
    reply.wait_for()

    # Bob reports Alice's comment with a reason.
    theirs.get_by_role("button", name="Report").first.click()
    theirs.locator("select[name=reason]").select_option("off_topic")
    theirs.get_by_role("button", name="Send report").click()
    theirs.locator(".report-thanks").wait_for()

    # Alice edits her comment; Bob sees the new text and the "edited" mark.
    mine = alice.locator("li.comment", has_text="Plant more trees on the embankment.").first
    mine.get_by_role("button", name="Edit").first.click()
    alice.fill("textarea[name=body][id^=edit-body-]", "Plant more trees on the whole embankment.")
    alice.get_by_role("button", name="Save").click()
    bob.locator("li.comment", has_text="Plant more trees on the whole embankment.").wait_for()
    assert bob.locator("li.comment .comment-edited").count() == 1

    # Newest first: Bob's order is kept, and a new comment waits behind a button.
    bob.get_by_role("button", name="Newest first").click()
    post_comment(alice, "A later thought.", "Alice")
    bob.locator(".thread-new:not([hidden])").wait_for()
    assert bob.inner_text(".thread-new") == "1 new comment"
    assert bob.locator("ol.thread > li.comment", has_text="A later thought.").count() == 0
    bob.click(".thread-new")
    first = bob.locator("ol.thread > li.comment").first
    assert "A later thought." in first.inner_text()
    assert alice.errors == [] and bob.errors == []
    assert site.outside == []
