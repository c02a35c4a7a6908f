"""Reads of discussions, comments and pinned feedback."""

from __future__ import annotations

import functools
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Field,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from psycopg import Error as PsycopgError

from engage.models import (
    Comment,
    Discussion,
    ExportRecord,
    FeedbackCategory,
    Flag,
    ModerationLogEntry,
    Reaction,
)
from engage.validation import Problem
from landuse.prepared import fetch_all

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def discussion_list_published() -> QuerySet[Discussion]:
    return Discussion.objects.filter(is_published=True).prefetch_related(
        Prefetch("categories", queryset=FeedbackCategory.objects.order_by("order", "pk"))
    )


def discussion_get_published(*, discussion_id: int) -> Discussion | None:
    """The discussion if it exists and is published; unpublished ones do not exist publicly."""
    return discussion_list_published().filter(pk=discussion_id).first()


# What posting a comment reads of its discussion (``services.comment_create``): the rules of
# who may post and when, moderation, the word list, reply depth, the plan area. The other
# columns (title, page, timestamps) stay deferred.
POSTING_FIELDS = frozenset(
    {"id", "is_published", "opens_at", "closes_at", "moderation", "allow_anonymous",
     "plan_area", "max_reply_depth", "edit_window", "held_words"}
)  # fmt: skip


def discussion_for_posting(*, discussion_id: int) -> Discussion | None:
    """The published discussion with only :data:`POSTING_FIELDS` loaded (any other field loads
    on first use), or None.

    Every comment POST reads it, so on PostGIS it is one prepared statement: building the
    queryset, compiling it, planning it and setting up loaders for every column were most of
    the read (py-spy over sequential POSTs: a third of the view, as much as the insert).
    """
    low, high = connection.ops.integer_field_range(Discussion._meta.pk.get_internal_type())
    if not low <= discussion_id <= high:
        return None  # no such row; as a bound parameter it would be refused (a 500)
    fields, text = _posting_statement(connection.vendor)
    rows = fetch_all(text, [discussion_id])  # prepared on PostGIS
    if not rows:
        return None
    values = []
    for field, value in zip(fields, rows[0], strict=True):
        # The conversions a queryset applies (booleans, datetimes and durations on SQLite,
        # geometries on both).
        column = field.get_col(Discussion._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    return Discussion.from_db(connection.alias, [f.attname for f in fields], values)


@functools.cache
def _posting_statement(vendor: str) -> tuple[list[Field], str]:
    quote = connection.ops.quote_name
    fields = [f for f in Discussion._meta.concrete_fields if f.name in POSTING_FIELDS]
    table = quote(Discussion._meta.db_table)
    # Geometries in the form the backend's converter reads (EWKB on SpatiaLite), as a queryset
    # selects them.
    columns = [
        connection.ops.select % quote(f.column) if isinstance(f, GeometryField) else quote(f.column)
        for f in fields
    ]
    text = (
        f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608
        f" WHERE {quote('id')} = %s AND {quote('is_published')}"
    )
    return fields, text


def discussion_is_live(*, discussion_id: int) -> bool:
    return Discussion.objects.filter(pk=discussion_id, is_published=True).exists()


def _with_reaction_counts(queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    return queryset.annotate(
        agree_count=Count("reactions", filter=Q(reactions__value="agree")),
        disagree_count=Count("reactions", filter=Q(reactions__value="disagree")),
    )


def comment_list_published(
    *, discussion: Discussion, after: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Comment], bool]:
    """Published comments in id order after ``after``; returns (page, has_more)."""
    queryset = Comment.objects.filter(discussion=discussion, status=Comment.Status.PUBLISHED)
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    rows = list(
        _with_reaction_counts(queryset.select_related("category")).order_by("pk")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def comment_list_changed(
    *, discussion: Discussion, since: datetime, limit: int = MAX_PAGE_SIZE
) -> tuple[list[Comment], bool]:
    """Comments a reader may have seen or may now see that changed at or after ``since``
    (created, edited, withdrawn, hidden, approved), oldest change first; (page, has_more).
    Pending comments are left out; the others go through ``comment_out``, which shows the
    content of published ones only."""
    queryset = Comment.objects.filter(discussion=discussion, changed_at__gte=since).exclude(
        status=Comment.Status.PENDING
    )
    rows = list(
        _with_reaction_counts(queryset.select_related("category")).order_by("changed_at", "pk")[
            : limit + 1
        ]
    )
    return rows[:limit], len(rows) > limit


# What a server-rendered thread shows: published comments, and hidden or withdrawn ones as
# placeholders without content (so the replies under them keep their context).
THREAD_STATUSES = (Comment.Status.PUBLISHED, Comment.Status.HIDDEN, Comment.Status.WITHDRAWN)


def comment_thread_outline(*, discussion: Discussion) -> list[tuple[int, int | None, str, str]]:
    """(id, parent id, status, version) of every comment a thread may show, in id order: enough
    to build and paginate the tree before loading the comments of one page of it. The version
    is ``changed_at`` as the database writes it: every change a reader can see of a comment
    moves it (the live API's catch-up relies on that too), so the outline also tells whether a
    rendered thread is current. Text, because it is only compared: making 200 time zone aware
    datetimes doubled the cost of this query."""
    return list(
        Comment.objects.filter(discussion=discussion, status__in=THREAD_STATUSES)
        .order_by("pk")
        .values_list("pk", "parent_id", "status", Cast("changed_at", TextField()))
    )


def reaction_counts_by_comment(*, comment_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(agree, disagree) of each of these comments that has any reaction, in one query.
    Reactions do not move a comment's ``changed_at``: the page keys its thread on these."""
    if not comment_ids:
        return {}
    rows = (
        Reaction.objects.filter(comment_id__in=comment_ids)
        .values("comment_id")
        .annotate(
            agree=Count("pk", filter=Q(value=Reaction.Value.AGREE)),
            disagree=Count("pk", filter=Q(value=Reaction.Value.DISAGREE)),
        )
        .order_by("comment_id")
    )
    return {row["comment_id"]: (row["agree"], row["disagree"]) for row in rows}


def comment_list_by_ids(*, discussion: Discussion, ids: list[int]) -> dict[int, Comment]:
    """Those comments of the discussion, by id, without their category or reaction counts: the
    page that renders them takes both from what it read first (the discussion's categories,
    :func:`reaction_counts_by_comment`) so that the rendering matches what it is keyed on."""
    return Comment.objects.filter(discussion=discussion, pk__in=ids).in_bulk()


def comment_get(*, comment_id: int) -> Comment | None:
    return Comment.objects.select_related("discussion", "category").filter(pk=comment_id).first()


def reaction_counts(*, comment_id: int) -> dict[str, int]:
    comment = _with_reaction_counts(Comment.objects.filter(pk=comment_id)).first()
    if comment is None:
        return {"agree": 0, "disagree": 0}
    return {"agree": comment.agree_count, "disagree": comment.disagree_count}


def feedback_pinned(
    *, discussion: Discussion, category: FeedbackCategory | None = None
) -> QuerySet[Comment]:
    """Published comments with a geometry, for the map."""
    queryset = Comment.objects.filter(
        discussion=discussion, status=Comment.Status.PUBLISHED, geometry__isnull=False
    )
    if category is not None:
        queryset = queryset.filter(category=category)
    return _with_reaction_counts(queryset.select_related("category")).order_by("pk")


# --- Staff: moderation queue, audit log, exports --------------------------------------------


@dataclass(frozen=True)
class FeedbackFilters:
    """Filters shared by the moderation queue and the exports, parsed from query parameters by
    :meth:`from_query` (a bad value raises a 400 :class:`Problem` naming the parameter)."""

    discussion_id: int | None = None
    statuses: tuple[str, ...] = ()
    category: str | None = None
    since: date | None = None
    until: date | None = None
    zoning_code: str | None = None
    future_land_use_code: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    flagged: bool = False

    PARAMETERS = (
        "discussion", "status", "category", "since", "until", "zoning_code",
        "future_land_use_code", "bbox", "flagged",
    )  # fmt: skip

    @classmethod
    def from_query(
        cls, params: Mapping[str, str], *, ignore: Iterable[str] = ()
    ) -> FeedbackFilters:
        errors: list[dict[str, str]] = []
        values: dict = {}
        allowed = {*cls.PARAMETERS, *ignore}
        for name in params:
            if name not in allowed:
                errors.append({"field": name, "message": "Unknown filter."})

        def text(name: str, limit: int = 100) -> str | None:
            value = (params.get(name) or "").strip()
            if len(value) > limit:
                errors.append({"field": name, "message": f"At most {limit} characters."})
                return None
            return value or None

        discussion = text("discussion")
        if discussion is not None:
            if discussion.isdigit():
                values["discussion_id"] = int(discussion)
            else:
                errors.append({"field": "discussion", "message": "Must be a discussion id."})
        status = text("status", 200)
        if status:
            statuses = tuple(s.strip() for s in status.split(",") if s.strip())
            unknown = [s for s in statuses if s not in Comment.Status.values]
            if unknown:
                errors.append(
                    {
                        "field": "status",
                        "message": f"Each must be one of: {', '.join(Comment.Status.values)}.",
                    }
                )
            values["statuses"] = statuses
        values["category"] = text("category", 50)
        for name in ("since", "until"):
            value = text(name, 10)
            if value is not None:
                try:
                    values[name] = date.fromisoformat(value)
                except ValueError:
                    errors.append({"field": name, "message": "Must be a date like 2026-11-27."})
        values["zoning_code"] = text("zoning_code")
        values["future_land_use_code"] = text("future_land_use_code")
        bbox = text("bbox")
        if bbox is not None:
            try:
                parts = tuple(float(p) for p in bbox.split(","))
                if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
                    raise ValueError
                west, south, east, north = parts
                if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                    raise ValueError
                values["bbox"] = parts
            except ValueError:
                errors.append(
                    {"field": "bbox", "message": "Must be minlon,minlat,maxlon,maxlat in WGS84."}
                )
        flagged = text("flagged", 5)
        if flagged is not None:
            if flagged not in ("1", "0", "true", "false"):
                errors.append({"field": "flagged", "message": "Must be true or false."})
            values["flagged"] = flagged in ("1", "true")
        if values.get("since") and values.get("until") and values["until"] < values["since"]:
            errors.append({"field": "until", "message": "Must not be before since."})
        if errors:
            raise Problem(errors=errors)
        return cls(**values)

    def as_dict(self) -> dict:
        """What was asked, for the export record (only the filters given)."""
        out = {}
        for name, value in self.__dict__.items():
            if value in (None, (), False):
                continue
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out

    def apply(self, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.discussion_id is not None:
            queryset = queryset.filter(discussion_id=self.discussion_id)
        if self.statuses:
            queryset = queryset.filter(status__in=self.statuses)
        if self.category:
            queryset = queryset.filter(category__slug=self.category)
        zone = timezone.get_current_timezone()
        if self.since:
            start = datetime.combine(self.since, time.min, tzinfo=zone)
            queryset = queryset.filter(created_at__gte=start)
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=zone)
            queryset = queryset.filter(created_at__lt=end)
        if self.zoning_code:
            queryset = queryset.filter(zoning_code=self.zoning_code)
        if self.future_land_use_code:
            queryset = queryset.filter(future_land_use_code=self.future_land_use_code)
        if self.bbox:
            # A GEOS polygon built here, never the raw parameter, reaches the spatial lookup.
            queryset = queryset.filter(geometry__intersects=Polygon.from_bbox(self.bbox))
        if self.flagged:
            queryset = queryset.filter(open_flag_count__gt=0)
        return queryset


def _count(model, **conditions) -> Subquery:
    """A correlated COUNT subquery: several counts in one statement without multiplying rows."""
    return Coalesce(
        Subquery(
            model.objects.filter(comment=OuterRef("pk"), **conditions)
            .order_by()
            .values("comment")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        0,
    )


def _with_staff_counts(queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    return queryset.annotate(
        agree_count=_count(Reaction, value="agree"),
        disagree_count=_count(Reaction, value="disagree"),
        open_flag_count=_count(Flag, dismissed_at__isnull=True),
        flag_count=_count(Flag),
    )


def moderation_queue(*, filters: FeedbackFilters) -> QuerySet[Comment]:
    """Comments for the moderators: by default those needing attention (pending, or with open
    flags); pending first, then by number of open flags, then newest first."""
    queryset = _with_staff_counts(
        Comment.objects.select_related("discussion", "category", "parent")
    )
    if not filters.statuses and not filters.flagged:
        queryset = queryset.filter(Q(status=Comment.Status.PENDING) | Q(open_flag_count__gt=0))
    return filters.apply(queryset).order_by(
        Case(When(status=Comment.Status.PENDING, then=0), default=1),
        "-open_flag_count",
        "-created_at",
        "-pk",
    )


def comment_get_for_staff(*, comment_id: int) -> Comment | None:
    return (
        _with_staff_counts(Comment.objects.select_related("discussion", "category"))
        .filter(pk=comment_id)
        .first()
    )


def moderation_log(*, comment_id: int) -> QuerySet[ModerationLogEntry]:
    return ModerationLogEntry.objects.filter(comment_id=comment_id).order_by("created_at", "pk")


def comment_flags(*, comment_id: int) -> QuerySet[Flag]:
    return Flag.objects.filter(comment_id=comment_id).order_by("created_at", "pk")


def discussion_get_any(*, discussion_id: int) -> Discussion | None:
    """Published or not: staff see every discussion."""
    return Discussion.objects.filter(pk=discussion_id).first()


def export_records_recent(*, limit: int = 20) -> list[ExportRecord]:
    return list(
        ExportRecord.objects.select_related("discussion").order_by("-created_at", "-pk")[:limit]
    )


def discussion_list_all() -> QuerySet[Discussion]:
    return Discussion.objects.order_by("title", "pk")


# --- Export rows ----------------------------------------------------------------------------
#
# One SELECT per export, the same statement shape on both backends: the comments of the
# discussion joined to their category, to their reaction and flag counts (each grouped once
# over the discussion rather than counted per row) and to their last moderation decision (a
# window over the discussion's log). Cells, centroids and GeoJSON are made by the database, so
# Python only hands finished rows to the writer. Filters are the ORM's own
# (``FeedbackFilters.apply``), compiled into an ``id IN (…)`` clause when any is given.

EXPORT_COLUMNS = [
    "id", "discussion_id", "discussion", "created_at", "status", "category", "body", "parent_id",
    "author", "agree", "disagree", "flags", "zoning_code", "zoning_label",
    "future_land_use_code", "future_land_use_label", "lon", "lat", "geometry_type",
    "moderation_decision", "moderation_reason",
]  # fmt: skip
PERSONAL_COLUMNS = ["author_email", "ip_hash"]
# The map formats carry the geometry itself instead of its centroid and type.
NOT_MAP_PROPERTIES = ("lon", "lat", "geometry_type")
EXPORT_BATCH = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# How rows are shaped, by who reads them:
# - "cells": spreadsheet cells (CSV): text neutralised against formulas, never NULL text.
# - "sheet": the same for a workbook (XLSX): ``created_at`` in the site's local time, without
#   an offset (Excel has no time zones).
# - "features": one column, a GeoJSON Feature as text (RFC 7946, 7 decimals).
# - "map": the map properties, raw, then the geometry as WKT (for GDAL: the GeoPackage).
# - "raw": every export column, raw, then the geometry as WKT.
# - "cells-csv", "map-csv": the "cells" and "map" rows as one column, the row's CSV line (RFC
#   4180: text quoted, CRLF) made by the database, so Python only joins lines (the CSV writer
#   in Python was most of the CSV and GeoPackage exports' own CPU beside the database).
# - "map-gdal": the "map" rows for GDAL reading the statement itself from the database
#   (``feedback_export_statement``): each column named after its export column, empty text as
#   NULL (as GDAL's CSV reader makes it of the "map-csv" lines). On SpatiaLite the geometry as
#   hexadecimal WKB named "wkb", and the counts and the last decision looked up for each
#   comment rather than joined (``_per_row_columns``: GDAL starts this statement twice); on
#   PostgreSQL the geometry column itself, named "geom" (GDAL's PostgreSQL reader knows it by
#   its type), and the joins as for every other form (there the per-comment lookups cost more
#   than the joins: measured, README "Export cost, measured").
EXPORT_FORMS = ("cells", "sheet", "features", "map", "raw", "cells-csv", "map-csv", "map-gdal")


def export_columns(*, personal_data: bool) -> list[str]:
    return EXPORT_COLUMNS + (PERSONAL_COLUMNS if personal_data else [])


def export_map_properties(*, personal_data: bool) -> list[str]:
    return [c for c in export_columns(personal_data=personal_data) if c not in NOT_MAP_PROPERTIES]


def neutralise(value: str) -> str:
    """Spreadsheet programs run a cell starting with = + - @ tab or CR as a formula: such text
    gets a leading apostrophe (the text itself is kept)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


@dataclass(frozen=True)
class _Dialect:
    """The few expressions that differ between PostGIS and SpatiaLite."""

    landuse_label: str  # .format(kind=…): the label of the first land-use answer of that kind
    lon: str
    lat: str
    geometry_type: str
    created_iso: str  # as Python's isoformat() of the UTC time
    created_local: str  # .format(zone=…): local time, ISO 8601 without an offset
    geojson: str
    wkt: str
    gdal_geometry: str  # the "map-gdal" geometry column, named as exports._GDAL_GEOMETRY reads it
    feature_text: str  # .format(pairs=…, geojson=…)
    first_code: str  # .format(…): the code point of the first character
    crlf: str  # the CSV line end


_POSTGIS = _Dialect(
    landuse_label=(
        "COALESCE(jsonb_path_query_first(c.landuse, "
        "'$[*] ? (@.kind == \"{kind}\").label') #>> '{{}}', '')"
    ),
    lon="round(ST_X(ST_Centroid(c.geometry)) * 1e7) / 1e7",
    lat="round(ST_Y(ST_Centroid(c.geometry)) * 1e7) / 1e7",
    geometry_type="COALESCE(replace(ST_GeometryType(c.geometry), 'ST_', ''), '')",
    created_iso=(
        "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    ),
    created_local=("to_char(c.created_at AT TIME ZONE {zone}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"),
    geojson="ST_AsGeoJSON(c.geometry, 7)::json",
    wkt="ST_AsText(c.geometry)",
    gdal_geometry='c.geometry AS "geom"',
    feature_text=(
        "json_build_object('type', 'Feature', 'id', c.id, 'geometry', {geojson}, "
        "'properties', json_build_object({pairs}))::text"
    ),
    first_code="ascii({0})",
    crlf="chr(13) || chr(10)",
)
_SPATIALITE_TYPES = {
    "POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint", "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon", "GEOMETRYCOLLECTION": "GeometryCollection",
}  # fmt: skip
_SPATIALITE = _Dialect(
    landuse_label=(
        "COALESCE((SELECT json_extract(a.value, '$.label') FROM json_each(c.landuse) a "
        "WHERE json_extract(a.value, '$.kind') = '{kind}' LIMIT 1), '')"
    ),
    # X()/Y() read a point's own coordinate (NULL for other shapes): GEOS only for the rest.
    lon="round(COALESCE(X(c.geometry), X(Centroid(c.geometry))), 7)",
    lat="round(COALESCE(Y(c.geometry), Y(Centroid(c.geometry))), 7)",
    geometry_type=(
        "CASE GeometryType(c.geometry) "
        + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _SPATIALITE_TYPES.items())
        + " ELSE COALESCE(GeometryType(c.geometry), '') END"
    ),
    created_iso="replace(c.created_at, ' ', 'T') || '+00:00'",
    # SQLite knows one local time zone, the process's: Django sets it (TZ) to TIME_ZONE.
    created_local="strftime('%%Y-%%m-%%dT%%H:%%M:%%f', c.created_at, 'localtime')",
    geojson="json(AsGeoJSON(c.geometry, 7))",
    wkt="AsText(c.geometry)",
    # As WKB in hexadecimal text (every coordinate as stored): see _select_list.
    gdal_geometry='Hex(AsBinary(c.geometry)) AS "wkb"',
    feature_text=(
        "json_object('type', 'Feature', 'id', c.id, 'geometry', {geojson}, "
        "'properties', json_object({pairs}))"
    ),
    first_code="unicode({0})",
    crlf="char(13, 10)",
)


def _neutralised_sql(sql: str, dialect: _Dialect) -> str:
    """:func:`neutralise` in SQL."""
    codes = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
    first = dialect.first_code.format(sql)
    return f"CASE WHEN {first} IN ({codes}) THEN '''' || {sql} ELSE {sql} END"


def _column_sql(dialect: _Dialect, email: str, per_row: bool = False) -> dict[str, tuple[str, str]]:
    """name -> (kind, raw SQL expression); ``discussion`` is a parameter (the title).
    ``per_row``: the counts and the last decision looked up for each comment (see
    :func:`_per_row_columns`) instead of read from the joined tables ``r``, ``f``, ``d``."""
    columns = {
        "id": ("int", "c.id"),
        "discussion_id": ("int", "c.discussion_id"),
        "discussion": ("param", "CAST(%s AS TEXT)"),
        "created_at": ("time", dialect.created_iso),
        # "fixed": text that cannot start like a formula (a choice, a hex hash, a type).
        "status": ("fixed", "c.status"),
        "category": ("text", "COALESCE(cat.slug, '')"),
        "body": ("text", "c.body"),
        "parent_id": ("int", "c.parent_id"),
        "author": ("text", "c.display_name"),
        "agree": ("int", "COALESCE(r.agree, 0)"),
        "disagree": ("int", "COALESCE(r.disagree, 0)"),
        "flags": ("int", "COALESCE(f.flags, 0)"),
        "zoning_code": ("text", "c.zoning_code"),
        "zoning_label": ("text", dialect.landuse_label.format(kind="zoning")),
        "future_land_use_code": ("text", "c.future_land_use_code"),
        "future_land_use_label": ("text", dialect.landuse_label.format(kind="future_land_use")),
        "lon": ("float", dialect.lon),
        "lat": ("float", dialect.lat),
        "geometry_type": ("fixed", dialect.geometry_type),
        "moderation_decision": (
            "fixed",
            "CASE WHEN d.action IS NULL OR d.action = '' THEN '' "
            "ELSE d.action || ' by ' || COALESCE(NULLIF(d.actor_name, ''), 'word list') END",
        ),
        "moderation_reason": ("text", "c.moderation_reason"),
        "author_email": ("text", f"COALESCE(u.{email}, '')"),
        "ip_hash": ("fixed", "c.ip_hash"),
    }
    if per_row:
        columns.update(_per_row_columns())
    return columns


def _per_row_columns() -> dict[str, tuple[str, str]]:
    """The columns that come from the joined tables ``r``, ``f`` and ``d`` as subqueries run
    for each comment (over the reactions', flags' and log's comment index), the same values.

    The joins are built when the statement starts (every reaction, flag and log entry of the
    discussion grouped, then indexed), the subqueries as each row is read. GDAL starts the
    "map-gdal" statement twice, once to learn its columns and again when the VRT resets its
    source before reading (an SQLite SELECT layer restarts on any spatial filter call, even
    a null one). With the joins, that start was 7 % of the whole ogr2ogr run, paid twice
    (152 of 2,077 million instructions at 10k rows, callgrind); looked up per row, it is
    next to nothing and the rows cost the same."""
    reaction, flag = Reaction._meta.db_table, Flag._meta.db_table
    log = ModerationLogEntry._meta.db_table

    def reactions(value: str) -> str:
        return (
            f"(SELECT COUNT(*) FROM {reaction} x "  # noqa: S608 - a table name and our word
            f"WHERE x.comment_id = c.id AND x.value = '{value}')"
        )

    return {
        "agree": ("int", reactions("agree")),
        "disagree": ("int", reactions("disagree")),
        "flags": ("int", f"(SELECT COUNT(*) FROM {flag} x WHERE x.comment_id = c.id)"),  # noqa: S608
        "moderation_decision": (
            "fixed",
            "COALESCE((SELECT CASE WHEN x.action IS NULL OR x.action = '' THEN '' "  # noqa: S608
            "ELSE x.action || ' by ' || COALESCE(NULLIF(x.actor_name, ''), 'word list') END "
            f"FROM {log} x WHERE x.comment_id = c.id AND x.discussion_id = c.discussion_id "
            "ORDER BY x.created_at DESC, x.id DESC LIMIT 1), '')",
        ),
    }


def _csv_line_sql(kinds_and_sql: list[tuple[str, str]], dialect: _Dialect) -> str:
    """One CSV line from SQL expressions, as Python's csv module reads it: numbers bare, text
    always quoted (inner quotes doubled), NULL as an empty field, CRLF at the end."""
    fields = [
        f"COALESCE(CAST({sql} AS TEXT), '')"
        if kind in ("int", "float")
        else f"'\"' || replace(COALESCE({sql}, ''), '\"', '\"\"') || '\"'"
        for kind, sql in kinds_and_sql
    ]
    return " || ',' || ".join(fields) + f" || {dialect.crlf}"


def _select_list(
    *,
    form: str,
    personal_data: bool,
    title: str,
    dialect: _Dialect,
    email: str,
    per_row: bool = False,
) -> tuple[list[str], str, list]:
    """(column names, the SELECT list, its parameters) for one form; ``per_row``: see
    :func:`_column_sql`."""
    base = form.removesuffix("-csv").removesuffix("-gdal")
    names, parts, params = _select_list_parts(
        form=base, personal_data=personal_data, title=title, dialect=dialect, email=email,
        per_row=per_row,
    )  # fmt: skip
    if form.endswith("-csv"):
        return names, _csv_line_sql(parts, dialect), params
    if form.endswith("-gdal"):
        # On SpatiaLite the geometry as hexadecimal WKB text under a name GDAL leaves alone:
        # GDAL's SQLite reader takes a column's kind from the first row, so a native geometry
        # (or binary WKB) column is recognised only when the first comment has a pin, and a
        # column named "geometry" is taken for a geometry of its own guessing. Text is always
        # text; the VRT decodes it (cheaper than WKT both to make and to read: measured).
        # GDAL's PostgreSQL reader knows a geometry column by its type, whatever the first
        # row holds, and reads it as PostGIS sends it.
        named = []
        for name, (kind, sql) in zip(names[:-1], parts[:-1], strict=True):
            value = sql if kind in ("int", "float") else f"NULLIF({sql}, '')"
            named.append(f'{value} AS "{name}"')  # our export column names, never input
        named.append(dialect.gdal_geometry)
        return names, ", ".join(named), params
    return names, ", ".join(sql for _kind, sql in parts), params


def _select_list_parts(
    *,
    form: str,
    personal_data: bool,
    title: str,
    dialect: _Dialect,
    email: str,
    per_row: bool = False,
) -> tuple[list[str], list[tuple[str, str]], list]:
    """(column names, (kind, SQL) of each column, parameters) for one form."""
    exprs = _column_sql(dialect, email, per_row)
    if form == "features":
        names = export_map_properties(personal_data=personal_data)
        pairs = ", ".join(f"'{name}', {exprs[name][1]}" for name in names)
        feature = dialect.feature_text.format(pairs=pairs, geojson=dialect.geojson)
        return ["feature"], [("text", feature)], [title]
    if form in ("cells", "sheet"):
        names = export_columns(personal_data=personal_data)
        if form == "sheet":
            zone = "'" + settings.TIME_ZONE.replace("'", "''") + "'"
            exprs["created_at"] = ("time", dialect.created_local.format(zone=zone))
        select = [
            (kind, _neutralised_sql(sql, dialect) if kind == "text" else sql)
            for kind, sql in (exprs[name] for name in names)
        ]
        return names, select, [neutralise(title)]  # one value: neutralised once, here
    names = (
        export_map_properties(personal_data=personal_data)
        if form == "map"
        else export_columns(personal_data=personal_data)
    )
    select = [exprs[name] for name in names] + [("text", dialect.wkt)]
    return [*names, "geometry"], select, [title]


def feedback_export_query(
    *, discussion: Discussion, filters: FeedbackFilters, personal_data: bool, form: str
) -> tuple[list[str], str, list]:
    """The export's one statement for Django's cursor: (column names, SQL, parameters)."""
    if form not in EXPORT_FORMS:
        raise ValueError(f"form must be one of {EXPORT_FORMS}")
    dialect = _POSTGIS if connection.vendor == "postgresql" else _SPATIALITE
    user_model = get_user_model()
    email = user_model._meta.get_field(user_model.get_email_field_name()).column
    # Per-comment lookups for GDAL on SQLite only (_per_row_columns; EXPORT_FORMS).
    per_row = form == "map-gdal" and dialect is _SPATIALITE
    names, select, params = _select_list(
        form=form, personal_data=personal_data, title=discussion.title, dialect=dialect,
        email=email, per_row=per_row,
    )  # fmt: skip
    comment = Comment._meta.db_table
    user_join = (
        f"LEFT JOIN {user_model._meta.db_table} u ON u.id = c.author_id " if personal_data else ""
    )
    # Only table names from the models and fixed expressions are formatted in; every value
    # (ids, the title, the filters) is a parameter.
    start = (
        f"SELECT {select} FROM {comment} c "  # noqa: S608
        f"LEFT JOIN {FeedbackCategory._meta.db_table} cat ON cat.id = c.category_id "
    )
    if per_row:  # no joined counts: looked up per comment (_per_row_columns)
        sql = f"{start}{user_join}WHERE c.discussion_id = %s"
        params.append(discussion.pk)
        if filters.flagged:
            sql += (
                f" AND EXISTS (SELECT 1 FROM {Flag._meta.db_table} x "  # noqa: S608
                "WHERE x.comment_id = c.id AND x.dismissed_at IS NULL)"
            )
        return (names, *_with_other_filters(sql, params, discussion, filters))
    sql = (
        f"{start}"  # noqa: S608
        "LEFT JOIN (SELECT x.comment_id, "
        "SUM(CASE WHEN x.value = 'agree' THEN 1 ELSE 0 END) AS agree, "
        "SUM(CASE WHEN x.value = 'disagree' THEN 1 ELSE 0 END) AS disagree "
        f"FROM {Reaction._meta.db_table} x JOIN {comment} xc ON xc.id = x.comment_id "
        "WHERE xc.discussion_id = %s GROUP BY x.comment_id) r ON r.comment_id = c.id "
        "LEFT JOIN (SELECT x.comment_id, COUNT(*) AS flags, "
        "SUM(CASE WHEN x.dismissed_at IS NULL THEN 1 ELSE 0 END) AS open_flags "
        f"FROM {Flag._meta.db_table} x JOIN {comment} xc ON xc.id = x.comment_id "
        "WHERE xc.discussion_id = %s GROUP BY x.comment_id) f ON f.comment_id = c.id "
        "LEFT JOIN (SELECT ranked.comment_id, ranked.action, ranked.actor_name FROM ("
        "SELECT x.comment_id, x.action, x.actor_name, ROW_NUMBER() OVER ("
        "PARTITION BY x.comment_id ORDER BY x.created_at DESC, x.id DESC) AS n "
        f"FROM {ModerationLogEntry._meta.db_table} x WHERE x.discussion_id = %s) ranked "
        "WHERE ranked.n = 1) d ON d.comment_id = c.id "
        f"{user_join}"
        "WHERE c.discussion_id = %s"
    )
    params += [discussion.pk] * 4
    if filters.flagged:
        sql += " AND f.open_flags > 0"
    return (names, *_with_other_filters(sql, params, discussion, filters))


def _with_other_filters(
    sql: str, params: list, discussion: Discussion, filters: FeedbackFilters
) -> tuple[str, list]:
    """The statement with the filters but ``flagged`` (each statement has its own) and its
    order: (SQL, parameters)."""
    rest = replace(filters, flagged=False, discussion_id=None)
    if rest != FeedbackFilters():
        ids = rest.apply(Comment.objects.filter(discussion=discussion)).order_by().values("pk")
        ids_sql, ids_params = ids.query.sql_with_params()
        sql += f" AND c.id IN ({ids_sql})"
        params += list(ids_params)
    return sql + " ORDER BY c.id", params


def feedback_export_statement(
    *, discussion: Discussion, filters: FeedbackFilters, personal_data: bool, form: str
) -> tuple[list[str], str] | None:
    """The export's statement with its parameters written in, for another program reading the
    same database (``ogr2ogr``), which has no way to bind them: (column names, SQL), or None
    when a parameter cannot be written in safely.

    On SQLite each is written by :func:`_sqlite_literal`. On PostgreSQL psycopg writes them
    (``compose_sql``: its client-side binding, with the live connection's adapters, the
    PostGIS ones included), as it would quote them for the server itself; a value it refuses
    (text with a NUL, a lone surrogate) gives None, and the pipe's statement then fails on it
    as it always did."""
    names, sql, params = feedback_export_query(
        discussion=discussion, filters=filters, personal_data=personal_data, form=form
    )
    if connection.vendor == "postgresql":
        try:
            return names, connection.ops.compose_sql(sql, params)
        except (PsycopgError, ValueError):  # ValueError: UnicodeEncodeError
            return None
    if connection.vendor != "sqlite":
        raise ValueError("feedback_export_statement writes SQLite or PostgreSQL literals")
    literals = [_sqlite_literal(value) for value in params]
    if None in literals:
        return None
    values = iter(literals)
    # How Django's SQLite backend reads its own placeholders: %s a parameter, %% a percent sign;
    # one pass, so nothing written in is read again.
    text = re.sub(r"%%|%s", lambda m: "%" if m.group(0) == "%%" else next(values), sql)
    if next(values, None) is not None:
        raise ValueError("more parameters than placeholders")
    return names, text


def _sqlite_literal(value: object) -> str | None:
    """A parameter as a SQLite literal that can only ever be that value: integers and finite
    floats as numbers in parentheses (so a minus sign never meets another), text as its UTF-8
    bytes in hexadecimal cast to TEXT (no quote, backslash or line end of the text reaches the
    statement, so nothing in it can close the literal); None for any other kind."""
    conform = getattr(value, "__conform__", None)
    if conform is not None:  # what the sqlite3 module would bind: a geometry's WKT
        value = conform(sqlite3.PrepareProtocol)
    if value is None:
        return "NULL"
    if isinstance(value, int):  # bool included: 0 or 1, as sqlite3 binds it
        return f"({int(value)})"
    if isinstance(value, float):
        return f"({value!r})" if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return f"CAST(X'{value.encode('utf-8').hex()}' AS TEXT)"
        except UnicodeEncodeError:  # a lone surrogate: not text SQLite would take either
            return None
    return None


def feedback_export_batches(
    *, discussion: Discussion, filters: FeedbackFilters, personal_data: bool, form: str
) -> tuple[list[str], Iterator[list[tuple]]]:
    """(column names, batches of row tuples) of every comment of the discussion matching
    ``filters``, oldest first; ``form`` is one of ``EXPORT_FORMS``.

    One snapshot: the rows, their counts and their last moderation decision come from ONE
    SELECT read through a cursor. On PostgreSQL that statement sees one MVCC snapshot however
    long the download takes (a server-side cursor); on SQLite (SpatiaLite) a statement holds its
    read transaction until the cursor is exhausted, so it sees the database as it was when it
    started (WAL mode) or keeps writers waiting (rollback journal). The cursor is opened by the
    first ``next()`` (in the thread that will read it) and closed when the batches run out or
    are closed."""
    names, sql, params = feedback_export_query(
        discussion=discussion, filters=filters, personal_data=personal_data, form=form
    )

    def batches() -> Iterator[list[tuple]]:
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(EXPORT_BATCH):
                yield batch
        finally:
            cursor.close()

    return names, batches()


def feedback_export_rows(
    *, discussion: Discussion, filters: FeedbackFilters, personal_data: bool
) -> Iterator[dict]:
    """The same rows one at a time as dicts of raw values (``created_at`` as ISO 8601 text in
    UTC, ``geometry`` as WKT or None), for callers that want names more than speed."""
    names, batches = feedback_export_batches(
        discussion=discussion, filters=filters, personal_data=personal_data, form="raw"
    )
    try:
        for batch in batches:
            for row in batch:
                yield dict(zip(names, row, strict=True))
    finally:
        batches.close()


def _label(landuse: list[dict], kind: str) -> str:
    return next((a.get("label", "") for a in landuse or [] if a.get("kind") == kind), "")


# --- Summary report -------------------------------------------------------------------------

MAP_WIDTH, MAP_HEIGHT = 640, 420


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    colour: str
    label: str


@dataclass(frozen=True)
class FeedbackReport:
    discussion: Discussion
    filters: FeedbackFilters
    total: int
    by_category: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    by_zoning: list[tuple[str, str, int]]
    by_future_land_use: list[tuple[str, str, int]]
    by_day: list[tuple[date, int]]
    top_agreed: list[Comment]
    map_points: list[MapPoint]
    map_outline: str  # an SVG path in the map's pixel space ("" without a plan area)
    map_width: int = MAP_WIDTH
    map_height: int = MAP_HEIGHT


def _projector(extent: tuple[float, float, float, float]):
    """lon/lat -> SVG pixels, equirectangular scaled by cos(latitude) (good for a city)."""
    west, south, east, north = extent
    mid = math.radians((south + north) / 2)
    width = max((east - west) * math.cos(mid), 1e-9)
    height = max(north - south, 1e-9)
    scale = min((MAP_WIDTH - 20) / width, (MAP_HEIGHT - 20) / height)
    x0 = (MAP_WIDTH - width * scale) / 2
    y0 = (MAP_HEIGHT - height * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (
            round(x0 + (lon - west) * math.cos(mid) * scale, 1),
            round(MAP_HEIGHT - y0 - (lat - south) * scale, 1),
        )

    return project


def feedback_report(*, discussion: Discussion, filters: FeedbackFilters) -> FeedbackReport:
    """Counts and a map figure for the printable summary of a discussion's feedback."""
    base = filters.apply(
        _with_staff_counts(Comment.objects.filter(discussion=discussion))
    ).order_by()
    labels = {c.slug: c.label for c in discussion.categories.all()}
    colours = {c.slug: c.colour for c in discussion.categories.all()}
    status_labels = dict(Comment.Status.choices)

    def grouped(*fields: str):
        return base.values(*fields).annotate(n=Count("pk", distinct=True)).order_by("-n", *fields)

    by_category = [
        (labels.get(r["category__slug"], r["category__slug"] or "(none)"), r["n"])
        for r in grouped("category__slug")
    ]
    by_status = [
        (str(status_labels.get(r["status"], r["status"])), r["n"]) for r in grouped("status")
    ]
    zoning_labels: dict[str, str] = {}
    flu_labels: dict[str, str] = {}
    pinned = []
    day_counts: dict[date, int] = {}
    for row in base.values("zoning_code", "future_land_use_code", "landuse", "geometry",
                           "category__slug", "created_at", "pk"):  # fmt: skip
        if row["zoning_code"]:
            zoning_labels[row["zoning_code"]] = _label(row["landuse"], "zoning")
        if row["future_land_use_code"]:
            flu_labels[row["future_land_use_code"]] = _label(row["landuse"], "future_land_use")
        day = timezone.localtime(row["created_at"]).date()
        day_counts[day] = day_counts.get(day, 0) + 1
        if row["geometry"] is not None:
            pinned.append(row)
    by_zoning = [
        (
            r["zoning_code"] or "(outside any district / no pin)",
            zoning_labels.get(r["zoning_code"], ""),
            r["n"],
        )
        for r in grouped("zoning_code")
    ]
    by_flu = [
        (
            r["future_land_use_code"] or "(none / no pin)",
            flu_labels.get(r["future_land_use_code"], ""),
            r["n"],
        )
        for r in grouped("future_land_use_code")
    ]
    top_agreed = list(
        base.filter(status=Comment.Status.PUBLISHED, agree_count__gt=0)
        .select_related("category")
        .order_by("-agree_count", "pk")[:10]
    )

    area = discussion.plan_area
    points = [
        (g if g.geom_type == "Point" else g.centroid, row)
        for row in pinned
        for g in [row["geometry"]]
    ]
    if area is not None:
        extent = area.extent
    elif points:
        xs = [p.x for p, _ in points]
        ys = [p.y for p, _ in points]
        pad = 0.005
        extent = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
    else:
        extent = None
    map_points: list[MapPoint] = []
    outline = ""
    if extent is not None:
        project = _projector(extent)
        for point, row in points:
            x, y = project(point.x, point.y)
            slug = row["category__slug"]
            map_points.append(
                MapPoint(x=x, y=y, colour=colours.get(slug, "#444444"), label=f"#{row['pk']}")
            )
        if area is not None:
            parts = []
            for polygon in area:
                for ring in polygon:
                    coords = [project(x, y) for x, y in ring.coords]
                    parts.append("M" + " L".join(f"{x},{y}" for x, y in coords) + " Z")
            outline = " ".join(parts)
    return FeedbackReport(
        discussion=discussion,
        filters=filters,
        total=base.count(),
        by_category=by_category,
        by_status=by_status,
        by_zoning=by_zoning,
        by_future_land_use=by_flu,
        by_day=sorted(day_counts.items()),
        top_agreed=top_agreed,
        map_points=map_points,
        map_outline=outline,
    )
