"""Accessibility and small screens in a real browser: posting pinned feedback with the keyboard
only, the page at 360 px wide, and axe-core (vendored, run in the page) finding no serious or
critical WCAG 2.1 A/AA violation."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import AXE, open_page, screenshot

pytestmark = pytest.mark.browser


def tab_to(page, name: str, limit: int = 250) -> None:
    """Press Tab until the focused element's accessible text is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.getAttribute('aria-label') || e.textContent || '').trim(); }"
        )
        if text == name:
            return
    raise AssertionError(f"{name!r} is not reachable with the Tab key")


def serious_violations(page) -> list[str]:
    # Evaluated through the DevTools protocol rather than add_script_tag: the page's CSP (no
    # inline script) stays enforced while axe runs.
    page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}
            });
            return r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': '
                    + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }"""
    )
    return result


def test_a_keyboard_only_resident_pins_the_map_centre_and_posts(browser, site):
    page = open_page(browser, site)
    page.wait_for_selector(".feedback-map[data-feedback-ready]")
    page.focus(".skip-link")
    tab_to(page, "Pin the map centre")
    page.keyboard.press("Enter")
    page.wait_for_selector(".feedback-map[data-draft='Point']")
    tab_to(page, "Write your comment")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "comment-body"
    page.keyboard.type("Keyboard users need a crossing here.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "comment-category"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "comment-display-name"
    page.keyboard.type("Kim")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Post comment"
    page.keyboard.press("Enter")
    mine = page.locator("li.comment", has_text="Keyboard users need a crossing here.")
    mine.wait_for()
    assert "pinned on the map" in mine.inner_text()
    # Focus lands on the new comment, so the next Tab continues from there.
    assert page.evaluate("document.activeElement.id") == mine.get_attribute("id")
    assert page.errors == []
    assert site.outside == []


def test_the_page_reads_and_posts_on_a_360_px_phone(browser, site):
    page = open_page(
        browser, site, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page.wait_for_selector(".feedback-map[data-feedback-ready]")
    # Nothing wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Pin the map centre").tap()
    page.fill("#comment-body", "Works on my phone.")
    page.fill("#comment-display-name", "Pat")
    page.locator("#comment-form button[type=submit]").tap()
    page.locator("li.comment", has_text="Works on my phone.").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator(".feedback-map").scroll_into_view_if_needed()
    screenshot(page, "mobile-360")
    assert page.errors == []
    assert site.outside == []


def test_axe_finds_no_serious_violations_on_the_topic_page(browser, site):
    page = open_page(browser, site)
    page.wait_for_selector(".feedback-map[data-feedback-ready]")
    page.fill("#comment-body", "Checking accessibility with a comment on the page.")
    page.fill("#comment-display-name", "Axe")
    page.click("#comment-form button[type=submit]")
    page.locator("li.comment", has_text="Checking accessibility").wait_for()
    page.get_by_role("button", name="Report").first.click()  # an open report form too
    assert serious_violations(page) == []

    phone = open_page(browser, site, viewport={"width": 360, "height": 740}, is_mobile=True)
    phone.wait_for_selector(".feedback-map[data-feedback-ready]")
    phone.click("#comment-form button[type=submit]")  # the form with its inline errors
    phone.wait_for_selector("#body-error")
    assert serious_violations(phone) == []
    assert site.outside == []


def test_with_javascript_off_the_page_still_reads_and_posts(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site.page_url)
    assert page.locator("section#feedback-map ol.thread").count() == 1
    assert page.locator(".thread-tools").count() == 0  # nothing enhanced
    page.fill("#comment-body", "Posted without JavaScript.")
    page.fill("#comment-display-name", "Noscript")
    page.click("#comment-form button[type=submit]")
    page.locator("li.comment", has_text="Posted without JavaScript.").wait_for()
    context.close()
