"""The map editor in Wagtail's page editor, in a real browser: a map block inserted after the
page loaded gets its map; clicking it sets the centre, zooming it sets the zoom, drawing sets
the plan area; the saved revision holds exactly those values."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import screenshot
from tests.e2e.test_feedback_map import click_map, wait_for_vertices

pytestmark = pytest.mark.browser

ADMIN = ("admin", "plan-together-demo")


def page_id(site) -> int:
    code = (
        "from cms.models import PlanningTopicPage; "
        "print(PlanningTopicPage.objects.get(slug='e2e-riverside').pk)"
    )
    return int(site.shell(code).strip().splitlines()[-1])


def latest_body(site, pk: int) -> list[dict]:
    code = (
        "import json; from cms.models import PlanningTopicPage; "
        f"page = PlanningTopicPage.objects.get(pk={pk}); "
        "print(json.dumps(page.latest_revision.content['body']))"
    )
    body = json.loads(site.shell(code).strip().splitlines()[-1])
    return json.loads(body) if isinstance(body, str) else body


def sign_in(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(site.url) or request.url.startswith("data:")
            else site.outside.append(request.url)
        ),
    )
    page.goto(site.url + "/admin/login/")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/admin/")
    return page


def map_point(page, editor, fx: float, fy: float) -> tuple[float, float]:
    # Whole pixels: a click lands on one, and the expected centre is computed for it.
    box = editor.locator(".civic-map-editor__map").bounding_box()
    return round(box["x"] + box["width"] * fx), round(box["y"] + box["height"] * fy)


def test_a_new_map_block_takes_its_centre_zoom_and_plan_area_from_the_map(browser, site):
    pk = page_id(site)
    page = sign_in(browser, site)
    page.goto(f"{site.url}/admin/pages/{pk}/edit/")

    # Insert a map block into the (empty) body: it is rendered after the page has loaded.
    page.locator("#panel-child-content-body-content button[title='Insert a block']").first.click()
    page.get_by_role("option", name="Map").click()
    editor = page.locator("[data-controller~='civic-map-editor'][data-latitude-field]").first
    editor.wait_for()
    page.wait_for_function(
        "() => document.querySelector('.civic-map-editor[data-latitude-field]')"
        ".hasAttribute('data-map-editor-ready')"
    )
    page.wait_for_function(
        "() => document.querySelector('.civic-map-editor[data-latitude-field]')"
        ".getAttribute('data-backdrop') === 'loaded'"
    )

    # A layer is required: choose one in the snippet chooser.
    page.get_by_role("button", name="Choose Layer").first.click()
    page.locator(".modal-dialog a", has_text="Zoning").first.click()
    page.wait_for_selector(".modal-dialog", state="detached")

    editor.scroll_into_view_if_needed()
    # Zoom in once with the map's + button: the block's zoom follows the map.
    start_zoom = page.evaluate(
        "() => document.querySelector('.civic-map-editor[data-latitude-field] "
        ".civic-map-editor__map').civicMap.getZoom()"
    )
    editor.locator(".leaflet-control-zoom-in").click()
    zoom_input = page.locator("input[name$='-value-zoom']").first
    page.wait_for_function(
        "z => document.querySelector(\"input[name$='-value-zoom']\").value === String(z)",
        arg=start_zoom + 1,
    )

    # Click the map: that point becomes the centre.
    x, y = map_point(page, editor, 0.3, 0.4)
    page.mouse.click(x, y)
    lat_input = page.locator("input[name$='-value-centre_latitude']").first
    lon_input = page.locator("input[name$='-value-centre_longitude']").first
    page.wait_for_function(
        "() => document.querySelector(\"input[name$='-value-centre_latitude']\").value !== ''"
    )
    expected = [lat_input.input_value(), lon_input.input_value()]
    # Where the map puts the stored centre, in page pixels: under the pointer (within two
    # pixels: the layout is sub-pixel, a click lands on a whole one).
    where = page.evaluate(
        "([lat, lon]) => { const map = document.querySelector('.civic-map-editor"
        "[data-latitude-field] .civic-map-editor__map').civicMap;"
        " const box = map.getContainer().getBoundingClientRect();"
        " const point = map.latLngToContainerPoint([Number(lat), Number(lon)]);"
        " return [point.x + box.left + map.getContainer().clientLeft,"
        " point.y + box.top + map.getContainer().clientTop]; }",
        expected,
    )
    assert abs(where[0] - x) <= 2 and abs(where[1] - y) <= 2, (where, (x, y))
    # The map shows it.
    assert "Centre set to" in editor.locator(".civic-map-editor__status").inner_text()

    # Draw a triangle for the plan area.
    editor.get_by_role("button", name="Draw the plan area").click()
    # As a hand does: the pointer comes onto the map before the first corner is placed
    # (Leaflet.draw places corners under a marker that follows the pointer).
    page.mouse.move(*map_point(page, editor, 0.5, 0.5))
    page.wait_for_timeout(300)
    corners = [(0.2, 0.2), (0.7, 0.25), (0.5, 0.75)]
    for index, (fx, fy) in enumerate(corners, start=1):
        click_map(page, *map_point(page, editor, fx, fy))
        wait_for_vertices(page, index)
    finish = editor.get_by_role("button", name="Finish the area")
    finish.wait_for(state="visible")
    finish.click()
    plan_area = editor.locator("textarea[name$='-value-plan_area']")
    try:
        page.wait_for_function(
            "el => el.value !== ''", arg=plan_area.element_handle(), timeout=15_000
        )
    except PlaywrightTimeoutError:
        screenshot(page, "map-editor-not-finished")
        vertices = editor.locator(".leaflet-editing-icon").count()
        status = editor.locator(".civic-map-editor__status").inner_text()
        raise AssertionError(
            f"no plan area after Finish: {vertices} vertices, status {status!r}, "
            f"page errors {page.errors}"
        ) from None
    drawn = json.loads(plan_area.input_value())
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 4
    # Drawing did not move the centre.
    assert [lat_input.input_value(), lon_input.input_value()] == expected
    screenshot(page, "map-editor")

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state("load")
    page.wait_for_selector(".messages .success, .w-message--success, [role=status]")

    body = latest_body(site, pk)
    blocks = [block for block in body if block["type"] == "map"]
    assert len(blocks) == 1
    value = blocks[0]["value"]
    assert [
        f"{float(value['centre_latitude']):.6f}",
        f"{float(value['centre_longitude']):.6f}",
    ] == (expected)
    assert int(value["zoom"]) == start_zoom + 1
    stored = json.loads(value["plan_area"])
    assert stored == drawn
    assert zoom_input is not None
    assert page.errors == []
    assert site.outside == []


def latest_plan_area(site, pk: int) -> str:
    code = (
        "from cms.models import PlanningTopicPage; "
        f"page = PlanningTopicPage.objects.get(pk={pk}); "
        "print(page.latest_revision.content['plan_area'])"
    )
    return site.shell(code).strip().splitlines()[-1]


def test_the_page_plan_area_is_drawn_on_its_own_map_and_saved(browser, site):
    pk = page_id(site)
    page = sign_in(browser, site)
    page.goto(f"{site.url}/admin/pages/{pk}/edit/")
    # The page's own field is rendered on the server (not by StreamField); it shows the stored
    # area and only draws (no centre or zoom of its own).
    editor = page.locator(".civic-map-editor[data-field='plan_area']:not([data-latitude-field])")
    editor.wait_for()
    page.wait_for_function(
        "() => document.querySelector('.civic-map-editor:not([data-latitude-field])')"
        ".hasAttribute('data-map-editor-ready')"
    )
    assert editor.locator("button", has_text="Use the map").count() == 0
    editor.scroll_into_view_if_needed()
    # The view is fitted to the stored area (the seed's rectangle).
    assert page.evaluate(
        "() => document.querySelector('.civic-map-editor:not([data-latitude-field]) "
        ".civic-map-editor__map').civicMap.getBounds()"
        ".contains([[39.61, -105.11], [39.91, -104.60]])"
    )
    before = latest_plan_area(site, pk)

    editor.get_by_role("button", name="Draw the plan area").click()
    # As a hand does: the pointer comes onto the map before the first corner is placed
    # (Leaflet.draw places corners under a marker that follows the pointer).
    page.mouse.move(*map_point(page, editor, 0.5, 0.5))
    page.wait_for_timeout(300)
    corners = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)]
    for index, (fx, fy) in enumerate(corners, start=1):
        click_map(page, *map_point(page, editor, fx, fy))
        wait_for_vertices(page, index)
    editor.get_by_role("button", name="Finish the area").click()
    textarea = editor.locator("textarea[name='plan_area']")
    page.wait_for_function(
        "old => document.querySelector(\"textarea[name='plan_area']\").value !== old",
        arg=before,
    )
    drawn = json.loads(textarea.input_value())
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 5

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => !!document.querySelector(\".civic-map-editor[data-field='plan_area']\")"
    )
    assert json.loads(latest_plan_area(site, pk)) == drawn
    assert page.errors == []
    assert site.outside == []


def test_without_a_mouse_the_map_view_becomes_the_centre_and_zoom_and_typed_numbers_move_it(
    browser, site
):
    pk = page_id(site)
    page = sign_in(browser, site)
    page.goto(f"{site.url}/admin/pages/{pk}/edit/")
    page.locator("#panel-child-content-body-content button[title='Insert a block']").first.click()
    page.get_by_role("option", name="Map").click()
    selector = ".civic-map-editor[data-latitude-field]"
    page.wait_for_function(
        f"() => document.querySelector('{selector}')?.getAttribute('data-backdrop') === 'loaded'"
    )
    view = (
        f"() => {{ const map = document.querySelector('{selector} .civic-map-editor__map')"
        ".civicMap; const c = map.getCenter();"
        " return [c.lat.toFixed(6), c.lng.toFixed(6), String(map.getZoom())]; }"
    )
    # Pan and zoom with the keyboard (Leaflet's own keys), then take the map's view.
    page.focus(f"{selector} .civic-map-editor__map")
    for key in ("ArrowRight", "ArrowRight", "ArrowUp", "+"):
        page.keyboard.press(key)
        page.wait_for_timeout(400)
    page.locator(selector).get_by_role("button", name="Use the map's centre and zoom").click()
    lat = page.locator("input[name$='-value-centre_latitude']").first
    lon = page.locator("input[name$='-value-centre_longitude']").first
    zoom = page.locator("input[name$='-value-zoom']").first
    assert [lat.input_value(), lon.input_value(), zoom.input_value()] == page.evaluate(view)
    assert (
        "Centre and zoom set" in page.locator(f"{selector} .civic-map-editor__status").inner_text()
    )

    # Typing numbers moves the map there.
    lat.fill("39.700000")
    lon.fill("-105.000000")
    zoom.fill("14")
    zoom.press("Tab")
    page.wait_for_function(f"() => ({view})()[2] === '14'")
    assert page.evaluate(view) == ["39.700000", "-105.000000", "14"]
    assert page.errors == []
    assert site.outside == []
