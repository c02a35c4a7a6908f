"""The land-use map in a real browser: layers drawn from the API, legend, click lookup, and not
one request leaving the site (no base map configured)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import require_service
from tests.live_server import live_server, manage, server_env

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def served(tmp_path_factory, prepared_databases):
    if not shutil.which(CHROMIUM):
        require_service("Debian's chromium is not installed")
    folder = tmp_path_factory.mktemp("map")
    env = server_env(
        DATABASE_URL=f"spatialite:///{folder}/db.sqlite3",
        STATIC_ROOT=str(folder / "static"),
        REDIS_URL="",
        DEBUG="0",
        BASEMAP_TILE_URL="",
    )
    prepared_databases.copy_to(folder / "db.sqlite3", demo=True)
    manage("collectstatic", "--no-input", env=env)
    with live_server(env) as server:
        yield server


def test_the_map_shows_layers_legend_and_a_lookup_popup(served, browser):
    # ``browser``: the session's chromium (tests/e2e/conftest.py); one Playwright per process.
    outside: list[str] = []
    page = browser.new_page()
    page.on(
        "request",
        lambda request: None if request.url.startswith(served.url) else outside.append(request.url),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served.url + "/map/")
    page.wait_for_selector(".civic-map__layers")
    panel = page.inner_text(".civic-map__panel")
    assert "Zoning" in panel and "U-SU-C" in panel
    page.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".some(e => e.name.includes('features.geojson'))"
    )
    canvas = page.locator(".civic-map__canvas")
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.wait_for_selector(".civic-map__lookup")
    assert "Zoning" in popup.inner_text()
    page.close()
    assert errors == []
    assert outside == []


def test_a_layer_toggled_off_leaves_the_map_and_its_legend_and_comes_back(served, browser):
    page = browser.new_page()
    page.goto(served.url + "/map/")
    zoning = page.get_by_label("Zoning", exact=True)
    zoning.wait_for()
    # Function forms only: the page's CSP forbids eval of a bare expression.
    # The map draws on a canvas (preferCanvas), so count the features Leaflet holds.
    paths = (
        "(() => { let n = 0; document.querySelector('div.civic-map').civicMap"
        ".eachLayer(layer => { if (layer.feature) n += 1; }); return n; })()"
    )
    page.wait_for_function(f"() => {paths} > 0")
    with_zoning = page.evaluate(f"() => {paths}")
    legend = page.locator(".civic-map__layer", has=zoning).locator(".civic-map__legend")

    zoning.uncheck()
    page.wait_for_function(f"() => {paths} < {with_zoning}")
    assert legend.is_hidden()

    zoning.check()
    page.wait_for_function(f"() => {paths} >= {with_zoning}")
    assert legend.is_visible()
    page.close()
