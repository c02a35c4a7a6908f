"""Reads of discussions, comments and pinned feedback."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.gis.geos import Polygon
from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

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

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def discussion_list_published() -> QuerySet[Discussion]:
    return Discussion.objects.filter(is_published=True).prefetch_related(
        Prefetch("categories", queryset=FeedbackCategory.objects.order_by("order", "pk"))
    )


def discussion_get_published(*, discussion_id: int) -> Discussion | None:
    """The discussion if it exists and is published; unpublished ones do not exist publicly."""
    return discussion_list_published().filter(pk=discussion_id).first()


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


def comment_thread_outline(*, discussion: Discussion) -> list[tuple[int, int | None, str]]:
    """(id, parent id, status) of every comment a thread may show, in id order: enough to
    build and paginate the tree before loading the comments of one page of it."""
    return list(
        Comment.objects.filter(discussion=discussion, status__in=THREAD_STATUSES)
        .order_by("pk")
        .values_list("pk", "parent_id", "status")
    )


def comment_list_by_ids(*, discussion: Discussion, ids: list[int]) -> dict[int, Comment]:
    """Those comments of the discussion, with their category and reaction counts, by id."""
    queryset = Comment.objects.filter(discussion=discussion, pk__in=ids).select_related("category")
    return {comment.pk: comment for comment in _with_reaction_counts(queryset)}


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

EXPORT_COLUMNS = [
    "id", "discussion_id", "discussion", "created_at", "status", "category", "body", "parent_id",
    "author", "agree", "disagree", "flags", "zoning_code", "zoning_label",
    "future_land_use_code", "future_land_use_label", "lon", "lat", "geometry_type",
    "moderation_decision", "moderation_reason",
]  # fmt: skip
PERSONAL_COLUMNS = ["author_email", "ip_hash"]


def export_columns(*, personal_data: bool) -> list[str]:
    return EXPORT_COLUMNS + (PERSONAL_COLUMNS if personal_data else [])


def _label(landuse: list[dict], kind: str) -> str:
    return next((a.get("label", "") for a in landuse or [] if a.get("kind") == kind), "")


def feedback_export_rows(
    *, discussion: Discussion, filters: FeedbackFilters, personal_data: bool
) -> Iterator[dict]:
    """Every comment of the discussion matching ``filters``, oldest first, as flat rows (plus
    ``geometry``, a GEOS geometry or None, for the map formats).

    One snapshot: the rows, their counts and their last moderation decision come from ONE
    SELECT read through a cursor (``.iterator()``). On PostgreSQL that statement sees one MVCC
    snapshot however long the download takes (a server-side cursor); on SQLite (SpatiaLite) a
    statement holds its read transaction until the cursor is exhausted, so it sees the database
    as it was when it started (WAL mode) or keeps writers waiting (rollback journal)."""
    last_decision = ModerationLogEntry.objects.filter(comment=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    queryset = filters.apply(
        _with_staff_counts(Comment.objects.filter(discussion=discussion))
    ).annotate(
        decision=Subquery(last_decision.values("action")[:1]),
        decision_by=Subquery(last_decision.values("actor_name")[:1]),
    )
    fields = [
        "pk", "created_at", "status", "category__slug", "body", "parent_id", "display_name",
        "agree_count", "disagree_count", "flag_count", "zoning_code", "future_land_use_code",
        "landuse", "geometry", "decision", "decision_by", "moderation_reason",
    ]  # fmt: skip
    if personal_data:
        fields += ["author__email", "ip_hash"]
    for values in queryset.order_by("pk").values(*fields).iterator(chunk_size=1000):
        geometry = values["geometry"]
        point = None
        if geometry is not None:
            point = geometry if geometry.geom_type == "Point" else geometry.centroid
        row = {
            "id": values["pk"],
            "discussion_id": discussion.pk,
            "discussion": discussion.title,
            "created_at": values["created_at"],
            "status": values["status"],
            "category": values["category__slug"] or "",
            "body": values["body"],
            "parent_id": values["parent_id"],
            "author": values["display_name"],
            "agree": values["agree_count"],
            "disagree": values["disagree_count"],
            "flags": values["flag_count"],
            "zoning_code": values["zoning_code"],
            "zoning_label": _label(values["landuse"], "zoning"),
            "future_land_use_code": values["future_land_use_code"],
            "future_land_use_label": _label(values["landuse"], "future_land_use"),
            "lon": round(point.x, 7) if point is not None else None,
            "lat": round(point.y, 7) if point is not None else None,
            "geometry_type": geometry.geom_type if geometry is not None else "",
            "moderation_decision": (
                f"{values['decision']} by {values['decision_by'] or 'word list'}"
                if values["decision"]
                else ""
            ),
            "moderation_reason": values["moderation_reason"],
            "geometry": geometry,
        }
        if personal_data:
            row["author_email"] = values["author__email"] or ""
            row["ip_hash"] = values["ip_hash"]
        yield row


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
