"""The peer for vector tiles: django-vectortiles 1.0.2 (``pip install -e ".[bench]"``) serving
the same table, through Django and our middleware, as its documentation sets it up (one
``VectorLayer`` class, an ``MVTView``). Bench-only: ``bench/settings_vectortiles.py`` mounts it
at ``/vt/<z>/<x>/<y>.mvt`` beside our own URLs."""

from __future__ import annotations

from django.db.models import F
from django.urls import path
from vectortiles import VectorLayer
from vectortiles.views import MVTView

from config.urls import urlpatterns as our_urlpatterns
from landuse.models import Feature


class ZoningLayer(VectorLayer):
    id = "zoning"
    # The stored Web Mercator copy, as ours uses: its Transform to 3857 is then a no-op.
    geom_field = "geometry_3857"
    tile_fields = ("id", "code", "label", "colour")

    def get_queryset(self):
        return Feature.objects.filter(layer__slug="zoning").annotate(
            code=F("category__code"), label=F("category__label"), colour=F("category__colour")
        )


class ZoningTiles(MVTView):
    layer_classes = [ZoningLayer]


urlpatterns = [
    path("vt/<int:z>/<int:x>/<int:y>.mvt", ZoningTiles.as_view()),
    *our_urlpatterns,
]
