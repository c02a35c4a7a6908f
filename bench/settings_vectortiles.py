"""Our settings, caches off, with django-vectortiles mounted (``bench/vectortiles_peer.py``)."""

from bench.settings_nocache import *  # noqa: F403

ROOT_URLCONF = "bench.vectortiles_peer"
