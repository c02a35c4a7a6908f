"""``/map/``: a server-rendered page with the civic-map contract and no inline script."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from landuse.models import Layer

pytestmark = pytest.mark.django_db


@pytest.fixture
def layers():
    Layer.objects.create(slug="zoning", title="Zoning", kind="zoning", display_order=1)
    Layer.objects.create(slug="future-land-use", title="Future <land> use", display_order=2)


def map_div(html: str) -> str:
    [div] = re.findall(r'<div class="civic-map"[^>]*>', html)
    return div


def test_the_map_page_renders_the_civic_map_contract(client, layers):
    response = client.get("/map/")
    assert response.status_code == 200
    html = response.content.decode()
    div = map_div(html)
    assert 'data-layers="zoning,future-land-use"' in div
    assert re.search(r'data-center="-?\d+\.\d+,-?\d+\.\d+"', div)
    assert 'data-zoom="12"' in div
    assert "data-basemap-url" not in div
    # Titles are escaped, scripts are files: nothing inline for a CSP to forbid.
    assert "Future &lt;land&gt; use" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "/static/leaflet/leaflet.js" in html
    assert "/static/frontend/js/dom.js" in html
    assert html.index("frontend/js/dom.js") < html.index("frontend/js/layers.js")


def test_the_base_map_url_is_passed_only_when_configured(client, layers, settings):
    settings.BASEMAP_TILE_URL = "https://tiles.city.example/{z}/{x}/{y}.png"
    div = map_div(client.get("/map/").content.decode())
    assert 'data-basemap-url="https://tiles.city.example/{z}/{x}/{y}.png"' in div


def test_the_scripts_and_styles_the_page_needs_are_our_own_static_files():
    for path in (
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "frontend/js/dom.js",
        "frontend/js/layers.js",
        "frontend/css/map.css",
    ):
        assert finders.find(path), path


def test_the_map_script_builds_popups_from_text_never_html():
    for path in ("frontend/js/layers.js", "frontend/js/dom.js"):
        script = open(finders.find(path)).read()
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script, path
    assert "textContent" in open(finders.find("frontend/js/dom.js")).read()
