"""Feedback on the map in a real browser: pinning (the keyboard way: the map centre), drawing a
line and an area with Leaflet.draw, the new pin appearing here and live on another resident's
page, and the API's validation errors shown next to their fields."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import open_page, screenshot

pytestmark = pytest.mark.browser


def pin_count(page) -> int:
    return int(page.get_attribute(".feedback-map", "data-feedback-pins") or 0)


def wait_for_pins(page, count: int) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('.feedback-map')"
        ".getAttribute('data-feedback-pins')) === n",
        arg=count,
    )


def canvas_centre(page) -> tuple[float, float]:
    canvas = page.locator(".feedback-map .civic-map__canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def click_map(page, x: float, y: float) -> None:
    """Click like a hand does: move there first (Leaflet.draw follows the pointer with an
    invisible marker that takes the click) and pause before the next vertex, as it ignores
    clicks within 50 ms of the last."""
    page.mouse.move(x - 5, y)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_timeout(300)


def wait_for_vertices(page, count: int) -> None:
    """Leaflet.draw shows a marker per placed vertex; on a busy machine a click can be slow."""
    page.wait_for_function(
        f"() => document.querySelectorAll('.leaflet-editing-icon').length >= {count}"
    )


def test_a_pin_at_the_map_centre_appears_here_and_live_on_another_page(browser, site):
    alice = open_page(browser, site)
    bob = open_page(browser, site)
    for page in (alice, bob):
        page.wait_for_selector(".feedback-map[data-feedback-ready]")
    before = pin_count(alice)

    alice.get_by_role("button", name="Pin the map centre").click()
    assert "map centre" in alice.inner_text(".feedback-tools__status")
    geometry = json.loads(alice.input_value("input[name=geometry]"))
    assert geometry["type"] == "Point"
    alice.select_option("#comment-category", "idea")
    alice.fill("#comment-body", "A footbridge right here, please.")
    alice.fill("#comment-display-name", "Alice")
    alice.click("#comment-form button[type=submit]")

    alice.locator("li.comment", has_text="A footbridge right here").wait_for()
    wait_for_pins(alice, before + 1)
    wait_for_pins(bob, before + 1)
    bob.locator("li.comment", has_text="A footbridge right here").wait_for()
    assert alice.input_value("input[name=geometry]") == ""
    # The popup is built from DOM nodes and names the author.
    bob.locator(".leaflet-marker-icon.feedback-pin[title*='Alice']").first.click()
    bob.wait_for_selector(".feedback-popup")
    assert "A footbridge right here" in bob.inner_text(".feedback-popup")
    bob.wait_for_timeout(400)  # the popup fades in
    screenshot(bob, "feedback-pin-popup")
    assert alice.errors == [] and bob.errors == []
    assert site.outside == []


def test_a_resident_draws_a_line_and_an_area_with_the_mouse(browser, site):
    page = open_page(browser, site)
    page.wait_for_selector(".feedback-map[data-feedback-ready]")
    before = pin_count(page)

    page.get_by_role("button", name="Draw a line").click()
    page.wait_for_selector(".feedback-map[data-drawing='line']")
    cx, cy = canvas_centre(page)
    click_map(page, cx - 60, cy - 20)
    click_map(page, cx + 40, cy + 30)
    wait_for_vertices(page, 2)
    page.get_by_role("button", name="Finish shape").click()
    page.wait_for_selector(".feedback-map[data-draft='LineString']")
    line = json.loads(page.input_value("input[name=geometry]"))
    assert line["type"] == "LineString" and len(line["coordinates"]) == 2
    page.fill("#comment-body", "Cycle lane along this street.")
    page.fill("#comment-display-name", "Drew")
    page.click("#comment-form button[type=submit]")
    page.locator("li.comment", has_text="Cycle lane along this street.").wait_for()
    wait_for_pins(page, before + 1)

    page.get_by_role("button", name="Draw an area").click()
    page.wait_for_selector(".feedback-map[data-drawing='area']")
    cx, cy = canvas_centre(page)
    for dx, dy in ((-50, -40), (50, -40), (40, 40)):
        click_map(page, cx + dx, cy + dy)
    wait_for_vertices(page, 3)
    page.get_by_role("button", name="Finish shape").click()
    page.wait_for_selector(".feedback-map[data-draft='Polygon']")
    area = json.loads(page.input_value("input[name=geometry]"))
    assert area["coordinates"][0][0] == area["coordinates"][0][-1]
    page.select_option("#comment-category", "concern")
    page.fill("#comment-body", "This block floods every spring.")
    page.click("#comment-form button[type=submit]")
    page.locator("li.comment", has_text="This block floods every spring.").wait_for()
    wait_for_pins(page, before + 2)
    canvas_centre(page)  # scrolls the map into view for the picture
    screenshot(page, "feedback-drawn-area")
    assert page.errors == []
    assert site.outside == []


def test_validation_errors_from_the_api_are_shown_next_to_their_fields(browser, site):
    page = open_page(browser, site)
    page.fill("#comment-body", "")
    page.fill("#comment-display-name", "")
    page.click("#comment-form button[type=submit]")
    page.wait_for_selector("#body-error")
    assert page.get_attribute("#comment-body", "aria-invalid") == "true"
    assert page.get_attribute("#comment-body", "aria-describedby") == "body-error"
    assert page.locator("#display-name-error").count() == 1
    # Focus goes to the first field in error, so a keyboard user lands where to fix it.
    assert page.evaluate("document.activeElement.id") == "comment-body"
    screenshot(page, "validation-errors")

    # A pin outside the plan area is refused with a geometry error shown by the map tools.
    page.evaluate(
        "document.querySelector('input[name=geometry]').value = "
        "JSON.stringify({type: 'Point', coordinates: [2.35, 48.85]})"
    )
    page.fill("#comment-body", "Somewhere far away.")
    page.fill("#comment-display-name", "Far")
    page.click("#comment-form button[type=submit]")
    page.wait_for_selector("#geometry-error")
    assert page.inner_text(".feedback-tools__status") == page.inner_text("#geometry-error")
    assert page.locator("#body-error").count() == 0
    assert page.locator("li.comment", has_text="Somewhere far away.").count() == 0
    assert page.errors == []
