"""The map editor widget: the plan area drawn on a map, and, inside a map block, the block's
centre and zoom picked on the same map.

django-leaflet's own widget is not used: it starts through an inline ``<script>``, which the
site's Content-Security-Policy forbids and which never runs in StreamField's client-rendered
forms. This widget is plain markup with ``data-controller="civic-map-editor"``; its script
(``cms/js/map-editor.js``, a static file) registers a Stimulus controller with Wagtail's
application, and Stimulus starts it for every editor in the page, including blocks inserted
after the page loaded. The value stays GeoJSON text in a textarea, so the server validates it
exactly as before (``cms.geojson.parse_plan_area``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings


class MapEditorWidget(forms.Textarea):
    """A GeoJSON text field edited by drawing on a map.

    ``view_fields`` names the sibling inputs (centre latitude, centre longitude, zoom) in the
    same form prefix that the map keeps in step with its clicks and zoom; without it the widget
    only draws the area (the page's own plan area). ``field_name`` is this field's own name
    within its prefix, so the script finds the siblings from its textarea's full name.
    """

    template_name = "cms/widgets/map_editor.html"

    def __init__(
        self,
        *,
        field_name: str = "plan_area",
        view_fields: tuple[str, str, str] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        self.field_name = field_name
        self.view_fields = view_fields
        super().__init__(attrs={"rows": 4, **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        latitude, longitude, zoom = self.view_fields or ("", "", "")
        context["editor"] = {
            "field": self.field_name,
            "latitude": latitude,
            "longitude": longitude,
            "zoom": zoom,
            "basemap_url": settings.BASEMAP_TILE_URL,
            "api": "/api/landuse/",
        }
        return context

    @property
    def media(self) -> forms.Media:
        return forms.Media(
            css={
                "all": [
                    "leaflet/leaflet.css",
                    "leaflet/draw/leaflet.draw.css",
                    "cms/css/map-editor.css",
                ]
            },
            js=["leaflet/leaflet.js", "leaflet/draw/leaflet.draw.js", "cms/js/map-editor.js"],
        )
