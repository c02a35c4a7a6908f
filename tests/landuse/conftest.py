"""Builders of small GIS files for the land-use tests.

Files are written as GeoJSON and, for the other formats, converted with GDAL's own ``ogr2ogr``,
so each format is exercised with a file a real GIS tool wrote.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache

# Two neighbouring blocks in Denver sharing the edge lon = -104.98.
WEST_BLOCK = [
    [-104.99, 39.74],
    [-104.98, 39.74],
    [-104.98, 39.75],
    [-104.99, 39.75],
    [-104.99, 39.74],
]
EAST_BLOCK = [
    [-104.98, 39.74],
    [-104.97, 39.74],
    [-104.97, 39.75],
    [-104.98, 39.75],
    [-104.98, 39.74],
]
# The whole of both blocks, for an overlay.
BOTH_BLOCKS = [
    [-104.99, 39.74],
    [-104.97, 39.74],
    [-104.97, 39.75],
    [-104.99, 39.75],
    [-104.99, 39.74],
]


def polygon_feature(ring: list, **properties) -> dict:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def two_blocks() -> list[dict]:
    return [
        polygon_feature(WEST_BLOCK, ZONE="U-SU-C", NAME="Urban single unit C"),
        polygon_feature(EAST_BLOCK, ZONE="C-MX-5", NAME="Urban center mixed use 5"),
    ]


def wiggly_block() -> dict:
    """A block with many vertices along its edges, so that simplification has work to do."""
    south = [[-104.99 + k * 0.0002, 39.73 + (0.00015 if k % 2 else 0)] for k in range(51)]
    north = [[-104.98 - k * 0.0002, 39.735] for k in range(51)]
    return polygon_feature(south + north + [south[0]], ZONE="I-A", NAME="Light industrial")


@pytest.fixture(autouse=True)
def _fresh_body_cache() -> None:
    """Bodies are cached by layer id and version; SpatiaLite reuses ids after a test's
    rollback, so a body cached by one test could answer the next."""
    cache.clear()


@pytest.fixture
def write_geojson(tmp_path: Path) -> Callable[..., Path]:
    def write(features: list[dict], name: str = "layer.geojson", crs: str | None = None) -> Path:
        collection: dict = {"type": "FeatureCollection", "features": features}
        if crs:
            collection["crs"] = {"type": "name", "properties": {"name": crs}}
        path = tmp_path / name
        path.write_text(json.dumps(collection))
        return path

    return write


@pytest.fixture
def ogr2ogr(tmp_path: Path) -> Callable[..., Path]:
    def convert(source: Path, name: str, driver: str, *options: str) -> Path:
        target = tmp_path / name
        subprocess.run(
            ["ogr2ogr", "-f", driver, *options, str(target), str(source)],
            check=True,
            capture_output=True,
        )
        return target

    return convert


def prepared_runs(statement_like: str) -> tuple[int, int]:
    """Runs of the prepared statements on this PostGIS connection whose text is LIKE
    ``statement_like``, so far: (all, on a generic plan). Counted rather than listed: a
    statement prepared by an earlier test on the same pooled connection may still be there."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(sum(generic_plans + custom_plans), 0), COALESCE(sum(generic_plans), 0)"
            " FROM pg_prepared_statements WHERE statement LIKE %s",
            [statement_like],
        )
        runs, generic = cursor.fetchone()
        return int(runs), int(generic)
