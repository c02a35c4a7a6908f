"""Vector tiles and GeoJSON over the sample city: our endpoints beside the bare SQL (the floor).

    DATABASE_URL=postgis://… .venv/bin/python bench/tiles.py [--per-zoom 40] [--repeat 3]

Loads the sample city into the configured database if it is missing (``load_demo``'s layer
step), then times, for each zoom, every tile over the city (up to ``--per-zoom``) through the
Django view (in process, response cache off, so each tile is generated) and the same tile's bare
``ST_AsMVT`` SQL on the same connection. On SpatiaLite the floor is the tile selector itself.
Prints p50/p95 and tiles per second. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from geo_fixtures.demo_layers import ensure_layers  # noqa: E402
from landuse import selectors  # noqa: E402
from landuse.models import Layer  # noqa: E402

CITY = (-105.06, 39.66, -104.88, 39.772)
ZOOMS = (10, 12, 14, 16)


def tiles_over_city(z: int, limit: int) -> list[tuple[int, int, int]]:
    def tile(lon: float, lat: float) -> tuple[int, int]:
        n = 2**z
        return (
            int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
        )

    x0, y1 = tile(CITY[0], CITY[1])
    x1, y0 = tile(CITY[2], CITY[3])
    every = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    step = max(1, len(every) // limit)
    return every[::step][:limit]


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    per_second = 1000 / statistics.fmean(ordered)
    return f"p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  {per_second:8.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-zoom", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ensure_layers(lambda message: print(f"  {message}"))
    layer = Layer.objects.get(slug="zoning")
    client = Client(HTTP_HOST="127.0.0.1")
    postgis = settings.DATABASE_IS_POSTGIS
    floor_name = "bare ST_AsMVT SQL" if postgis else "tile selector (no HTTP)"
    print(f"backend: {connection.vendor}; layer {layer.slug!r}, {layer.features.count()} features")
    print(f"{'':18}{'Django view /tiles/':46}{floor_name}")

    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ):
        for z in ZOOMS:
            tiles = tiles_over_city(z, args.per_zoom)
            view, floor, sizes = [], [], []
            for _, x, y in tiles:
                url = f"/tiles/{layer.slug}/{z}/{x}/{y}.mvt"
                view += timed(lambda url=url: client.get(url), args.repeat)
                if postgis:
                    floor += timed(
                        lambda x=x, y=y, z=z: selectors._postgis_tile(layer=layer, z=z, x=x, y=y),
                        args.repeat,
                    )
                else:
                    floor += timed(
                        lambda x=x, y=y, z=z: selectors._encoded_tile(layer=layer, z=z, x=x, y=y),
                        args.repeat,
                    )
                response = client.get(url)
                assert response.status_code in (200, 204), (url, response.status_code)
                sizes.append(len(response.content))
            print(
                f"z{z:<2} {len(tiles):3} tiles   {summary(view)}   {summary(floor)}"
                f"   mean {statistics.fmean(sizes) / 1024:6.1f} KB"
            )

        url = f"/api/landuse/layers/{layer.slug}/features.geojson?zoom=11"
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        body = response.content
        view = timed(lambda: client.get(url), args.repeat * 5)
        floor = timed(
            lambda: selectors.layer_features_geojson(layer=layer, zoom=11), args.repeat * 5
        )
        print(
            f"GeoJSON city z11 ({len(body) / 1024:.0f} KB)  view {summary(view)}   "
            f"SQL {summary(floor)}"
        )


if __name__ == "__main__":
    main()
