"""Our settings with every response cache off: the server for the "uncached" rows, so each
request builds its tile or GeoJSON as a first visitor's request would."""

from config.settings import *  # noqa: F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
LANDUSE_TILE_CACHE_BYTES = 0
