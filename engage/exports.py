"""Thin writers over :func:`engage.selectors.feedback_export_batches`: CSV, XLSX, GeoJSON and
GeoPackage.

The database shapes every row (neutralised cells, centroids, GeoJSON features, WKT), so a
writer only moves finished rows. Which library does what:

- CSV: the standard library's ``csv`` module, UTF-8 with a byte-order mark (so Excel reads it
  as UTF-8), streamed as an *async* iterator (Django under ASGI buffers a sync iterator whole).
- XLSX: openpyxl in write-only mode (rows go to a temporary file as they are appended, so
  memory stays flat), then the file is streamed.
- GeoPackage: GDAL's ``ogr2ogr`` (gdal-bin) reads the rows as CSV from a pipe through an OGR
  VRT that declares every field's type (the geometry as WKT) and writes a layer ``feedback``
  in EPSG:4326 while the database is still being read; the file is then streamed.
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
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import BinaryIO

from asgiref.sync import sync_to_async
from django.db import connection
from openpyxl import Workbook

# The spreadsheet rule is applied where the rows are made (selectors); importable from here too.
from engage.selectors import FORMULA_PREFIXES, neutralise  # noqa: F401
from engage.validation import strip_controls

FORMATS = ("csv", "xlsx", "geojson", "gpkg")
# Which row shape (``selectors.EXPORT_FORMS``) each format reads.
FORMS = {"csv": "cells-csv", "xlsx": "sheet", "geojson": "features", "gpkg": "map-csv"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}
CHUNK = 64 * 1024
OGR2OGR_TIMEOUT = 600
# GDAL field types of the GeoPackage columns (the others are String).
FIELD_TYPES = {
    "id": "Integer", "discussion_id": "Integer", "parent_id": "Integer", "agree": "Integer",
    "disagree": "Integer", "flags": "Integer", "created_at": "DateTime", "lon": "Real",
    "lat": "Real", "geometry": "WKT",
}  # fmt: skip
# What strip_controls would change: control characters but tab and newline, CR, bidi overrides.
_NEEDS_STRIPPING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def form_of(fmt: str) -> str:
    """The row form a format reads on this database. PostgreSQL makes the CSV lines itself, in
    its own process beside ours; SQLite runs inside ours, and there the lines made by SQL cost
    more CPU than Python's ``csv`` module over the cells (measured at 100k rows: 3.2 s for the
    statement against 2.5 s plus about 0.7 s), so on SpatiaLite Python writes them."""
    form = FORMS[fmt]
    if form.endswith("-csv") and connection.vendor != "postgresql":
        return form.removesuffix("-csv")
    return form


def _csv_text(batch: list[tuple], lines: bool) -> str:
    """A batch as CSV text: lines made by the database are joined; cells go through csv."""
    if lines:
        return "".join([row[0] for row in batch])
    buffer = io.StringIO()
    csv.writer(buffer).writerows(batch)
    return buffer.getvalue()


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
    *,
    batches: Iterator[list[tuple]],
    columns: list[str],
    finished: Callable[[int], None],
    lines: bool = True,
) -> AsyncIterator[bytes]:
    """Rows in the "cells-csv" form (each its CSV line, made by the database) or, with
    ``lines=False``, in the "cells" form."""
    yield ("\ufeff" + _csv_header(columns)).encode("utf-8")
    count = 0
    async for batch in _batches(batches):
        count += len(batch)
        yield _csv_text(batch, lines).encode("utf-8")
    await sync_to_async(finished, thread_sensitive=True)(count)


def _csv_header(columns: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(columns)
    return buffer.getvalue()


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


def _xlsx_cell(value: object, created: bool) -> object:
    if created:
        return datetime.fromisoformat(value)  # already local time, without an offset
    if isinstance(value, str) and _NEEDS_STRIPPING.search(value):
        # openpyxl refuses control characters; drop them (tab and newline kept).
        return strip_controls(value, keep_newlines=True)
    return value


def write_xlsx(*, batches: Iterator[list[tuple]], columns: list[str], path: str) -> int:
    """An XLSX workbook from rows in the "sheet" form (openpyxl write-only: rows go to a
    temporary file as they are appended, so memory stays flat); returns the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("feedback")
    sheet.append(columns)
    created = [name == "created_at" for name in columns]
    count = 0
    for batch in batches:
        for row in batch:
            sheet.append([_xlsx_cell(v, c) for v, c in zip(row, created, strict=True)])
        count += len(batch)
    workbook.save(path)
    return count


def _vrt(columns: list[str]) -> str:
    """An OGR VRT layer over the CSV read from standard input: explicit field types whatever
    the values look like, the geometry from the WKT column."""
    fields = "".join(
        f'<Field name="{name}" type="{FIELD_TYPES.get(name, "String")}"/>'
        for name in columns
        if name != "geometry"
    )
    return (
        '<OGRVRTDataSource><OGRVRTLayer name="feedback">'
        "<SrcDataSource>CSV:/vsistdin/</SrcDataSource>"
        '<OpenOptions><OOI key="EMPTY_STRING_AS_NULL">YES</OOI></OpenOptions>'
        "<SrcLayer>layer</SrcLayer><GeometryType>wkbUnknown</GeometryType>"
        '<GeometryField encoding="WKT" field="geometry"/>'
        f"{fields}</OGRVRTLayer></OGRVRTDataSource>"
    )


def write_gpkg(
    *, batches: Iterator[list[tuple]], columns: list[str], path: str, lines: bool = True
) -> int:
    """A GeoPackage from rows in the "map-csv" form (or "map" with ``lines=False``): layer
    ``feedback``, EPSG:4326, Integer/DateTime/String fields (an empty text is NULL); returns
    the row count.

    The rows go as CSV through a pipe into ``ogr2ogr`` while it writes, so reading the
    database and writing the GeoPackage overlap and nothing is staged on disk."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise RuntimeError("ogr2ogr (gdal-bin) is needed for GeoPackage exports.")
    folder = tempfile.mkdtemp(prefix="feedback-")
    try:
        source = os.path.join(folder, "feedback.vrt")
        with open(source, "w", encoding="utf-8") as handle:
            handle.write(_vrt(columns))
        errors = open(os.path.join(folder, "errors.txt"), "w+b")  # noqa: SIM115 - closed below
        command = [
            ogr2ogr, "-f", "GPKG", path, source, "-nln", "feedback", "-nlt", "GEOMETRY",
            "-a_srs", "EPSG:4326",
        ]  # fmt: skip
        # A fixed program and arguments over our own files.
        process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        )
        count = 0
        try:
            with process.stdin as pipe:
                pipe.write(_csv_header(columns).encode("utf-8"))
                for batch in batches:
                    pipe.write(_csv_text(batch, lines).encode("utf-8"))
                    count += len(batch)
        except BrokenPipeError:
            pass  # ogr2ogr stopped early: its exit status and message say why
        finally:
            try:
                code = process.wait(timeout=OGR2OGR_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        errors.seek(0)
        message = errors.read().decode("utf-8", "replace")[-2000:]
        errors.close()
        if code:
            raise RuntimeError(f"ogr2ogr could not write the GeoPackage: {message}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return count


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
