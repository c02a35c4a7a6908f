"""Thin writers over :func:`engage.selectors.feedback_export_batches`: CSV, XLSX, GeoJSON and
GeoPackage.

The database shapes every row (neutralised cells, centroids, GeoJSON features, WKT), so a
writer only moves finished rows. Which library does what:

- CSV: the standard library's ``csv`` module, UTF-8 with a byte-order mark (so Excel reads it
  as UTF-8), streamed as an *async* iterator (Django under ASGI buffers a sync iterator whole).
- XLSX and GeoPackage: GDAL's ``ogr2ogr`` (gdal-bin) converts a temporary CSV with a ``.csvt``
  file (explicit field types; the geometry as WKT) into a sheet or layer ``feedback`` (the
  GeoPackage in EPSG:4326); the file is then streamed. The XLSX has typed cells (numbers,
  local date-times), text as shared strings (GDAL never writes a formula) and no control
  characters (GDAL drops them, keeping tab and newline).
- GeoJSON: features made by the database (``ST_AsGeoJSON``/``AsGeoJSON`` inside a JSON object:
  RFC 7946, WGS84 lon/lat, no ``crs``; geometries were oriented counter-clockwise when they
  were validated), joined and streamed.

Spreadsheet cells that a program would run as a formula (starting with ``= + - @``, tab or CR)
get a leading apostrophe in CSV and XLSX; the text itself is kept.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import BinaryIO

from asgiref.sync import sync_to_async

# The spreadsheet rule is applied where the rows are made (selectors); importable from here too.
from engage.selectors import FORMULA_PREFIXES, neutralise  # noqa: F401

FORMATS = ("csv", "xlsx", "geojson", "gpkg")
# Which row shape (``selectors.EXPORT_FORMS``) each format reads.
FORMS = {"csv": "cells", "xlsx": "sheet", "geojson": "features", "gpkg": "map"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}
CHUNK = 64 * 1024
OGR2OGR_TIMEOUT = 600
# GDAL field types of the XLSX and GeoPackage columns (the others are String).
FIELD_TYPES = {
    "id": "Integer", "discussion_id": "Integer", "parent_id": "Integer", "agree": "Integer",
    "disagree": "Integer", "flags": "Integer", "created_at": "DateTime", "lon": "Real",
    "lat": "Real", "geometry": "WKT",
}  # fmt: skip


async def _batches(batches: Iterator[list[tuple]]) -> AsyncIterator[list[tuple]]:
    """Pull batches from the (sync, database-bound) iterator in the request's own thread, so
    its cursor stays on its connection; close it however the download ends."""
    take = sync_to_async(lambda: next(batches, None), thread_sensitive=True)
    try:
        while (batch := await take()) is not None:
            yield batch
    finally:
        await sync_to_async(batches.close, thread_sensitive=True)()


async def csv_body(
    *, batches: Iterator[list[tuple]], columns: list[str], finished: Callable[[int], None]
) -> AsyncIterator[bytes]:
    """Rows in the "cells" form: the csv module writes them as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    count = 0
    async for batch in _batches(batches):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)
        count += len(batch)
        yield buffer.getvalue().encode("utf-8")
    await sync_to_async(finished, thread_sensitive=True)(count)


async def geojson_body(
    *, batches: Iterator[list[tuple]], finished: Callable[[int], None]
) -> AsyncIterator[bytes]:
    """Rows in the "features" form: each is one Feature's text."""
    yield b'{"type":"FeatureCollection","features":['
    count = 0
    async for batch in _batches(batches):
        text = ",".join([row[0] for row in batch])
        yield (("," if count else "") + text).encode("utf-8")
        count += len(batch)
    yield b"]}"
    await sync_to_async(finished, thread_sensitive=True)(count)


def _ogr2ogr(
    *, batches: Iterator[list[tuple]], columns: list[str], path: str, options: list[str]
) -> int:
    """Write the rows to a temporary CSV with a ``.csvt`` (explicit field types, whatever the
    values look like), then let GDAL's ``ogr2ogr`` turn it into ``path`` (layer or sheet
    ``feedback``); returns the row count."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise RuntimeError("ogr2ogr (gdal-bin) is needed for XLSX and GeoPackage exports.")
    folder = tempfile.mkdtemp(prefix="feedback-")
    try:
        source = os.path.join(folder, "feedback.csv")
        with open(os.path.join(folder, "feedback.csvt"), "w", encoding="utf-8") as types:
            types.write(",".join(f'"{FIELD_TYPES.get(name, "String")}"' for name in columns))
        count = 0
        with open(source, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for batch in batches:
                writer.writerows(batch)
                count += len(batch)
        command = [ogr2ogr, *options, path, source, "-nln", "feedback"]
        # A fixed program and arguments over our own files.
        subprocess.run(command, check=True, capture_output=True, timeout=OGR2OGR_TIMEOUT)  # noqa: S603
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return count


def write_xlsx(*, batches: Iterator[list[tuple]], columns: list[str], path: str) -> int:
    """An XLSX workbook from rows in the "sheet" form: numbers and date-times typed, text as
    shared strings (never formulas), control characters dropped by GDAL (tab and newline
    kept); returns the row count."""
    return _ogr2ogr(batches=batches, columns=columns, path=path, options=["-f", "XLSX"])


def write_gpkg(*, batches: Iterator[list[tuple]], columns: list[str], path: str) -> int:
    """A GeoPackage from rows in the "map" form: layer ``feedback``, EPSG:4326,
    Integer/DateTime/String fields; returns the row count."""
    options = [
        "-f", "GPKG", "-nlt", "GEOMETRY", "-a_srs", "EPSG:4326", "-oo", "KEEP_GEOM_COLUMNS=NO",
    ]  # fmt: skip
    return _ogr2ogr(batches=batches, columns=columns, path=path, options=options)


def temporary_path(suffix: str) -> str:
    """A fresh path in the temporary folder (not yet a file)."""
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    os.unlink(path)  # ogr2ogr creates the file itself
    return path


def open_and_unlink(path: str) -> BinaryIO:
    """Open a finished temporary file and remove its name at once: the open handle keeps the
    data readable, and nothing is left on disk however the download ends (or if it never
    starts)."""
    handle = open(path, "rb")  # noqa: SIM115 - closed by file_body or when collected
    os.unlink(path)
    return handle


async def file_body(handle: BinaryIO) -> AsyncIterator[bytes]:
    """Stream an open file (from :func:`open_and_unlink`) in 64 KiB chunks."""
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()
