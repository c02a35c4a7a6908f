"""Thin writers over :func:`engage.selectors.feedback_export_batches`: CSV, XLSX, GeoJSON and
GeoPackage.

The database shapes every row (neutralised cells, centroids, GeoJSON features, WKT), so a
writer only moves finished rows. Which library does what:

- CSV: the standard library's ``csv`` module, UTF-8 with a byte-order mark (so Excel reads it
  as UTF-8), streamed as an *async* iterator (Django under ASGI buffers a sync iterator whole).
- XLSX: XlsxWriter in constant-memory mode (each row goes to a temporary file as the next
  begins, so memory stays flat), then the file is streamed. It wrote the 100k-row sheet in
  half the CPU time of openpyxl's write-only mode (8.3 s against 15.1 s, measured).
- GeoPackage: GDAL's ``ogr2ogr`` (gdal-bin) writes a layer ``feedback`` in EPSG:4326 through
  an OGR VRT that declares every field's type; the file is then streamed. Where it can, it
  runs the export's statement on the database itself (``write_gpkg_from_database``: no row
  passes through this process): on a SpatiaLite file, or on PostgreSQL through its own
  connection (the password and libpq's other settings in its environment, never in its
  arguments or the VRT). Otherwise (an open transaction, an in-memory database, a value that
  cannot be written into the statement safely, a GDAL error) it reads the rows as CSV from a
  pipe while the database is still being read (``write_gpkg``).
- GeoJSON: features made by the database (``ST_AsGeoJSON``/``AsGeoJSON`` inside a JSON object:
  RFC 7946, WGS84 lon/lat, no ``crs``; geometries were oriented counter-clockwise when they
  were validated), joined and streamed.

Spreadsheet cells that a program would run as a formula (starting with ``= + - @``, tab or CR)
get a leading apostrophe in CSV and XLSX; the text itself is kept.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from datetime import datetime
from typing import BinaryIO
from xml.sax.saxutils import escape

import xlsxwriter
from asgiref.sync import sync_to_async
from django.db import connection
from psycopg import pq
from psycopg.conninfo import make_conninfo

from engage.models import Discussion

# The spreadsheet rule is applied where the rows are made (selectors); importable from here too.
from engage.selectors import (  # noqa: F401
    FORMULA_PREFIXES,
    FeedbackFilters,
    feedback_export_statement,
    neutralise,
)
from engage.validation import strip_controls

logger = logging.getLogger(__name__)

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
XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "default_date_format": "yyyy-mm-dd hh:mm:ss",
}
OGR2OGR_TIMEOUT = 600
# SQLite's page cache for each of ogr2ogr's databases (MB; SQLite's default is 2 MB). With the
# default, the 30 MB GeoPackage of 100k rows took 55,180 page writes and 66,730 page reads
# (pages evicted, read back and written again while the table and its R-tree grow); with 8 MB,
# 7,679 and 19,128 (strace -c), ogr2ogr's system time fell from 0.12-0.23 s to 0.05-0.10 s and
# its median time from 3.14 s to 2.91 s (5 turns each). The file is the same. ogr2ogr's peak
# memory went from 61 to 74 MB (16 MB saved no more time and cost 92 MB).
OGR2OGR_SQLITE_CACHE_MB = 8
# GDAL field types of the GeoPackage columns (the others are String).
FIELD_TYPES = {
    "id": "Integer", "discussion_id": "Integer", "parent_id": "Integer", "agree": "Integer",
    "disagree": "Integer", "flags": "Integer", "created_at": "DateTime", "lon": "Real",
    "lat": "Real", "geometry": "WKT",
}  # fmt: skip
_GDAL_ERROR = re.compile(r"^ERROR \d+:", re.MULTILINE)
# How the VRT reads the geometry of the "map-gdal" statement (selectors.EXPORT_FORMS): on
# SpatiaLite hexadecimal WKB text in "wkb", on PostgreSQL the geometry column "geom" itself.
_GDAL_GEOMETRY = {
    "sqlite": '<GeometryField encoding="WKB" field="wkb"/>',
    "postgresql": '<GeometryField field="geom"/>',
}
# libpq settings written into GDAL's connection string (``PG:…``); every other one that has an
# environment variable (the password first) goes into ogr2ogr's environment instead.
_NAMED_LIBPQ_SETTINGS = ("dbname", "host", "port", "user")
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
        # Control characters are not text a spreadsheet shows (XML 1.0 has no place for most
        # of them); drop them, keeping tab and newline.
        return strip_controls(value, keep_newlines=True)
    return value


def write_xlsx(*, batches: Iterator[list[tuple]], columns: list[str], path: str) -> int:
    """An XLSX workbook from rows in the "sheet" form; returns the row count.

    XlsxWriter in constant-memory mode: each row goes to a temporary file once the next one
    starts, so memory stays flat. Text is always written as text: the rows come neutralised,
    and the options below keep XlsxWriter from turning text into formulas, numbers or links
    (a sheet holds at most 65,530 links)."""
    with xlsxwriter.Workbook(path, XLSX_OPTIONS) as workbook:
        sheet = workbook.add_worksheet("feedback")
        sheet.write_row(0, 0, columns)
        created = [name == "created_at" for name in columns]
        count = 0
        for batch in batches:
            for row in batch:
                count += 1
                cells = [_xlsx_cell(v, c) for v, c in zip(row, created, strict=True)]
                if error := sheet.write_row(count, 0, cells):
                    # XlsxWriter stops the row and goes on: a missing cell must not pass.
                    raise RuntimeError(
                        f"XlsxWriter refused row {count} ({error}): a worksheet holds "
                        "1,048,575 rows and a cell 32,767 characters."
                    )
    return count


def _fields(columns: list[str], named: bool) -> str:
    """The VRT's explicit field types, whatever the values look like (the geometry aside);
    ``named``: read each from the source column of the same name."""
    fields = []
    for name in columns:
        if name != "geometry":
            source = f' src="{name}"' if named else ""
            kind = FIELD_TYPES.get(name, "String")
            fields.append(f'<Field name="{name}"{source} type="{kind}"/>')
    return "".join(fields)


def _vrt(columns: list[str]) -> str:
    """An OGR VRT layer over the CSV read from standard input: explicit field types, the
    geometry from the WKT column."""
    return (
        '<OGRVRTDataSource><OGRVRTLayer name="feedback">'
        "<SrcDataSource>CSV:/vsistdin/</SrcDataSource>"
        '<OpenOptions><OOI key="EMPTY_STRING_AS_NULL">YES</OOI></OpenOptions>'
        "<SrcLayer>layer</SrcLayer><GeometryType>wkbUnknown</GeometryType>"
        '<GeometryField encoding="WKT" field="geometry"/>'
        f"{_fields(columns, named=False)}</OGRVRTLayer></OGRVRTDataSource>"
    )


def _xml_text(text: str) -> str:
    """Text as XML element content that reads back as itself: ``& < >`` escaped, a carriage
    return as a character reference (a conforming XML reader turns a raw CR, or CR LF, into
    LF; GDAL 3.6's keeps it, and reads the reference as CR too). GDAL keeps the other
    characters as they are, control characters included (tested)."""
    return escape(text, {"\r": "&#13;"})


def _database_vrt(database: str, sql: str, columns: list[str]) -> str:
    """An OGR VRT layer over the "map-gdal" SELECT run by GDAL on the database (a SpatiaLite
    file or a ``PG:`` connection string): the same explicit field types as :func:`_vrt`, the
    geometry from the statement's geometry column (``_GDAL_GEOMETRY``)."""
    return (
        '<OGRVRTDataSource><OGRVRTLayer name="feedback">'
        f"<SrcDataSource>{_xml_text(database)}</SrcDataSource>"
        f"<SrcSQL>{_xml_text(sql)}</SrcSQL>"
        "<GeometryType>wkbUnknown</GeometryType>"
        f"{_GDAL_GEOMETRY[connection.vendor]}"
        f"{_fields(columns, named=True)}</OGRVRTLayer></OGRVRTDataSource>"
    )


def _ogr2ogr(
    *,
    vrt: str,
    path: str,
    feed: Callable[[BinaryIO], int] | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[int, str, int]:
    """Run ``ogr2ogr`` from the VRT into a GeoPackage at ``path`` (layer ``feedback``, any
    geometry type, EPSG:4326), ``feed`` writing its standard input, ``environ`` added to its
    environment: (exit status, its messages, what ``feed`` returned)."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise RuntimeError("ogr2ogr (gdal-bin) is needed for GeoPackage exports.")
    folder = tempfile.mkdtemp(prefix="feedback-")
    try:
        source = os.path.join(folder, "feedback.vrt")
        with open(source, "w", encoding="utf-8") as handle:
            handle.write(vrt)
        errors = open(os.path.join(folder, "errors.txt"), "w+b")  # noqa: SIM115 - closed below
        command = [
            ogr2ogr, "--config", "OGR_SQLITE_CACHE", str(OGR2OGR_SQLITE_CACHE_MB), "-f", "GPKG",
            path, source, "-nln", "feedback", "-nlt", "GEOMETRY", "-a_srs", "EPSG:4326",
        ]  # fmt: skip
        # A fixed program and arguments over our own files.
        process = subprocess.Popen(  # noqa: S603
            command,
            stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, **environ} if environ else None,
        )
        fed = 0
        try:
            if feed is not None:
                with process.stdin as pipe:
                    fed = feed(pipe)
        except BrokenPipeError:
            pass  # ogr2ogr stopped early: its exit status and message say why
        finally:
            # A blocking wait returns as ogr2ogr exits; wait(timeout=…) polls with sleeps of up
            # to 50 ms and saw the exit 18 ms late on average (measured), all of it added to
            # the export. The timer ends a run that takes too long (its status is then -9).
            timer = threading.Timer(OGR2OGR_TIMEOUT, process.kill)
            timer.start()
            try:
                code = process.wait()
            finally:
                timer.cancel()
        errors.seek(0)
        message = errors.read().decode("utf-8", "replace")
        errors.close()
        return code, message, fed
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_gpkg(
    *, batches: Iterator[list[tuple]], columns: list[str], path: str, lines: bool = True
) -> int:
    """A GeoPackage from rows in the "map-csv" form (or "map" with ``lines=False``): layer
    ``feedback``, EPSG:4326, Integer/DateTime/String fields (an empty text is NULL); returns
    the row count.

    The rows go as CSV through a pipe into ``ogr2ogr`` while it writes, so reading the
    database and writing the GeoPackage overlap and nothing is staged on disk."""

    def feed(pipe: BinaryIO) -> int:
        count = 0
        pipe.write(_csv_header(columns).encode("utf-8"))
        for batch in batches:
            pipe.write(_csv_text(batch, lines).encode("utf-8"))
            count += len(batch)
        return count

    code, message, count = _ogr2ogr(vrt=_vrt(columns), path=path, feed=feed)
    if code:
        raise RuntimeError(f"ogr2ogr could not write the GeoPackage: {message[-2000:]}")
    return count


def database_file_for_gdal() -> str | None:
    """The SpatiaLite file ``ogr2ogr`` may read the export from itself, or None: not on another
    database (PostgreSQL: :func:`postgresql_source_for_gdal`), nor inside a transaction (another
    reader would not see its uncommitted rows), nor for an in-memory database (the tests') or a
    file this process cannot read."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    name = str(connection.settings_dict["NAME"])
    if connection.is_in_memory_db() or not os.path.isfile(name) or not os.access(name, os.R_OK):
        return None
    return name


@functools.cache
def _libpq_settings() -> dict[str, tuple[str | None, bool]]:
    """Every libpq connection setting: keyword -> (its environment variable or None, whether it
    is secret or for debugging only: a password, a key)."""
    return {
        option.keyword.decode(): (
            option.envvar.decode() if option.envvar else None,
            option.dispchar in (b"*", b"D"),
        )
        for option in pq.Conninfo.get_defaults()
    }


def postgresql_source_for_gdal() -> tuple[str, dict[str, str]] | None:
    """(the ``PG:`` connection string, environment variables) with which ``ogr2ogr`` may read
    the export from the PostgreSQL database itself, or None: not on PostgreSQL, nor inside a
    transaction (another connection would not see its uncommitted rows), nor where Django
    switches role after connecting (``OPTIONS["assume_role"]``: GDAL would read as the login
    role), nor with a secret libpq takes only from the connection string (``sslpassword``).

    The settings are Django's own for its connection (``get_connection_params``: ``NAME``,
    ``HOST``, ``PORT``, ``USER``, ``PASSWORD``, the libpq ones of ``OPTIONS`` such as
    ``sslmode``). Database, host, port and user are written into the connection string,
    quoted by psycopg (``make_conninfo``); the password and every other setting that has an
    environment variable (``PGPASSWORD``, ``PGSSLMODE``, …) go into ogr2ogr's environment, so
    no password is ever in its arguments or in the VRT file. Django's and psycopg's own
    options (the pool, prepared statements) are not libpq's and are left out."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    if not connection.get_autocommit() or connection.settings_dict["OPTIONS"].get("assume_role"):
        return None
    known = _libpq_settings()
    named: dict[str, str] = {}
    environ: dict[str, str] = {}
    for keyword, value in connection.get_connection_params().items():
        if keyword not in known or value is None:
            continue
        variable, secret = known[keyword]
        if keyword in _NAMED_LIBPQ_SETTINGS or (variable is None and not secret):
            named[keyword] = str(value)
        elif variable is not None:
            environ[variable] = str(value)
        else:
            return None
    return "PG:" + make_conninfo("", **named), environ


def database_source_for_gdal() -> tuple[str, dict[str, str]] | None:
    """(what ``ogr2ogr`` opens, environment variables it needs) to read the export from the
    database itself, or None (:func:`database_file_for_gdal`,
    :func:`postgresql_source_for_gdal`)."""
    if connection.vendor == "postgresql":
        return postgresql_source_for_gdal()
    database = database_file_for_gdal()
    return None if database is None else (database, {})


def write_gpkg_from_database(
    *, discussion: Discussion, filters: FeedbackFilters, personal_data: bool, path: str
) -> int | None:
    """The GeoPackage of :func:`write_gpkg` made by ``ogr2ogr`` running the export's "map-gdal"
    statement on the database itself (the SpatiaLite file, or PostgreSQL through a connection
    of its own), so no row passes through this process; returns the row count, or None where
    it cannot (see :func:`database_source_for_gdal`, or a parameter that is not written in
    safely) or GDAL failed: then the caller uses :func:`write_gpkg`. The layer is the pipe's,
    field for field (tested), but that a carriage return in stored text stays one, where
    GDAL's CSV reader makes it a line feed (text entered through the app has none).

    Same snapshot rule as the cursor. On PostgreSQL GDAL reads the statement through a cursor
    in a transaction of its own: one MVCC snapshot of the committed rows as they were when it
    started, writers never wait. On SQLite GDAL's one statement holds its read until it ends
    (the rows as they were when it started), and writers wait for it as they would for our
    cursor. GDAL gives up on a database a writer holds locked after about 5 s (an ERROR, exit
    status 0; ``OGR_SQLITE_PRAGMA=busy_timeout`` did not lengthen it, measured): then the pipe,
    whose connection waits the settings' lock timeout."""
    source = database_source_for_gdal()
    if source is None:
        return None
    database, environ = source
    statement = feedback_export_statement(
        discussion=discussion, filters=filters, personal_data=personal_data, form="map-gdal"
    )
    if statement is None:
        return None
    columns, sql = statement
    vrt = _database_vrt(database, sql, columns)
    code, message, _fed = _ogr2ogr(vrt=vrt, path=path, environ=environ)
    # A VRT source that fails (a file that is not a database, a database that cannot be
    # reached, a statement the database refuses, a read stopped half-way) is reported as an
    # ERROR while ogr2ogr may still exit 0 with the rows it got: after any error this
    # GeoPackage is not to be trusted.
    if code or _GDAL_ERROR.search(message):
        logger.warning("ogr2ogr could not read the database: %s", message[-2000:])
        if os.path.exists(path):
            os.unlink(path)
        return None
    with closing(sqlite3.connect(path)) as written:
        return written.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]


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
