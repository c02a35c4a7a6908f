"""Non-JSON endpoints of `landuse`: vector tiles and the map page."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from landuse import selectors
from landuse.api import layer_response

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"


@require_safe
def tile(request: HttpRequest, slug: str, z: str, x: str, y: str) -> HttpResponse:
    """``/tiles/<slug>/<z>/<x>/<y>.mvt``: 200 with the tile, 204 when empty, 400 out of range."""
    zoom, column, row = int(z), int(x), int(y)
    if not selectors.tile_in_range(z=zoom, x=column, y=row):
        return JsonResponse(
            {
                "errors": [
                    {
                        "field": "z/x/y",
                        "message": f"tile {z}/{x}/{y} is outside the grid (z 0 to "
                        f"{selectors.MAX_ZOOM}, x and y 0 to 2^z - 1)",
                    }
                ]
            },
            status=400,
        )
    layer = selectors.layer_get(slug=slug)
    if layer is None:
        raise Http404("no such layer")
    return layer_response(
        request,
        layer=layer,
        variant=(zoom, column, row),
        build=lambda: selectors.layer_tile(layer=layer, z=zoom, x=column, y=row),
        content_type=MVT_CONTENT_TYPE,
    )


@require_safe
def map_page(request: HttpRequest) -> HttpResponse:
    """A plain page with every layer on one map: toggles, legend and click lookup."""
    layers = list(selectors.layer_list())
    lat, lon = settings.LEAFLET_CONFIG["DEFAULT_CENTER"]
    return render(
        request,
        "landuse/map.html",
        {
            "layers": layers,
            "layer_slugs": ",".join(layer.slug for layer in layers),
            "center": f"{lat},{lon}",
            "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
            "basemap_tile_url": settings.BASEMAP_TILE_URL,
        },
    )
