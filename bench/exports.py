"""Feedback exports: time and peak memory for N pinned comments in each format, beside
``ogr2ogr`` exporting the same rows from the same database in the same run (the floor).

    .venv/bin/python bench/exports.py [--rows 10000 100000] [--database-url spatialite:///…]

Without ``--database-url`` a fresh SpatiaLite file is made in a temporary folder (migrated once,
then filled to the largest N). Each measurement runs in its own process so its peak resident
memory (``ru_maxrss``) is its own: our export is the selector + writer consumed the way an ASGI
server consumes the response body (the async iterator for CSV and GeoJSON, the file for XLSX
and GeoPackage); the floor is ``ogr2ogr`` reading the comment table with one SQL statement.
On PostGIS give ``--database-url postgis://…`` (a database you may fill). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
FORMATS = ("csv", "xlsx", "geojson", "gpkg")
OGR_DRIVERS = {"csv": "CSV", "geojson": "GeoJSON", "gpkg": "GPKG", "xlsx": "XLSX"}


def setup_django(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    import django

    django.setup()


def fill(database_url: str, rows: int) -> int:
    """Migrate and make sure discussion 'bench exports <rows>' holds ``rows`` pinned comments;
    returns its id."""
    setup_django(database_url)
    from django.contrib.gis.geos import Point
    from django.core.management import call_command

    from engage.models import Comment, Discussion

    call_command("migrate", verbosity=0, interactive=False)
    title = f"bench exports {rows}"
    discussion = Discussion.objects.filter(title=title).first()
    if discussion is None:
        discussion = Discussion.objects.create(title=title, is_published=True)
    have = Comment.objects.filter(discussion=discussion).count()
    rng = random.Random(1)
    batch = []
    for n in range(have, rows):
        lon, lat = -105.05 + rng.random() * 0.2, 39.65 + rng.random() * 0.15
        zone = rng.choice(["R-1", "C-MX-5", "I-A"])
        batch.append(
            Comment(
                discussion=discussion,
                display_name=f"Resident {n}",
                body=f"Comment {n}: more trees, safer crossings" + (" =1+1" if n % 50 == 0 else ""),
                geometry=Point(lon, lat, srid=4326),
                zoning_code=zone,
                landuse=[{"kind": "zoning", "code": zone, "label": f"Zone {zone}"}],
            )
        )
        if len(batch) == 5000:
            Comment.objects.bulk_create(batch)
            batch = []
    if batch:
        Comment.objects.bulk_create(batch)
    return discussion.pk


def measure_ours(database_url: str, discussion_id: int, fmt: str, rows: int) -> None:
    """In a child process: export ``rows`` comments, print seconds, bytes and peak MB added."""
    setup_django(database_url)
    import asyncio

    from engage import exports, selectors
    from engage.models import Discussion

    discussion = Discussion.objects.get(pk=discussion_id)
    filters = selectors.FeedbackFilters()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    source = selectors.feedback_export_rows(
        discussion=discussion, filters=filters, personal_data=False
    )
    columns = selectors.export_columns(personal_data=False)
    size = 0

    async def drain(body) -> int:
        total = 0
        async for chunk in body:
            total += len(chunk)
        return total

    if fmt in ("csv", "geojson"):
        writer = exports.csv_body if fmt == "csv" else exports.geojson_body
        size = asyncio.run(drain(writer(rows=source, columns=columns, finished=lambda n: None)))
    else:
        path = exports.temporary_path(f".{fmt}")
        write = exports.write_xlsx if fmt == "xlsx" else exports.write_gpkg
        write(rows=source, columns=columns, path=path)
        size = asyncio.run(drain(exports.file_body(exports.open_and_unlink(path))))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "bytes": size, "mb": (peak - base) / 1024}))


def ogr_source(database_url: str) -> str:
    if database_url.startswith("spatialite:///"):
        return database_url.removeprefix("spatialite://")
    # postgis://user:pass@host:port/name -> PG:"host=… dbname=…"
    from urllib.parse import urlparse

    url = urlparse(database_url)
    parts = [f"dbname={url.path.lstrip('/')}", f"host={url.hostname or 'localhost'}"]
    if url.port:
        parts.append(f"port={url.port}")
    if url.username:
        parts.append(f"user={url.username}")
    if url.password:
        parts.append(f"password={url.password}")
    return "PG:" + " ".join(parts)


def measure_floor(database_url: str, discussion_id: int, fmt: str, rows: int) -> dict:
    """ogr2ogr with one SQL statement over the same rows: seconds and its peak MB."""
    folder = tempfile.mkdtemp(prefix="bench-floor-")
    out = Path(folder) / f"floor.{fmt}"
    sql = (
        "SELECT id, created_at, status, body, display_name, zoning_code, geometry "
        f"FROM engage_comment WHERE discussion_id = {int(discussion_id)} ORDER BY id"
    )
    command = ["ogr2ogr", "-f", OGR_DRIVERS[fmt], str(out), ogr_source(database_url), "-sql", sql]
    if fmt == "csv":
        command += ["-lco", "GEOMETRY=AS_XY"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "mb": peak}


def child(args: list[str]) -> dict:
    result = subprocess.run(
        [PY, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, discussion, fmt, rows = args.child
        measure_ours(url, int(discussion), fmt, int(rows))
        return
    if args.floor:
        url, discussion, fmt, rows = args.floor
        print(json.dumps(measure_floor(url, int(discussion), fmt, int(rows))))
        return
    scratch = None if args.database_url else tempfile.mkdtemp(prefix="bench-exports-")
    url = args.database_url or f"spatialite:///{scratch}/bench-exports.sqlite3"
    try:
        run(url, args.rows)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def run(url: str, sizes: list[int]) -> None:
    discussions = {rows: child_fill(url, rows) for rows in sorted(sizes)}
    print(f"database: {url.split('@')[-1]}")
    print("| rows | format | ours s | ours peak +MB | ogr2ogr s | ogr2ogr peak MB | ratio |")
    print("|---|---|---|---|---|---|---|")
    for rows in sorted(sizes):
        for fmt in FORMATS:
            discussion = str(discussions[rows])
            ours = child(["--child", url, discussion, fmt, str(rows)])
            floor = child(["--floor", url, discussion, fmt, str(rows)])
            print(
                f"| {rows:,} | {fmt} | {ours['seconds']:.2f} | {ours['mb']:.0f} | "
                f"{floor['seconds']:.2f} | {floor['mb']:.0f} | "
                f"{ours['seconds'] / floor['seconds']:.1f}× |",
                flush=True,
            )


def child_fill(url: str, rows: int) -> int:
    result = subprocess.run(
        [
            PY,
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from bench.exports import fill; print(fill({url!r}, {rows}))",
        ],  # fmt: skip
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return int(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
