"""The map editor widget of the page editor: CSP-compatible markup (no inline script), its
static files on the editor page, the map block's centre and zoom fields named for the script,
and the plan area it writes still validated by the server."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from cms.blocks import MapBlock, PlanAreaBlock
from cms.widgets import MapEditorWidget
from tests.cms.conftest import SQUARE

pytestmark = pytest.mark.django_db


def test_the_widget_is_markup_for_the_stimulus_controller_without_inline_script():
    html = MapEditorWidget().render("plan_area", json.dumps(SQUARE), attrs={"id": "id_plan_area"})
    assert 'data-controller="civic-map-editor"' in html
    assert 'data-field="plan_area"' in html
    assert "<script" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert '<textarea name="plan_area"' in html


def test_the_page_plan_area_editor_draws_only_the_area():
    html = MapEditorWidget().render("plan_area", "", attrs={"id": "id_plan_area"})
    assert "data-latitude-field" not in html
    assert "Use the map" not in html


def test_the_map_block_editor_names_its_centre_and_zoom_fields():
    widget = MapBlock().child_blocks["plan_area"].field.widget
    html = widget.render("body-0-value-plan_area", "", attrs={"id": "body-0-value-plan_area"})
    assert 'data-latitude-field="centre_latitude"' in html
    assert 'data-longitude-field="centre_longitude"' in html
    assert 'data-zoom-field="zoom"' in html
    assert 'data-field="plan_area"' in html


def test_a_hostile_plan_area_value_is_escaped_in_the_widget():
    html = MapEditorWidget().render(
        "plan_area", "</textarea><script>alert(1)</script>", attrs={"id": "id_plan_area"}
    )
    assert "<script>" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


def test_the_widget_brings_leaflet_leaflet_draw_and_its_script_as_static_files():
    media = str(MapEditorWidget().media)
    for path in ("leaflet/leaflet.js", "leaflet/draw/leaflet.draw.js", "cms/js/map-editor.js"):
        assert f"/static/{path}" in media
    assert "/static/cms/css/map-editor.css" in media


def test_the_page_editor_loads_the_map_editor_for_the_page_and_for_map_blocks(
    client, superuser, topic
):
    client.force_login(superuser)
    html = client.get(reverse("wagtailadmin_pages:edit", args=(topic.pk,))).content.decode()
    assert "/static/cms/js/map-editor.js" in html
    assert "/static/leaflet/draw/leaflet.draw.js" in html
    # The page's own plan area, rendered on the server.
    assert 'data-controller="civic-map-editor" data-field="plan_area"' in html
    # The map block's editor travels in StreamField's block definitions (rendered by the
    # browser with the block's prefix): its sibling fields are named there.
    assert re.search(r"data-latitude-field=[\\\\&quot;]+centre_latitude", html)


def test_a_polygon_as_the_editor_writes_it_is_accepted_whatever_its_winding():
    # Leaflet writes rings clockwise or not, as drawn, with up to seven decimals.
    clockwise = {
        "type": "Polygon",
        "coordinates": [
            [
                [-104.9912345, 39.7412345],
                [-104.9512345, 39.7012345],
                [-105.0012345, 39.7012345],
                [-104.9912345, 39.7412345],
            ]
        ],
    }
    assert json.loads(PlanAreaBlock().clean(json.dumps(clockwise))) == clockwise
