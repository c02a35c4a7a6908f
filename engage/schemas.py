"""Output shapes shared by the JSON API and the live events: a client renders a comment from a
``GET`` and from a WebSocket event with the same code."""

from __future__ import annotations

import json
import re
from datetime import datetime

import nh3
from django.utils.html import escape, urlize
from ninja import Schema

from engage.models import Comment, Discussion, FeedbackCategory, ModerationLogEntry


class ErrorItem(Schema):
    field: str
    message: str


class ErrorsOut(Schema):
    errors: list[ErrorItem]


class CategoryOut(Schema):
    slug: str
    label: str
    colour: str
    icon: str


class DiscussionOut(Schema):
    id: int
    title: str
    page_url: str
    opens_at: datetime | None
    closes_at: datetime | None
    is_open: bool
    moderation: str
    allow_anonymous: bool
    max_reply_depth: int
    edit_window_seconds: int
    plan_area: dict | None
    categories: list[CategoryOut]


class LandUseAnswerOut(Schema):
    layer_slug: str
    layer_title: str
    kind: str
    code: str
    label: str
    colour: str


class ReactionCountsOut(Schema):
    agree: int = 0
    disagree: int = 0


class CommentOut(Schema):
    id: int
    discussion: int
    parent: int | None
    depth: int
    status: str
    display_name: str
    signed_in: bool
    body: str
    body_html: str
    category: str | None
    geometry: dict | None
    landuse: list[LandUseAnswerOut]
    created_at: datetime
    edited_at: datetime | None
    changed_at: datetime
    reactions: ReactionCountsOut
    # Why a moderator hid it (readers show "hidden by moderator: <reason>"); "" otherwise.
    moderation_reason: str = ""


class CommentCreatedOut(CommentOut):
    edit_token: str | None = None


class CommentPageOut(Schema):
    items: list[CommentOut]
    next_after: int | None
    has_more: bool
    as_of: datetime


# Only text with "://", or a dot or @ before a word character, can hold something urlize
# links; other text is only escaped. urlize was most of the CPU of a thread page (bench/).
_MAY_LINK = re.compile(r"[.@]\w|://")


def render_body_html(body: str) -> str:
    """The body as safe HTML: everything escaped, http(s) links and e-mail addresses made
    clickable (rel="nofollow ugc noopener"), line breaks kept. nh3 then allows only ``a`` and
    ``br`` as a second line of defence."""
    if _MAY_LINK.search(body):
        linked = urlize(body, nofollow=True, autoescape=True)
    else:
        linked = escape(body)
    linked = linked.replace("\n", "<br>")
    return nh3.clean(
        linked,
        tags={"a", "br"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
    )


def geometry_out(geometry) -> dict | None:
    return json.loads(geometry.json) if geometry is not None else None


def category_out(category: FeedbackCategory) -> dict:
    return CategoryOut(
        slug=category.slug, label=category.label, colour=category.colour, icon=category.icon
    ).model_dump(mode="json")


def discussion_out(discussion: Discussion) -> dict:
    return DiscussionOut(
        id=discussion.pk,
        title=discussion.title,
        page_url=discussion.page_url,
        opens_at=discussion.opens_at,
        closes_at=discussion.closes_at,
        is_open=discussion.is_open,
        moderation=discussion.moderation,
        allow_anonymous=discussion.allow_anonymous,
        max_reply_depth=discussion.max_reply_depth,
        edit_window_seconds=int(discussion.edit_window.total_seconds()),
        plan_area=geometry_out(discussion.plan_area),
        categories=[category_out(c) for c in discussion.categories.all()],
    ).model_dump(mode="json")


def comment_out(
    comment: Comment, *, agree: int = 0, disagree: int = 0, for_author: bool = False
) -> dict:
    """The public view of a comment. A comment that is not published keeps its id and status
    (so open pages can remove or mark it) but shows no content, except to its author (the
    answer to their own POST or PATCH, e.g. while it waits for pre-moderation)."""
    published = comment.status == Comment.Status.PUBLISHED or (
        for_author and comment.status == Comment.Status.PENDING
    )
    # Built from the comment's own values, which already have the schema's types: constructing
    # skips validation (ninja's attribute getter was most of this function's cost, and every
    # POST, event and page of comments calls it) while pydantic still serialises every field.
    # tests/engage/test_comment_out.py holds the result to the schema.
    return CommentOut.model_construct(
        id=comment.pk,
        discussion=comment.discussion_id,
        parent=comment.parent_id,
        depth=comment.depth,
        status=comment.status,
        display_name=comment.display_name if published else "",
        signed_in=comment.author_id is not None,
        body=comment.body if published else "",
        body_html=render_body_html(comment.body) if published else "",
        category=comment.category.slug if published and comment.category_id else None,
        geometry=geometry_out(comment.geometry) if published else None,
        landuse=[_landuse_answer(a) for a in comment.landuse] if published else [],
        created_at=comment.created_at,
        edited_at=comment.edited_at,
        changed_at=comment.changed_at,
        reactions=ReactionCountsOut.model_construct(
            agree=getattr(comment, "agree_count", agree),
            disagree=getattr(comment, "disagree_count", disagree),
        ),
        moderation_reason=(
            comment.moderation_reason if comment.status == Comment.Status.HIDDEN else ""
        ),
    ).model_dump(mode="json")


def _landuse_answer(answer: dict) -> LandUseAnswerOut:
    # The stored answer also keeps the feature's group, description and id (for exports).
    return LandUseAnswerOut.model_construct(
        **{name: answer[name] for name in LandUseAnswerOut.model_fields}
    )


# --- Staff (moderation queue and audit log) ------------------------------------------------


class StaffCommentOut(Schema):
    id: int
    discussion: int
    discussion_title: str
    parent: int | None
    status: str
    display_name: str
    body: str
    category: str | None
    geometry: dict | None
    lon: float | None
    lat: float | None
    zoning_code: str
    zoning_label: str
    future_land_use_code: str
    future_land_use_label: str
    created_at: datetime
    agree: int
    disagree: int
    open_flags: int
    flags: int
    moderation_reason: str


class StaffQueueOut(Schema):
    items: list[StaffCommentOut]
    count: int
    offset: int
    limit: int


class ModerationLogEntryOut(Schema):
    id: int
    comment: int
    action: str
    previous_status: str
    new_status: str
    reason: str
    actor: str
    created_at: datetime


def _landuse_label(comment: Comment, kind: str) -> str:
    return next((a.get("label", "") for a in comment.landuse or [] if a.get("kind") == kind), "")


def staff_comment_out(comment: Comment) -> dict:
    """Everything a moderator needs about one comment, whatever its status. Text is data, not
    markup: the admin templates escape it and JSON clients must too."""
    point = None
    if comment.geometry is not None:
        geometry = comment.geometry
        point = geometry if geometry.geom_type == "Point" else geometry.centroid
    return StaffCommentOut(
        id=comment.pk,
        discussion=comment.discussion_id,
        discussion_title=comment.discussion.title,
        parent=comment.parent_id,
        status=comment.status,
        display_name=comment.display_name,
        body=comment.body,
        category=comment.category.slug if comment.category_id else None,
        geometry=geometry_out(comment.geometry),
        lon=round(point.x, 7) if point is not None else None,
        lat=round(point.y, 7) if point is not None else None,
        zoning_code=comment.zoning_code,
        zoning_label=_landuse_label(comment, "zoning"),
        future_land_use_code=comment.future_land_use_code,
        future_land_use_label=_landuse_label(comment, "future_land_use"),
        created_at=comment.created_at,
        agree=getattr(comment, "agree_count", 0),
        disagree=getattr(comment, "disagree_count", 0),
        open_flags=getattr(comment, "open_flag_count", 0),
        flags=getattr(comment, "flag_count", 0),
        moderation_reason=comment.moderation_reason,
    ).model_dump(mode="json")


def log_entry_out(entry: ModerationLogEntry) -> dict:
    return ModerationLogEntryOut(
        id=entry.pk,
        comment=entry.comment_id,
        action=entry.action,
        previous_status=entry.previous_status,
        new_status=entry.new_status,
        reason=entry.reason,
        actor=entry.actor_name or "word list",
        created_at=entry.created_at,
    ).model_dump(mode="json")
