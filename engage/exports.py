"""Thin writers over :func:`engage.selectors.feedback_export_rows`: CSV, XLSX, GeoJSON and
GeoPackage.

Which library does what:

- CSV: the standard library's ``csv`` module, UTF-8 with a byte-order mark (so Excel reads it
  as UTF-8), streamed as an *async* iterator (Django under ASGI buffers a sync iterator whole).
- XLSX: openpyxl in write-only mode (rows go to a temporary file as they are appended), then
  the file is streamed.
- GeoJSON: written here row by row (RFC 7946: WGS84 lon/lat, no ``crs``; geometries were
  oriented counter-clockwise when they were validated), streamed.
- GeoPackage: GDAL's ``ogr2ogr`` (gdal-bin) converts a temporary GeoJSON file into a
  GeoPackage layer ``feedback`` in EPSG:4326 with typed fields; the file is then streamed.

Spreadsheet cells that a program would run as a formula (starting with ``= + - @``, tab or CR)
get a leading apostrophe in CSV and XLSX; the text itself is kept.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import BinaryIO

from asgiref.sync import sync_to_async
from django.utils import timezone
from openpyxl import Workbook

from engage.validation import strip_controls

FORMATS = ("csv", "xlsx", "geojson", "gpkg")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500
CHUNK = 64 * 1024
OGR2OGR_TIMEOUT = 600


def neutralise(value: str) -> str:
    """Spreadsheet programs run cells starting with these characters as formulas."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _spreadsheet_cell(value: object) -> object:
    """Numbers stay numbers; text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    return neutralise(_text(value))


async def _batches(rows: Iterator[dict]) -> AsyncIterator[list[dict]]:
    """Pull rows from the (sync, database-bound) iterator a batch at a time in the request's
    own thread, so its cursor stays on its connection; close it however the download ends."""
    take = sync_to_async(lambda: list(islice(rows, BATCH)), thread_sensitive=True)
    try:
        while batch := await take():
            yield batch
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


async def csv_body(
    *, rows: Iterator[dict], columns: list[str], finished: Callable[[int], None]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    count = 0
    async for batch in _batches(rows):
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            writer.writerow([_spreadsheet_cell(row[name]) for name in columns])
        count += len(batch)
        yield buffer.getvalue().encode("utf-8")
    await sync_to_async(finished, thread_sensitive=True)(count)


def _feature(row: dict, columns: list[str]) -> dict:
    geometry = row["geometry"]
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": json.loads(geometry.json) if geometry is not None else None,
        "properties": {
            name: _text(row[name]) if isinstance(row[name], datetime) else row[name]
            for name in columns
            if name not in ("lon", "lat", "geometry_type")
        },
    }


async def geojson_body(
    *, rows: Iterator[dict], columns: list[str], finished: Callable[[int], None]
) -> AsyncIterator[bytes]:
    yield b'{"type":"FeatureCollection","features":['
    count = 0
    async for batch in _batches(rows):
        text = ",".join(
            json.dumps(_feature(row, columns), ensure_ascii=False, separators=(",", ":"))
            for row in batch
        )
        yield (("," if count else "") + text).encode("utf-8")
        count += len(batch)
    yield b"]}"
    await sync_to_async(finished, thread_sensitive=True)(count)


def _xlsx_cell(value: object) -> object:
    if isinstance(value, datetime):
        # Excel has no time zones: local time of the site, as Excel shows it.
        return timezone.localtime(value).replace(tzinfo=None)
    value = _spreadsheet_cell(value)
    if isinstance(value, str):
        # openpyxl refuses control characters; drop them (tab and newline kept).
        return strip_controls(value, keep_newlines=True)
    return value


def write_xlsx(*, rows: Iterable[dict], columns: list[str], path: str) -> int:
    """Write an XLSX file (openpyxl write-only: rows are not kept in memory); returns the row
    count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("feedback")
    sheet.append(columns)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(row[name]) for name in columns])
        count += 1
    workbook.save(path)
    return count


def write_gpkg(*, rows: Iterable[dict], columns: list[str], path: str) -> int:
    """Write a GeoPackage with GDAL's ``ogr2ogr`` from a temporary GeoJSON file (layer
    ``feedback``, EPSG:4326, field types detected by GDAL's GeoJSON reader: integers, reals,
    date-times, strings); returns the row count."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise RuntimeError("ogr2ogr (gdal-bin) is needed for GeoPackage exports.")
    count = 0
    with tempfile.NamedTemporaryFile(
        "w", suffix=".geojson", encoding="utf-8", delete=False
    ) as source:
        try:
            source.write('{"type":"FeatureCollection","features":[')
            for row in rows:
                if count:
                    source.write(",")
                source.write(json.dumps(_feature(row, columns), ensure_ascii=False))
                count += 1
            source.write("]}")
            source.close()
            subprocess.run(  # noqa: S603 - fixed program and arguments, our own files
                [
                    ogr2ogr,
                    "-f",
                    "GPKG",
                    path,
                    source.name,
                    "-nln",
                    "feedback",
                    "-nlt",
                    "GEOMETRY",
                    "-a_srs",
                    "EPSG:4326",
                    "-oo",
                    "NATIVE_DATA=NO",
                ],  # fmt: skip
                check=True,
                capture_output=True,
                timeout=OGR2OGR_TIMEOUT,
            )
        finally:
            os.unlink(source.name)
    return count


def temporary_path(suffix: str) -> str:
    """A fresh path in the temporary folder (not yet a file)."""
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    os.unlink(path)  # ogr2ogr and openpyxl create the file themselves
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
