"""HTTP JSON endpoints of `engage` (mounted under /api/engage/).

Thin: parse, build the :class:`~engage.rules.Participant`, throttle, call one service or
selector, respond. Every refusal has the body ``{"errors": [{"field", "message"}]}``
(docs/api-errors.md). Request bodies are parsed here rather than by ninja so that size, depth,
NaN/Infinity, unknown fields and type errors all answer in that one shape.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from ninja import Router
from ninja.utils import check_csrf

from engage import exports, privacy, selectors, services
from engage import rules as policy
from engage.models import Comment, Flag, Reaction
from engage.rules import Participant
from engage.schemas import (
    CommentCreatedOut,
    CommentOut,
    CommentPageOut,
    DiscussionOut,
    ErrorsOut,
    ModerationLogEntryOut,
    StaffCommentOut,
    StaffQueueOut,
    comment_out,
    discussion_out,
    geometry_out,
    log_entry_out,
    render_body_html,
    staff_comment_out,
)
from engage.validation import Problem

router = Router(tags=["engage"])

MAX_BODY_BYTES = 128 * 1024  # a 2000-vertex polygon and a 5000-character comment fit
EDIT_TOKEN_HEADER = "X-Edit-Token"  # noqa: S105 - a header name

ERRORS = {400: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 413: ErrorsOut,
          429: ErrorsOut}  # fmt: skip


def problem_response(problem: Problem) -> JsonResponse:
    response = JsonResponse({"errors": problem.errors}, status=problem.status)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def answers_problems(view):
    """Turn a :class:`Problem` raised anywhere below into its JSON error response."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Problem as problem:
            return problem_response(problem)

    return wrapper


def _no_constants(name: str) -> float:
    raise Problem.of("body", f"{name} is not valid JSON.")


def read_json(request: HttpRequest, *, allowed: set[str]) -> dict[str, Any]:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise Problem.of(
            "body", f"The request body must be at most {MAX_BODY_BYTES} bytes.", status=413
        )
    try:
        data = json.loads(request.body or b"{}", parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise Problem.of("body", "The request body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise Problem.of("body", "The request body must be a JSON object.")
    try:
        # JSON may escape lone UTF-16 surrogates ("\ud800"); no database can store them.
        json.dumps(data, ensure_ascii=False).encode()
    except (UnicodeEncodeError, RecursionError):
        raise Problem.of("body", "The request body must be valid Unicode text.") from None
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise Problem(
            errors=[{"field": name, "message": "Unknown field."} for name in unknown[:20]]
        )
    return data


def _int_or_none(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Problem.of(name, "Must be a comment id (an integer).")
    return value


def _str_or_none(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise Problem.of(name, "Must be text.")
    return value


def participant(request: HttpRequest, *, needs_key: bool = False) -> Participant:
    """Who is acting. Signed-in requests must pass Django's CSRF check (the session cookie is an
    ambient credential); anonymous identity for reactions and flags is the session."""
    user = request.user if request.user.is_authenticated else None
    if user is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
        if check_csrf(request) is not None:
            raise Problem.of("csrf", "CSRF token missing or incorrect.", status=403)
    if user is not None:
        key = f"u:{user.pk}"
    else:
        if needs_key and not request.session.session_key:
            request.session["engage"] = 1  # not empty, so the cookie is set
            request.session.save()
        session_key = request.session.session_key
        key = services.anonymous_key(session_key) if session_key else ""
    return Participant(
        user=user,
        key=key,
        ip_hash=services.ip_hash(request.META.get("REMOTE_ADDR", "")),
        edit_token=request.headers.get(EDIT_TOKEN_HEADER, ""),
    )


def _discussion(discussion_id: int):
    discussion = selectors.discussion_get_published(discussion_id=discussion_id)
    if discussion is None:
        raise Problem.of("discussion", "No such discussion.", status=404)
    return discussion


def _comment(comment_id: int) -> Comment:
    comment = selectors.comment_get(comment_id=comment_id)
    if comment is None or not comment.discussion.is_published:
        raise Problem.of("comment", "No such comment.", status=404)
    return comment


def _body_schema(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": required or [],
                        "additionalProperties": False,
                    }
                }
            },
        }
    }


# --- Discussions --------------------------------------------------------------------------


@router.get("/discussions/", response=list[DiscussionOut])
def discussion_list(request: HttpRequest):
    """Published discussions (``is_open`` tells whether they accept comments now)."""
    return JsonResponse(
        [discussion_out(d) for d in selectors.discussion_list_published()], safe=False
    )


@router.get("/discussions/{int:discussion_id}/", response={200: DiscussionOut, **ERRORS})
@answers_problems
def discussion_detail(request: HttpRequest, discussion_id: int):
    return JsonResponse(discussion_out(_discussion(discussion_id)))


# --- Comments -----------------------------------------------------------------------------


@router.get("/discussions/{int:discussion_id}/comments/", response={200: CommentPageOut, **ERRORS})
@answers_problems
def comment_list(request: HttpRequest, discussion_id: int):
    """Published comments in id order. ``?after=<id>``: those after that id (the backfill a
    reconnecting client asks for); ``?limit=`` (1–200, default 50); follow ``next_after`` while
    ``has_more``. ``?changed_since=<as_of of an earlier answer>`` instead: every comment created,
    edited, withdrawn, hidden or approved since then, oldest change first, non-published ones
    without content (so a page that was away removes or updates them)."""
    as_of = timezone.now()  # before the query: a change during it shows up next time
    discussion = _discussion(discussion_id)
    after, limit = request.GET.get("after"), request.GET.get("limit")
    changed_since = request.GET.get("changed_since")
    if after is not None and not after.isdigit():
        raise Problem.of("after", "Must be a comment id.")
    if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= selectors.MAX_PAGE_SIZE):
        raise Problem.of("limit", f"Must be between 1 and {selectors.MAX_PAGE_SIZE}.")
    page_size = int(limit) if limit else selectors.PAGE_SIZE
    if changed_since is not None:
        if after is not None:
            raise Problem.of("changed_since", "Use either after or changed_since, not both.")
        try:
            since = parse_datetime(changed_since.replace(" ", "+"))
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise Problem.of(
                "changed_since", "Must be an ISO 8601 time with a zone, e.g. an as_of value."
            )
        rows, has_more = selectors.comment_list_changed(
            discussion=discussion, since=since, limit=page_size
        )
        next_after = None
    else:
        rows, has_more = selectors.comment_list_published(
            discussion=discussion,
            after=int(after) if after is not None else None,
            limit=page_size,
        )
        next_after = rows[-1].pk if rows else (int(after) if after else None)
    return JsonResponse(
        {
            "items": [comment_out(c) for c in rows],
            "next_after": next_after,
            "has_more": has_more,
            "as_of": as_of.isoformat(),
        }
    )


COMMENT_FIELDS = {"body", "parent", "geometry", "category", "display_name", "website", "captcha"}


def check_challenge(request: HttpRequest, who: Participant, data: dict) -> None:
    """The optional captcha for anonymous posting (``settings.ENGAGE_ANONYMOUS_CHALLENGE``, the
    dotted path of ``check(request, token) -> bool``); off when the setting is empty."""
    path = getattr(settings, "ENGAGE_ANONYMOUS_CHALLENGE", "")
    if not path or who.user is not None:
        return
    token = data.get("captcha")
    if not isinstance(token, str) or not token or not import_string(path)(request, token):
        raise Problem.of("captcha", "Please complete the check that you are a person.")


@router.post(
    "/discussions/{int:discussion_id}/comments/",
    response={201: CommentCreatedOut, **ERRORS},
    openapi_extra=_body_schema(
        {
            "body": {"type": "string", "maxLength": 5000},
            "parent": {"type": ["integer", "null"]},
            "geometry": {
                "type": ["object", "null"],
                "description": "GeoJSON Point, LineString or Polygon in WGS84 (RFC 7946)",
            },
            "category": {"type": ["string", "null"]},
            "display_name": {"type": ["string", "null"], "maxLength": 60},
            "website": {"type": "string", "description": "honeypot: leave empty"},
            "captcha": {
                "type": "string",
                "description": "anonymous posting, when the site enables a challenge",
            },
        },
        ["body"],
    ),
)
@answers_problems
def comment_create(request: HttpRequest, discussion_id: int):
    """Post a comment. 201 means stored. Anonymous authors get ``edit_token`` once: send it in
    the ``X-Edit-Token`` header to edit or withdraw the comment."""
    who = participant(request)
    services.throttle(action="comment", participant=who, discussion_id=discussion_id)
    discussion = selectors.discussion_for_posting(discussion_id=discussion_id)
    if discussion is None:
        raise Problem.of("discussion", "No such discussion.", status=404)
    data = read_json(request, allowed=COMMENT_FIELDS)
    check_challenge(request, who, data)
    comment, token = services.comment_create(
        discussion=discussion,
        participant=who,
        body=data.get("body"),
        display_name=_str_or_none(data, "display_name"),
        parent_id=_int_or_none(data, "parent"),
        geometry=data.get("geometry"),
        category=_str_or_none(data, "category"),
        honeypot=data.get("website") or "",
    )
    return JsonResponse({**comment_out(comment, for_author=True), "edit_token": token}, status=201)


@router.patch(
    "/comments/{int:comment_id}/",
    response={200: CommentOut, **ERRORS},
    openapi_extra=_body_schema({"body": {"type": "string", "maxLength": 5000}}, ["body"]),
)
@answers_problems
def comment_edit(request: HttpRequest, comment_id: int):
    """Edit your own comment's body within the discussion's edit window (signed in: your
    session; anonymous: the ``X-Edit-Token`` header). The comment shows ``edited_at``."""
    who = participant(request)
    comment = _comment(comment_id)
    data = read_json(request, allowed={"body"})
    comment = services.comment_edit(comment=comment, participant=who, body=data.get("body"))
    return JsonResponse(comment_out(comment, for_author=True))


@router.delete("/comments/{int:comment_id}/", response={200: CommentOut, **ERRORS})
@answers_problems
def comment_withdraw(request: HttpRequest, comment_id: int):
    """Withdraw your own comment within the edit window; it disappears from the thread."""
    who = participant(request)
    comment = services.comment_withdraw(comment=_comment(comment_id), participant=who)
    return JsonResponse(comment_out(comment))


# --- Reactions and flags ------------------------------------------------------------------


@router.post(
    "/comments/{int:comment_id}/reactions/",
    response={200: dict, **ERRORS},
    openapi_extra=_body_schema(
        {"value": {"type": ["string", "null"], "enum": [*Reaction.Value.values, None]}},
        ["value"],
    ),
)
@answers_problems
def reaction_set(request: HttpRequest, comment_id: int):
    """Agree or disagree (once per person; sending again changes it, ``null`` removes it).
    Answers the counts and your reaction."""
    who = participant(request, needs_key=True)
    services.throttle(action="reaction", participant=who)
    comment = _comment(comment_id)
    data = read_json(request, allowed={"value"})
    if "value" not in data:
        raise Problem.of("value", "Required: 'agree', 'disagree' or null.")
    value = _str_or_none(data, "value")
    return JsonResponse(services.reaction_set(comment=comment, participant=who, value=value))


@router.post(
    "/comments/{int:comment_id}/flags/",
    response={201: dict, 200: dict, **ERRORS},
    openapi_extra=_body_schema(
        {
            "reason": {"type": "string", "enum": Flag.Reason.values},
            "details": {"type": "string", "maxLength": 1000},
        },
        ["reason"],
    ),
)
@answers_problems
def flag_create(request: HttpRequest, comment_id: int):
    """Report a comment to the moderators. 201 the first time, 200 when you already did."""
    who = participant(request, needs_key=True)
    services.throttle(action="flag", participant=who)
    comment = _comment(comment_id)
    data = read_json(request, allowed={"reason", "details"})
    flag, created = services.flag_create(
        comment=comment,
        participant=who,
        reason=_str_or_none(data, "reason") or "",
        details=_str_or_none(data, "details") or "",
    )
    return JsonResponse({"id": flag.pk, "reason": flag.reason}, status=201 if created else 200)


# --- Pinned feedback for the map ----------------------------------------------------------


@router.get("/discussions/{int:discussion_id}/feedback.geojson", response={200: dict, **ERRORS})
@answers_problems
def feedback_geojson(request: HttpRequest, discussion_id: int) -> HttpResponse:
    """Published pinned comments as an RFC 7946 FeatureCollection; ``?category=<slug>``."""
    discussion = _discussion(discussion_id)
    category = None
    slug = request.GET.get("category")
    if slug:
        category = discussion.categories.filter(slug=slug).first()
        if category is None:
            raise Problem.of("category", "Unknown category for this discussion.")
    features = [
        {
            "type": "Feature",
            "id": comment.pk,
            "geometry": geometry_out(comment.geometry),
            "properties": {
                "id": comment.pk,
                "display_name": comment.display_name,
                "body": comment.body,
                "body_html": render_body_html(comment.body),
                "category": comment.category.slug if comment.category_id else None,
                "colour": comment.category.colour if comment.category_id else None,
                "zoning_code": comment.zoning_code,
                "future_land_use_code": comment.future_land_use_code,
                "created_at": comment.created_at.isoformat(),
                "agree": comment.agree_count,
                "disagree": comment.disagree_count,
            },
        }
        for comment in selectors.feedback_pinned(discussion=discussion, category=category)
    ]
    return JsonResponse(
        {"type": "FeatureCollection", "features": features},
        content_type="application/geo+json",
    )


# --- Staff: moderation ----------------------------------------------------------------------
# Every staff endpoint checks its permission on every request (session + CSRF for writes);
# anonymous and ordinary users get 403. No token grants access: export links need a session.


def staff(request: HttpRequest, *, may) -> Participant:
    """The acting staff member, or a 403 (anonymous included)."""
    who = participant(request)
    if not may(who):
        raise Problem.of("user", "You do not have permission to do this.", status=403)
    return who


def _staff_comment(comment_id: int) -> Comment:
    comment = selectors.comment_get_for_staff(comment_id=comment_id)
    if comment is None:
        raise Problem.of("comment", "No such comment.", status=404)
    return comment


def _page_param(request: HttpRequest, name: str, default: int, highest: int) -> int:
    value = request.GET.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) > highest:
        raise Problem.of(name, f"Must be a whole number from 0 to {highest}.")
    return int(value)


@router.get("/moderation/queue/", response={200: StaffQueueOut, **ERRORS}, tags=["staff"])
@answers_problems
def moderation_queue(request: HttpRequest):
    """Staff: comments needing attention (pending, or with open flags; ``?status=`` for any),
    pending first, then by number of open flags. Filters: ``discussion``, ``status`` (comma
    separated), ``category``, ``since``/``until`` (dates), ``zoning_code``,
    ``future_land_use_code``, ``bbox``, ``flagged``; paging ``offset``, ``limit`` (≤ 200)."""
    staff(request, may=policy.can_moderate)
    filters = selectors.FeedbackFilters.from_query(request.GET, ignore={"offset", "limit"})
    offset = _page_param(request, "offset", 0, 10**9)
    limit = _page_param(request, "limit", 50, 200) or 50
    queryset = selectors.moderation_queue(filters=filters)
    items = [staff_comment_out(c) for c in queryset[offset : offset + limit]]
    return JsonResponse(
        {"items": items, "count": queryset.count(), "offset": offset, "limit": limit}
    )


@router.get(
    "/moderation/comments/{int:comment_id}/",
    response={200: StaffCommentOut, **ERRORS},
    tags=["staff"],
)
@answers_problems
def moderation_comment(request: HttpRequest, comment_id: int):
    """Staff: one comment, whatever its status."""
    staff(request, may=policy.can_moderate)
    return JsonResponse(staff_comment_out(_staff_comment(comment_id)))


@router.get(
    "/moderation/comments/{int:comment_id}/log/",
    response={200: list[ModerationLogEntryOut], **ERRORS},
    tags=["staff"],
)
@answers_problems
def moderation_log(request: HttpRequest, comment_id: int):
    """Staff: the audit trail of one comment, oldest first."""
    staff(request, may=policy.can_moderate)
    comment = _staff_comment(comment_id)
    entries = selectors.moderation_log(comment_id=comment.pk)
    return JsonResponse([log_entry_out(e) for e in entries], safe=False)


ACTION_PATHS = {
    "approve": "approve",
    "hide": "hide",
    "reject": "reject",
    "restore": "restore",
}


@router.post(
    "/moderation/comments/{int:comment_id}/{action}/",
    response={200: StaffCommentOut, **ERRORS},
    tags=["staff"],
    openapi_extra=_body_schema({"reason": {"type": "string", "maxLength": 500}}),
)
@answers_problems
def moderation_act(request: HttpRequest, comment_id: int, action: str):
    """Staff: ``approve``, ``hide`` (reason required, shown to readers), ``reject`` (reason
    required), ``restore``, or ``dismiss-flags``. 409 when the comment is not in a state the
    action applies to (e.g. already approved)."""
    who = staff(request, may=policy.can_moderate)
    if action not in (*ACTION_PATHS, "dismiss-flags"):
        raise Problem.of("action", "Unknown action.", status=404)
    comment = _staff_comment(comment_id)
    data = read_json(request, allowed={"reason"})
    reason = data.get("reason", "")
    if action == "dismiss-flags":
        services.flags_dismiss(comment=comment, actor=who, reason=reason)
    else:
        services.comment_moderate(comment=comment, action=action, actor=who, reason=reason)
    return JsonResponse(staff_comment_out(_staff_comment(comment_id)))


@router.post(
    "/moderation/bulk/",
    response={200: dict, **ERRORS},
    tags=["staff"],
    openapi_extra=_body_schema(
        {
            "action": {"type": "string", "enum": list(ACTION_PATHS)},
            "comments": {"type": "array", "items": {"type": "integer"}, "maxItems": 200},
            "reason": {"type": "string", "maxLength": 500},
        },
        ["action", "comments"],
    ),
)
@answers_problems
def moderation_bulk(request: HttpRequest):
    """Staff: one action on many comments, all or nothing (409 names the comments that cannot
    take it)."""
    who = staff(request, may=policy.can_moderate)
    data = read_json(request, allowed={"action", "comments", "reason"})
    ids = data.get("comments")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise Problem.of("comments", "Must be a list of comment ids.")
    action = _str_or_none(data, "action") or ""
    if action not in ACTION_PATHS:
        raise Problem.of("action", f"Must be one of: {', '.join(ACTION_PATHS)}.")
    changed = services.comments_moderate_bulk(
        comment_ids=ids, action=action, actor=who, reason=data.get("reason", "")
    )
    return JsonResponse({"changed": [c.pk for c in changed], "status": changed[0].status})


# --- Staff: exports and the summary report -----------------------------------------------


def _export_request(request: HttpRequest, discussion_id: int, *, ignore=()) -> tuple:
    who = staff(request, may=policy.can_export)
    services.throttle(action="export", participant=who)
    discussion = selectors.discussion_get_any(discussion_id=discussion_id)
    if discussion is None:
        raise Problem.of("discussion", "No such discussion.", status=404)
    filters = selectors.FeedbackFilters.from_query(request.GET, ignore={"personal_data", *ignore})
    if filters.discussion_id not in (None, discussion.pk):
        raise Problem.of("discussion", "Give the discussion in the path only.")
    personal = request.GET.get("personal_data", "")
    if personal not in ("", "0", "1", "true", "false"):
        raise Problem.of("personal_data", "Must be true or false.")
    return who, discussion, filters, personal in ("1", "true")


@router.get(
    "/discussions/{int:discussion_id}/export.{fmt}",
    response={200: None, **ERRORS},
    tags=["staff"],
)
@answers_problems
def feedback_export(request: HttpRequest, discussion_id: int, fmt: str):
    """Staff with the export permission: the discussion's feedback (any status, published or
    not) as ``csv``, ``xlsx``, ``geojson`` or ``gpkg``. Filters: ``status``, ``category``,
    ``since``/``until``, ``bbox`` or ``zoning_code``/``future_land_use_code``, ``flagged``.
    ``personal_data=true`` adds e-mail and IP hash (needs the personal-data permission).
    Rows come from one snapshot; every export is recorded."""
    staff(request, may=policy.can_export)
    if fmt not in exports.FORMATS:
        raise Problem.of("format", f"Must be one of: {', '.join(exports.FORMATS)}.", status=404)
    who, discussion, filters, personal = _export_request(request, discussion_id)
    record = services.export_record_start(
        actor=who,
        discussion=discussion,
        format=fmt,
        filters=filters.as_dict(),
        personal_data=personal,
    )
    form = exports.form_of(fmt)
    columns, batches = selectors.feedback_export_batches(
        discussion=discussion, filters=filters, personal_data=personal, form=form
    )
    lines = form.endswith("-csv")

    def finished(count: int) -> None:
        services.export_record_finish(record=record, row_count=count)

    if fmt == "csv":
        body = exports.csv_body(batches=batches, columns=columns, finished=finished, lines=lines)
    elif fmt == "geojson":
        body = exports.geojson_body(batches=batches, finished=finished)
    else:
        path = exports.temporary_path(f".{fmt}")
        try:
            if fmt == "xlsx":
                count = exports.write_xlsx(batches=batches, columns=columns, path=path)
            else:
                count = exports.write_gpkg_from_database(
                    discussion=discussion, filters=filters, personal_data=personal, path=path
                )
                if count is None:  # GDAL could not read the database itself: through us
                    count = exports.write_gpkg(
                        batches=batches, columns=columns, path=path, lines=lines
                    )
            finished(count)
            body = exports.file_body(exports.open_and_unlink(path))
        finally:
            batches.close()
            if os.path.exists(path):  # a writer that failed half-way
                os.unlink(path)
    response = StreamingHttpResponse(body, content_type=exports.CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="discussion-{discussion.pk}-feedback-{stamp}.{fmt}"'
    )

    response["Cache-Control"] = "no-store"
    return response


@router.get("/discussions/{int:discussion_id}/report/", response={200: None, **ERRORS},
            tags=["staff"])  # fmt: skip
@answers_problems
def feedback_report(request: HttpRequest, discussion_id: int):
    """Staff with the export permission: a printable HTML summary (counts by category,
    status, zoning district, future land use and day; the most agreed comments; an SVG map
    figure of the pins drawn from their coordinates). Same filters as the exports."""
    who, discussion, filters, personal = _export_request(request, discussion_id)
    if personal:
        raise Problem.of("personal_data", "The report holds no personal data.")
    report = selectors.feedback_report(discussion=discussion, filters=filters)
    record = services.export_record_start(
        actor=who, discussion=discussion, format="report", filters=filters.as_dict(),
        personal_data=False,
    )  # fmt: skip
    services.export_record_finish(record=record, row_count=report.total)
    response = render(
        request,
        "engage/feedback_report.html",
        {
            "report": report,
            "filters": filters.as_dict(),
            "produced": timezone.localtime(),
            "produced_by": who.user.get_username(),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


# --- Your own contributions (engage.privacy) ----------------------------------------------


def _edit_tokens(request: HttpRequest) -> list[str]:
    """Anonymous authors prove ownership with the edit tokens of their comments, sent in
    ``X-Edit-Token`` separated by commas."""
    header = request.headers.get(EDIT_TOKEN_HEADER, "")
    return [token.strip() for token in header.split(",") if token.strip()]


@router.get("/me/contributions/", response={200: dict, **ERRORS})
@answers_problems
def contributions_download(request: HttpRequest):
    """Everything stored about your comments, reactions and flags, as JSON (signed in: your
    account's; anonymous: the comments whose ``X-Edit-Token`` you send, comma-separated, and
    this browser session's reactions and flags)."""
    who = participant(request)
    services.throttle(action="privacy", participant=who)
    data = privacy.contributions_export(participant=who, edit_tokens=_edit_tokens(request))
    response = JsonResponse(data)
    response["Content-Disposition"] = 'attachment; filename="my-contributions.json"'
    response["Cache-Control"] = "no-store"
    return response


@router.delete("/me/contributions/", response={200: dict, **ERRORS})
@answers_problems
def contributions_erase(request: HttpRequest):
    """Erase the personal data of your contributions (same ownership as the download): comment
    texts, names, locations and reactions go; the moderation record of each comment stays
    (README "Security and privacy")."""
    who = participant(request)
    services.throttle(action="privacy", participant=who)
    erased = privacy.contributions_erase(participant=who, edit_tokens=_edit_tokens(request))
    return JsonResponse({"erased": erased})
