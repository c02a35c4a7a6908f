"""The live thread in a real browser: two residents on the same page see each other's comments
arrive without a reload, and nothing is fetched from outside the site."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_page, screenshot

pytestmark = pytest.mark.browser


def post_comment(page, body: str, name: str = "Resident") -> None:
    page.fill("#comment-body", body)
    if page.locator("#comment-display-name").count():
        page.fill("#comment-display-name", name)
    page.click("#comment-form button[type=submit]")


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
