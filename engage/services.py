"""Writes of the engagement app. Every function validates first, writes in one transaction and
registers its live event with :func:`engage.realtime.broadcast_on_commit`.

Refusals raise :class:`engage.validation.Problem` naming the field and the reason.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from engage import rules as policy
from engage import selectors
from engage.models import (
    Comment,
    Discussion,
    ExportRecord,
    FeedbackCategory,
    Flag,
    ModerationLogEntry,
    Reaction,
)
from engage.realtime import broadcast_on_commit, withdraw_on_commit
from engage.rules import Participant, edit_token_hash
from engage.schemas import comment_out
from engage.validation import (
    Problem,
    clean_body,
    clean_display_name,
    clean_flag_details,
    geometry_from_geojson,
    strip_controls,
)
from landuse.selectors import point_lookup

_UNSET = object()
logger = logging.getLogger(__name__)
_fallback_cache = LocMemCache("engage-rate-limits", {})

# action -> (requests, seconds); overridable with settings.ENGAGE_RATE_LIMITS (from the
# environment variable of that name). Plain actions count per client; "discussion_<action>"
# counts everyone's <action> in one discussion, so a flood spread over many addresses is
# slowed too.
DEFAULT_RATE_LIMITS = {
    "comment": (5, 60),
    "discussion_comment": (120, 60),
    "reaction": (60, 60),
    "flag": (10, 600),
    "privacy": (10, 60),  # download / erase own contributions (engage.privacy)
    "export": (20, 600),  # staff exports and reports: each one reads a whole discussion
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


def throttle(*, action: str, participant: Participant, discussion_id: int | None = None) -> None:
    """Count one ``action`` for this client in a fixed window; refuse with 429 past the limit.
    Signed-in people are counted per account, anonymous ones per (hashed) IP address. With
    ``discussion_id``, the action also counts towards that discussion's limit (counted only
    once the client is within its own, so one client cannot use up a discussion alone)."""
    client = f"u{participant.user_id}" if participant.user_id else participant.ip_hash or "-"
    limits = {**DEFAULT_RATE_LIMITS, **getattr(settings, "ENGAGE_RATE_LIMITS", {})}
    now = time.time()
    scopes = [(action, client, "client", "requests")]
    if discussion_id is not None:
        what = "requests to this discussion"
        scopes.append((f"discussion_{action}", str(discussion_id), "discussion", what))
    counters = [
        _Counter(name, scope, field, what, *limits[name], now)
        for name, scope, field, what in scopes
    ]
    counts = _count_in_order(counters)
    for counter, count in zip(counters, counts, strict=False):
        if count > counter.allowed:
            retry_after = max(1, math.ceil(counter.window_ends - now))
            raise Problem(
                errors=[
                    {
                        "field": counter.field,
                        "message": f"Too many {counter.what}; retry in {retry_after} s.",
                    }
                ],
                status=429,
                headers={"Retry-After": str(retry_after)},
            )


@dataclass(frozen=True)
class _Counter:
    action: str
    scope: str
    field: str
    what: str
    allowed: int
    window: int
    now: float

    @property
    def slot(self) -> int:
        return int(self.now // self.window)

    @property
    def key(self) -> str:
        return f"engage:rate:{self.action}:{self.scope}:{self.slot}"

    @property
    def window_ends(self) -> float:
        return (self.slot + 1) * self.window


def _count_in_order(counters: list[_Counter]) -> list[int]:
    """One hit on each counter in order, stopping at the first one past its limit: one round
    trip to Redis (``config.cache.SharedRedisCache``), or the cache API's add and incr."""
    spec = [(c.key, c.window + 1, c.allowed) for c in counters]
    try:
        if hasattr(cache, "count_in_order"):
            return cache.count_in_order(spec)
        return _count_with(cache, spec)
    except Exception:
        # The shared cache (Redis) is down: count in this process rather than refuse to take
        # comments or take them without any limit (README "Faults").
        logger.warning("rate limit counted per process: cache unavailable", exc_info=True)
        return _count_with(_fallback_cache, spec)


def _count_with(store, spec: list[tuple[str, int, int]]) -> list[int]:
    counts = []
    for key, timeout, allowed in spec:
        store.add(key, 0, timeout=timeout)
        try:
            count = store.incr(key)
        except ValueError:  # expired between add and incr
            store.set(key, 1, timeout=timeout)
            count = 1
        counts.append(count)
        if count > allowed:
            break
    return counts


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
    """Called by the CMS when the page that shows the discussion is published or unpublished
    (or made private, or moved out of sight): open live threads of a withdrawn discussion are
    closed, as a new connection would be refused."""
    withdrawn = discussion.is_published and not published
    discussion.is_published = published
    discussion.page_url = page_url if published else discussion.page_url
    discussion.save(update_fields=["is_published", "page_url", "updated_at"])
    if withdrawn:
        withdraw_on_commit(discussion_id=discussion.pk)
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
    held_for = held_word_in(discussion=discussion, text=text)
    if held_for:
        status = Comment.Status.PENDING
    # Only a hold the word list caused is a decision worth logging.
    logs_hold = bool(held_for) and discussion.moderation == Discussion.Moderation.POST
    # The comment and its log entry commit together. A comment alone is one INSERT, which
    # commits on its own: a transaction around it would only add BEGIN and COMMIT round trips
    # to every POST.
    with transaction.atomic() if logs_hold else contextlib.nullcontext():
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
        elif logs_hold:
            _log(
                comment=comment,
                actor=None,
                action=ModerationLogEntry.Action.HOLD,
                previous=Comment.Status.PUBLISHED,
                reason=f"Contains {held_for!r}.",
            )
    return comment, token


def held_words(*, discussion: Discussion) -> list[str]:
    return [w.strip() for w in discussion.held_words.splitlines() if w.strip()]


def held_word_in(*, discussion: Discussion, text: str) -> str:
    """The first word or phrase of the discussion's word list found in ``text`` (whole words,
    ignoring case), or ``""``."""
    for word in held_words(discussion=discussion):
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE):
            return word
    return ""


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
    with transaction.atomic():
        was_public = comment.status == Comment.Status.PUBLISHED
        comment.status = Comment.Status.WITHDRAWN
        comment.status_changed_at = comment.changed_at = timezone.now()
        comment.save(update_fields=["status", "status_changed_at", "changed_at"])
        if was_public:
            _broadcast_comment(comment, "comment.updated")
    return comment


# --- Moderation ---------------------------------------------------------------------------

# Which status each moderation action moves a comment from, and to. Anything else is a 409
# (e.g. approving a comment another moderator already approved: no second log entry).
MODERATION_ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    ModerationLogEntry.Action.APPROVE: (
        frozenset({Comment.Status.PENDING}),
        Comment.Status.PUBLISHED,
    ),
    ModerationLogEntry.Action.REJECT: (
        frozenset({Comment.Status.PENDING}),
        Comment.Status.REJECTED,
    ),
    ModerationLogEntry.Action.HIDE: (frozenset({Comment.Status.PUBLISHED}), Comment.Status.HIDDEN),
    ModerationLogEntry.Action.RESTORE: (
        frozenset({Comment.Status.HIDDEN, Comment.Status.REJECTED}),
        Comment.Status.PUBLISHED,
    ),
}
# The same, read the other way: which status a comment may move to from each status.
MODERATION_TRANSITIONS: dict[str, set[str]] = {status: set() for status in Comment.Status.values}
for _sources, _target in MODERATION_ACTIONS.values():
    for _source in _sources:
        MODERATION_TRANSITIONS[_source].add(_target)
REASON_REQUIRED = {ModerationLogEntry.Action.HIDE, ModerationLogEntry.Action.REJECT}
MAX_BULK = 200
MODERATORS_GROUP = "Moderators"
MODERATOR_PERMISSIONS = [
    ("engage", "moderate_comment"),
    ("engage", "export_feedback"),
    ("engage", "view_moderationlogentry"),
    ("engage", "view_exportrecord"),
]


def moderators_group_ensure(*, extra_permissions: Iterable[tuple[str, str]] = ()) -> Group:
    """The "Moderators" group with the permissions to moderate and export (not personal data:
    that is given person by person). Idempotent. ``extra_permissions`` lets the caller add its
    own, e.g. the CMS's access to the admin."""
    group, _created = Group.objects.get_or_create(name=MODERATORS_GROUP)
    for app_label, codename in [*MODERATOR_PERMISSIONS, *extra_permissions]:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return group


def _clean_reason(reason: object, *, required: bool) -> str:
    if not isinstance(reason, str):
        raise Problem.of("reason", "Must be text.")
    text = re.sub(r"\s+", " ", strip_controls(reason, keep_newlines=False)).strip()
    if required and not text:
        raise Problem.of("reason", 'Say why (readers see it beside "hidden by moderator").')
    if len(text) > 500:
        raise Problem.of("reason", "At most 500 characters.")
    return text


def _check_moderator(actor: Participant) -> None:
    if not policy.can_moderate(actor):
        raise Problem.of("comment", "Only moderators can do this.", status=403)


def _actor_name(actor: Participant) -> str:
    user = actor.user
    return (user.get_full_name() or user.get_username())[:150] if user is not None else ""


def _log(*, comment: Comment, actor: Participant | None, action: str, previous: str,
         reason: str = "") -> ModerationLogEntry:  # fmt: skip
    return ModerationLogEntry.objects.create(
        comment=comment,
        discussion_id=comment.discussion_id,
        actor=actor.user if actor is not None else None,
        actor_name=_actor_name(actor) if actor is not None else "",
        action=action,
        previous_status=previous,
        new_status=comment.status,
        reason=reason,
    )


def _moderate(*, comment: Comment, action: str, actor: Participant, reason: str) -> Comment:
    """Move one comment, write its log entry and register its broadcast, in the caller's
    transaction. The status change is a conditional UPDATE, so of two moderators acting on the
    same comment at once exactly one succeeds and the other gets a 409."""
    sources, target = MODERATION_ACTIONS[action]
    previous = comment.status
    if previous not in sources:
        raise Problem.of(
            "status", f"A {previous} comment cannot be {action}d (#{comment.pk}).", status=409
        )
    now = timezone.now()
    keep_reason = reason if target != Comment.Status.PUBLISHED else ""
    changed = Comment.objects.filter(pk=comment.pk, status=previous).update(
        status=target, status_changed_at=now, changed_at=now, moderation_reason=keep_reason
    )
    if not changed:
        raise Problem.of(
            "status", f"Comment #{comment.pk} was changed meanwhile; reload it.", status=409
        )
    comment.status, comment.status_changed_at, comment.changed_at = target, now, now
    comment.moderation_reason = keep_reason
    _log(comment=comment, actor=actor, action=action, previous=previous, reason=reason)
    # Everyone who could see it learns of the change (a hidden comment disappears from open
    # pages); a comment approved or restored arrives as new (clients upsert by id either way).
    was_public = previous == Comment.Status.PUBLISHED
    if was_public or target == Comment.Status.PUBLISHED:
        _broadcast_comment(comment, "comment.updated" if was_public else "comment.created")
    return comment


def comment_moderate(
    *, comment: Comment, action: str, actor: Participant, reason: str = ""
) -> Comment:
    """One moderation decision (``approve``, ``hide``, ``reject``, ``restore``) with its audit
    log entry, in one transaction; broadcast after commit."""
    _check_moderator(actor)
    if action not in MODERATION_ACTIONS:
        raise Problem.of("action", f"Must be one of: {', '.join(MODERATION_ACTIONS)}.")
    text = _clean_reason(reason, required=action in REASON_REQUIRED)
    with transaction.atomic():
        return _moderate(comment=comment, action=action, actor=actor, reason=text)


def comment_approve(*, comment: Comment, actor: Participant, reason: str = "") -> Comment:
    return comment_moderate(comment=comment, action="approve", actor=actor, reason=reason)


def comment_hide(*, comment: Comment, actor: Participant, reason: str) -> Comment:
    return comment_moderate(comment=comment, action="hide", actor=actor, reason=reason)


def comment_reject(*, comment: Comment, actor: Participant, reason: str) -> Comment:
    return comment_moderate(comment=comment, action="reject", actor=actor, reason=reason)


def comment_restore(*, comment: Comment, actor: Participant, reason: str = "") -> Comment:
    return comment_moderate(comment=comment, action="restore", actor=actor, reason=reason)


def comments_moderate_bulk(
    *, comment_ids: Iterable[int], action: str, actor: Participant, reason: str = ""
) -> list[Comment]:
    """The same decision for many comments, all or nothing: if any of them cannot take it
    (already moderated, unknown), nothing changes and the 409/404 names them."""
    _check_moderator(actor)
    if action not in MODERATION_ACTIONS:
        raise Problem.of("action", f"Must be one of: {', '.join(MODERATION_ACTIONS)}.")
    ids = list(dict.fromkeys(comment_ids))
    if not ids or len(ids) > MAX_BULK:
        raise Problem.of("comments", f"Give between 1 and {MAX_BULK} comment ids.")
    text = _clean_reason(reason, required=action in REASON_REQUIRED)
    with transaction.atomic():
        comments = {c.pk: c for c in Comment.objects.filter(pk__in=ids).select_related("category")}
        missing = [i for i in ids if i not in comments]
        if missing:
            raise Problem.of("comments", f"No such comments: {missing[:20]}.", status=404)
        sources, _target = MODERATION_ACTIONS[action]
        stuck = [i for i in ids if comments[i].status not in sources]
        if stuck:
            raise Problem.of(
                "comments", f"These comments cannot be {action}d: {stuck[:20]}.", status=409
            )
        return [
            _moderate(comment=comments[i], action=action, actor=actor, reason=text) for i in ids
        ]


def flags_dismiss(*, comment: Comment, actor: Participant, reason: str = "") -> int:
    """Dismiss the open flags of a comment (kept, marked dismissed); logged. Returns how many."""
    _check_moderator(actor)
    text = _clean_reason(reason, required=False)
    with transaction.atomic():
        dismissed = Flag.objects.filter(comment=comment, dismissed_at__isnull=True).update(
            dismissed_at=timezone.now(), dismissed_by=actor.user
        )
        if not dismissed:
            raise Problem.of("comment", "This comment has no open flags.", status=409)
        _log(
            comment=comment,
            actor=actor,
            action=ModerationLogEntry.Action.DISMISS_FLAGS,
            previous=comment.status,
            reason=text,
        )
    return dismissed


def comment_set_status(
    *, comment: Comment, status: str, actor: Participant, reason: str = ""
) -> Comment:
    """A moderator's decision given as the status wanted (approve, reject, hide, restore):
    the same as the action service it maps to, without requiring a reason."""
    _check_moderator(actor)
    if status not in MODERATION_TRANSITIONS.get(comment.status, set()):
        raise Problem.of(
            "status", f"A {comment.status} comment cannot become {status}.", status=409
        )
    action = next(
        name
        for name, (sources, target) in MODERATION_ACTIONS.items()
        if comment.status in sources and target == status
    )
    with transaction.atomic():
        return _moderate(
            comment=comment,
            action=action,
            actor=actor,
            reason=_clean_reason(reason, required=False),
        )


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
        reactions_changed_broadcast(comment_id=comment.pk, discussion_id=comment.discussion_id)
    return {**selectors.reaction_counts(comment_id=comment.pk), "mine": value}


def reactions_changed_broadcast(*, comment_id: int, discussion_id: int) -> None:
    """Tell open pages a comment's counts changed, once the transaction commits."""
    broadcast_on_commit(
        discussion_id=discussion_id,
        build=lambda: {
            "type": "reactions.changed",
            "discussion": discussion_id,
            "comment": comment_id,
            "reactions": selectors.reaction_counts(comment_id=comment_id),
        },
    )


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


# --- Exports ------------------------------------------------------------------------------


def export_record_start(
    *, actor: Participant, discussion: Discussion, format: str, filters: dict, personal_data: bool
) -> ExportRecord:
    """Record an export before its first byte is sent (who, when, what, which filters)."""
    if not policy.can_export(actor):
        raise Problem.of(
            "discussion", "Only staff with the export permission can do this.", status=403
        )
    if personal_data and not policy.can_export_personal_data(actor):
        raise Problem.of("personal_data", "You may not export personal data.", status=403)
    return ExportRecord.objects.create(
        user=actor.user,
        username=actor.user.get_username(),
        discussion=discussion,
        discussion_title=discussion.title,
        format=format,
        filters=filters,
        personal_data=personal_data,
    )


def export_record_finish(*, record: ExportRecord, row_count: int) -> None:
    ExportRecord.objects.filter(pk=record.pk).update(row_count=row_count)
    record.row_count = row_count
