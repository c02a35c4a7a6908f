"""Writes of the engagement app. Every function validates first, writes in one transaction and
registers its live event with :func:`engage.realtime.broadcast_on_commit`.

Refusals raise :class:`engage.validation.Problem` naming the field and the reason.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from engage import rules as policy
from engage import selectors
from engage.models import Comment, Discussion, FeedbackCategory, Flag, Reaction
from engage.realtime import broadcast_on_commit
from engage.rules import Participant, edit_token_hash
from engage.schemas import comment_out
from engage.validation import (
    Problem,
    clean_body,
    clean_display_name,
    clean_flag_details,
    geometry_from_geojson,
)
from landuse.selectors import point_lookup

_UNSET = object()

# action -> (requests, seconds) per client; overridable with settings.ENGAGE_RATE_LIMITS.
DEFAULT_RATE_LIMITS = {
    "comment": (5, 60),
    "reaction": (60, 60),
    "flag": (10, 600),
    "privacy": (10, 60),  # download / erase own contributions (engage.privacy)
}


def ip_hash(address: str) -> str:
    """A keyed hash of an IP address (HMAC-SHA256 with SECRET_KEY): stable for rate limits and
    abuse review, useless without the key."""
    if not address:
        return ""
    return salted_hmac("engage.ip", address, algorithm="sha256").hexdigest()


def anonymous_key(session_key: str) -> str:
    return "a:" + salted_hmac("engage.session", session_key, algorithm="sha256").hexdigest()[:40]


# --- Rate limits --------------------------------------------------------------------------


def throttle(*, action: str, participant: Participant) -> None:
    """Count one ``action`` for this client in a fixed window; refuse with 429 past the limit.
    Signed-in people are counted per account, anonymous ones per (hashed) IP address."""
    limits = {**DEFAULT_RATE_LIMITS, **getattr(settings, "ENGAGE_RATE_LIMITS", {})}
    allowed, window = limits[action]
    now = time.time()
    slot = int(now // window)
    client = f"u{participant.user_id}" if participant.user_id else participant.ip_hash or "-"
    key = f"engage:rate:{action}:{client}:{slot}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > allowed:
        retry_after = max(1, math.ceil((slot + 1) * window - now))
        raise Problem(
            errors=[
                {"field": "client", "message": f"Too many requests; retry in {retry_after} s."}
            ],
            status=429,
            headers={"Retry-After": str(retry_after)},
        )


# --- Discussions (called by the CMS) ------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    label: str
    colour: str = "#1f77b4"
    icon: str = ""


def _plan_area(value: GEOSGeometry | None) -> MultiPolygon | None:
    if value is None:
        return None
    if value.srid not in (None, 4326) or value.geom_type not in ("Polygon", "MultiPolygon"):
        raise Problem.of("plan_area", "Must be a Polygon or MultiPolygon in EPSG:4326.")
    if not value.valid:
        raise Problem.of("plan_area", f"Not a valid geometry: {value.valid_reason}.")
    area = MultiPolygon(value, srid=4326) if isinstance(value, Polygon) else value.clone()
    area.srid = 4326
    return area


def _check_discussion(discussion: Discussion) -> None:
    if not discussion.title.strip():
        raise Problem.of("title", "Must not be empty.")
    if discussion.opens_at and discussion.closes_at and discussion.closes_at <= discussion.opens_at:
        raise Problem.of("closes_at", "Must be after opens_at.")
    if discussion.moderation not in Discussion.Moderation.values:
        raise Problem.of("moderation", "Must be 'pre' or 'post'.")
    if discussion.edit_window < timedelta(0):
        raise Problem.of("edit_window", "Must not be negative.")


def discussion_set_categories(
    *, discussion: Discussion, categories: Iterable[CategorySpec]
) -> None:
    """Make the discussion offer exactly these categories, in this order (kept by slug, so
    comments keep their category when labels or colours change)."""
    specs = list(categories)
    slugs = [spec.slug for spec in specs]
    if len(set(slugs)) != len(slugs):
        raise Problem.of("categories", "Category slugs must be unique.")
    with transaction.atomic():
        discussion.categories.exclude(slug__in=slugs).delete()
        for order, spec in enumerate(specs):
            category = FeedbackCategory(
                discussion=discussion,
                slug=spec.slug,
                label=spec.label,
                colour=spec.colour,
                icon=spec.icon,
                order=order,
            )
            try:
                category.full_clean(exclude=["discussion"], validate_unique=False)
            except ValidationError as exc:
                raise Problem.of("categories", f"{spec.slug!r}: {exc}") from None
            FeedbackCategory.objects.update_or_create(
                discussion=discussion,
                slug=spec.slug,
                defaults={
                    "label": spec.label,
                    "colour": spec.colour,
                    "icon": spec.icon,
                    "order": order,
                },
            )


@transaction.atomic
def discussion_create(
    *,
    title: str,
    page_url: str = "",
    is_published: bool = False,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    moderation: str = Discussion.Moderation.POST,
    allow_anonymous: bool = True,
    plan_area: GEOSGeometry | None = None,
    max_reply_depth: int = 2,
    edit_window: timedelta = timedelta(minutes=15),
    categories: Iterable[CategorySpec] = (),
) -> Discussion:
    discussion = Discussion(
        title=title.strip(),
        page_url=page_url,
        is_published=is_published,
        opens_at=opens_at,
        closes_at=closes_at,
        moderation=moderation,
        allow_anonymous=allow_anonymous,
        plan_area=_plan_area(plan_area),
        max_reply_depth=max_reply_depth,
        edit_window=edit_window,
    )
    _check_discussion(discussion)
    discussion.save()
    discussion_set_categories(discussion=discussion, categories=categories)
    return discussion


@transaction.atomic
def discussion_update(
    *,
    discussion: Discussion,
    title: str | object = _UNSET,
    opens_at: datetime | None | object = _UNSET,
    closes_at: datetime | None | object = _UNSET,
    moderation: str | object = _UNSET,
    allow_anonymous: bool | object = _UNSET,
    plan_area: GEOSGeometry | None | object = _UNSET,
    max_reply_depth: int | object = _UNSET,
    edit_window: timedelta | object = _UNSET,
    categories: Iterable[CategorySpec] | object = _UNSET,
) -> Discussion:
    """Change what is given; leave the rest."""
    changes = {
        "title": title,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "moderation": moderation,
        "allow_anonymous": allow_anonymous,
        "max_reply_depth": max_reply_depth,
        "edit_window": edit_window,
    }
    for name, value in changes.items():
        if value is not _UNSET:
            setattr(discussion, name, value.strip() if name == "title" else value)
    if plan_area is not _UNSET:
        discussion.plan_area = _plan_area(plan_area)
    _check_discussion(discussion)
    discussion.save()
    if categories is not _UNSET:
        discussion_set_categories(discussion=discussion, categories=categories)
    return discussion


def discussion_set_publication(
    *, discussion: Discussion, published: bool, page_url: str = ""
) -> Discussion:
    """Called by the CMS when the page that shows the discussion is published or unpublished."""
    discussion.is_published = published
    discussion.page_url = page_url if published else discussion.page_url
    discussion.save(update_fields=["is_published", "page_url", "updated_at"])
    return discussion


# --- Comments -----------------------------------------------------------------------------


def _broadcast_comment(comment: Comment, event_type: str) -> None:
    counts = (
        selectors.reaction_counts(comment_id=comment.pk)
        if event_type == "comment.updated"
        else {"agree": 0, "disagree": 0}
    )
    payload = {
        "type": event_type,
        "discussion": comment.discussion_id,
        "comment": comment_out(comment, **counts),
    }
    broadcast_on_commit(discussion_id=comment.discussion_id, build=lambda: payload)


def _check_can_post(*, discussion: Discussion, participant: Participant) -> None:
    if not policy.discussion_is_live(participant, discussion):
        raise Problem.of("discussion", "No such discussion.", status=404)
    if not policy.discussion_is_open(participant, discussion):
        raise Problem.of("discussion", "This discussion is not open for comments.", status=403)
    if not (policy.is_signed_in(participant) or policy.allows_anonymous(participant, discussion)):
        raise Problem.of("author", "Sign in to post in this discussion.", status=403)


def _landuse_at(geometry: GEOSGeometry) -> list[dict]:
    point = geometry.point_on_surface
    return [
        {
            "layer_slug": a.layer_slug,
            "layer_title": a.layer_title,
            "kind": a.kind,
            "code": a.code,
            "label": a.label,
            "colour": a.colour,
        }
        for a in point_lookup(lon=point.x, lat=point.y)
    ]


def _first_code(answers: list[dict], kind: str) -> str:
    return next((a["code"] for a in answers if a["kind"] == kind), "")


def comment_create(
    *,
    discussion: Discussion,
    participant: Participant,
    body: str,
    display_name: str | None = None,
    parent_id: int | None = None,
    geometry: object | None = None,
    category: str | None = None,
    honeypot: str = "",
) -> tuple[Comment, str | None]:
    """Store a comment; returns it and, for an anonymous author, the edit token (shown once)."""
    if honeypot:
        raise Problem.of("website", "This field must be left empty.")
    _check_can_post(discussion=discussion, participant=participant)

    errors: list[dict[str, str]] = []

    def collect(check):
        try:
            return check()
        except Problem as problem:
            errors.extend(problem.errors)
            return None

    text = collect(lambda: clean_body(body))
    user = participant.user
    if user is not None:
        name = (user.get_full_name() or user.get_username())[:60]
    else:
        name = collect(lambda: clean_display_name(display_name or ""))
    shape = None
    if geometry is not None:
        shape = collect(lambda: geometry_from_geojson(geometry, plan_area=discussion.plan_area))
    chosen = None
    if category:
        # A NUL byte cannot reach PostgreSQL as a query parameter; no slug has one.
        chosen = None if "\x00" in category else discussion.categories.filter(slug=category).first()
        if chosen is None:
            errors.append({"field": "category", "message": "Unknown category for this discussion."})
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id).first()
        if parent is None or parent.discussion_id != discussion.pk:
            errors.append({"field": "parent", "message": "No such comment in this discussion."})
        elif parent.status != Comment.Status.PUBLISHED:
            errors.append({"field": "parent", "message": "That comment cannot be replied to."})
        elif parent.depth + 1 > discussion.max_reply_depth:
            errors.append({"field": "parent", "message": "Replies cannot be nested this deep."})
    if errors:
        raise Problem(errors=errors)

    landuse = _landuse_at(shape) if shape is not None else []
    token = secrets.token_urlsafe(24) if user is None else None
    status = (
        Comment.Status.PENDING
        if discussion.moderation == Discussion.Moderation.PRE
        else Comment.Status.PUBLISHED
    )
    with transaction.atomic():
        comment = Comment.objects.create(
            discussion=discussion,
            parent=parent,
            depth=parent.depth + 1 if parent else 0,
            author=user,
            display_name=name,
            body=text,
            status=status,
            category=chosen,
            geometry=shape,
            landuse=landuse,
            zoning_code=_first_code(landuse, "zoning"),
            future_land_use_code=_first_code(landuse, "future_land_use"),
            ip_hash=participant.ip_hash,
            edit_token_hash=edit_token_hash(token) if token else "",
        )
        if status == Comment.Status.PUBLISHED:
            _broadcast_comment(comment, "comment.created")
    return comment, token


def _check_author_may_change(*, comment: Comment, participant: Participant) -> None:
    if not policy.is_comment_author(participant, comment):
        raise Problem.of("comment", "Only its author can change this comment.", status=403)
    if not policy.comment_is_visible_to_author(participant, comment):
        raise Problem.of("comment", "This comment can no longer be changed.", status=409)
    if not policy.within_edit_window(participant, comment):
        raise Problem.of("comment", "The time to change this comment has passed.", status=403)


def comment_edit(*, comment: Comment, participant: Participant, body: str) -> Comment:
    _check_author_may_change(comment=comment, participant=participant)
    text = clean_body(body)
    with transaction.atomic():
        comment.body = text
        comment.edited_at = comment.changed_at = timezone.now()
        comment.save(update_fields=["body", "edited_at", "changed_at"])
        if comment.status == Comment.Status.PUBLISHED:
            _broadcast_comment(comment, "comment.updated")
    return comment


def comment_withdraw(*, comment: Comment, participant: Participant) -> Comment:
    _check_author_may_change(comment=comment, participant=participant)
    return _comment_change_status(comment=comment, status=Comment.Status.WITHDRAWN)


# Moderation decisions the moderation issue builds on (its queue and audit log come there).
MODERATION_TRANSITIONS = {
    Comment.Status.PENDING: {Comment.Status.PUBLISHED, Comment.Status.REJECTED},
    Comment.Status.PUBLISHED: {Comment.Status.HIDDEN},
    Comment.Status.HIDDEN: {Comment.Status.PUBLISHED},
    Comment.Status.REJECTED: {Comment.Status.PUBLISHED},
    Comment.Status.WITHDRAWN: set(),
}


def _comment_change_status(*, comment: Comment, status: str) -> Comment:
    with transaction.atomic():
        was_public = comment.status == Comment.Status.PUBLISHED
        comment.status = status
        comment.status_changed_at = comment.changed_at = timezone.now()
        comment.save(update_fields=["status", "status_changed_at", "changed_at"])
        # Everyone who could see it learns of the change; a pending comment that is approved
        # arrives as new (clients upsert by id either way).
        if was_public or status == Comment.Status.PUBLISHED:
            _broadcast_comment(comment, "comment.updated" if was_public else "comment.created")
    return comment


def comment_set_status(*, comment: Comment, status: str, actor: Participant) -> Comment:
    """A moderator's decision (approve, reject, hide, restore). Broadcasts ``comment.updated``
    when a visible comment changes (e.g. hidden: it disappears from every open page) and
    ``comment.created`` when a comment becomes visible for the first time."""
    if not policy.can_moderate(actor):
        raise Problem.of("comment", "Only moderators can do this.", status=403)
    if status not in MODERATION_TRANSITIONS.get(comment.status, set()):
        raise Problem.of(
            "status", f"A {comment.status} comment cannot become {status}.", status=409
        )
    return _comment_change_status(comment=comment, status=status)


# --- Reactions and flags ------------------------------------------------------------------


def _check_published(comment: Comment, participant: Participant) -> None:
    if not policy.comment_is_published(participant, comment) or not comment.discussion.is_published:
        raise Problem.of("comment", "No such comment.", status=404)


def reaction_set(
    *, comment: Comment, participant: Participant, value: str | None
) -> dict[str, int | str | None]:
    """Set (or with ``None`` remove) this person's reaction. One row per person is enforced by
    the database, so parallel identical requests count once."""
    _check_published(comment, participant)
    if not policy.comment_discussion_is_open(participant, comment):
        raise Problem.of("discussion", "This discussion is not open for reactions.", status=403)
    if value is not None and value not in Reaction.Value.values:
        raise Problem.of("value", "Must be 'agree', 'disagree' or null.")
    with transaction.atomic():
        if value is None:
            Reaction.objects.filter(comment=comment, voter_key=participant.key).delete()
        else:
            now = timezone.now()
            Reaction.objects.bulk_create(
                [
                    Reaction(
                        comment=comment,
                        voter_key=participant.key,
                        user=participant.user,
                        value=value,
                        created_at=now,
                        updated_at=now,
                    )
                ],
                update_conflicts=True,
                unique_fields=["comment", "voter_key"],
                update_fields=["value", "updated_at"],
            )
        comment_id, discussion_id = comment.pk, comment.discussion_id
        broadcast_on_commit(
            discussion_id=discussion_id,
            build=lambda: {
                "type": "reactions.changed",
                "discussion": discussion_id,
                "comment": comment_id,
                "reactions": selectors.reaction_counts(comment_id=comment_id),
            },
        )
    return {**selectors.reaction_counts(comment_id=comment.pk), "mine": value}


def flag_create(
    *, comment: Comment, participant: Participant, reason: str, details: str = ""
) -> tuple[Flag, bool]:
    """Report a comment to the moderators; a second report by the same person changes nothing
    and returns the first (``created`` is False)."""
    _check_published(comment, participant)
    if reason not in Flag.Reason.values:
        raise Problem.of("reason", f"Must be one of: {', '.join(Flag.Reason.values)}.")
    text = clean_flag_details(details)
    existing = Flag.objects.filter(comment=comment, reporter_key=participant.key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            flag = Flag.objects.create(
                comment=comment,
                reporter_key=participant.key,
                user=participant.user,
                reason=reason,
                details=text,
                ip_hash=participant.ip_hash,
            )
    except IntegrityError:
        return Flag.objects.get(comment=comment, reporter_key=participant.key), False
    return flag, True
