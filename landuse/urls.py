"""Non-API routes of `landuse`; the JSON API is in ``landuse.api``."""

from django.urls import path, re_path

from landuse import views

app_name = "landuse"

urlpatterns = [
    # Signed numbers are matched so that a negative tile number is a 400, not a 404.
    re_path(
        r"^tiles/(?P<slug>[-\w]+)/(?P<z>-?\d{1,9})/(?P<x>-?\d{1,12})/(?P<y>-?\d{1,12})\.mvt$",
        views.tile,
        name="tile",
    ),
    path("map/", views.map_page, name="map"),
]
