"""Wagtail admin views for staff: the moderation queue, one comment with its flags, actions and
audit trail, and the exports page.

Thin: parse, authorize (the engage permissions, checked here on every request, on top of
Wagtail's own "may use the admin"), call one engage service or selector, respond. Every write
is a POST with Django's CSRF token; every refusal changes nothing.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from engage import rules as policy
from engage import selectors, services
from engage.exports import FORMATS
from engage.models import Comment
from engage.rules import Participant
from engage.schemas import staff_comment_out
from engage.validation import Problem

PAGE_SIZE = 25
ACTIONS = [
    ("approve", _("Approve")),
    ("hide", _("Hide")),
    ("reject", _("Reject")),
    ("restore", _("Restore")),
]


def _actor(request: HttpRequest) -> Participant:
    return Participant(user=request.user, key=f"u:{request.user.pk}")


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden(_("You do not have permission to do this."))


def _filter_query(params) -> str:
    """The queue's filters, re-encoded from the known parameters only (never a raw URL)."""
    kept = {
        name: params.get(name)
        for name in (*selectors.FeedbackFilters.PARAMETERS, "page")
        if params.get(name)
    }
    return urlencode(kept)


def _problem_text(problem: Problem) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" for e in problem.errors)


@require_GET
def moderation_queue(request: HttpRequest) -> HttpResponse:
    if not policy.can_moderate(_actor(request)):
        return _forbidden()
    params = request.GET.copy()
    params.pop("page", None)
    error = ""
    try:
        filters = selectors.FeedbackFilters.from_query(params)
    except Problem as problem:
        error = _problem_text(problem)
        filters = selectors.FeedbackFilters()
    page = Paginator(selectors.moderation_queue(filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "cms/admin/moderation_queue.html",
        {
            "page": page,
            "items": [staff_comment_out(c) for c in page.object_list],
            "filters": request.GET,
            "filter_error": error,
            "query": _filter_query(request.GET),
            "discussions": selectors.discussion_list_all(),
            "statuses": Comment.Status.choices,
            "actions": ACTIONS,
        },
    )


@require_GET
def moderation_comment(request: HttpRequest, comment_id: int) -> HttpResponse:
    if not policy.can_moderate(_actor(request)):
        return _forbidden()
    comment = selectors.comment_get_for_staff(comment_id=comment_id)
    if comment is None:
        return render(request, "cms/admin/moderation_missing.html", status=404)
    possible = [
        (action, label)
        for action, label in ACTIONS
        if comment.status in services.MODERATION_ACTIONS[action][0]
    ]
    return render(
        request,
        "cms/admin/moderation_comment.html",
        {
            "comment": staff_comment_out(comment),
            "actions": possible,
            "reason_required": [str(a) for a in services.REASON_REQUIRED],
            "flags": selectors.comment_flags(comment_id=comment.pk),
            "log": selectors.moderation_log(comment_id=comment.pk),
            "query": _filter_query(request.GET),
            "filter_items": parse_qsl(_filter_query(request.GET)),
        },
    )


@require_POST
def moderation_act(request: HttpRequest, comment_id: int) -> HttpResponse:
    actor = _actor(request)
    if not policy.can_moderate(actor):
        return _forbidden()
    comment = selectors.comment_get_for_staff(comment_id=comment_id)
    if comment is None:
        return render(request, "cms/admin/moderation_missing.html", status=404)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    try:
        if action == "dismiss_flags":
            services.flags_dismiss(comment=comment, actor=actor, reason=reason)
        elif action in services.MODERATION_ACTIONS:
            services.comment_moderate(comment=comment, action=action, actor=actor, reason=reason)
        else:
            raise Problem.of("action", _("Unknown action."))
    except Problem as problem:
        messages.error(request, _problem_text(problem))
    else:
        messages.success(request, _("Comment #%(id)s: done.") % {"id": comment.pk})
    url = reverse("cms_moderation_comment", args=[comment.pk])
    query = _filter_query(request.POST)
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


@require_POST
def moderation_bulk(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if not policy.can_moderate(actor):
        return _forbidden()
    raw_ids = request.POST.getlist("comments")
    action = request.POST.get("action", "")
    try:
        if not all(value.isdigit() for value in raw_ids):
            raise Problem.of("comments", _("Choose comments from the list."))
        if action not in services.MODERATION_ACTIONS:
            raise Problem.of("action", _("Choose an action."))
        changed = services.comments_moderate_bulk(
            comment_ids=[int(v) for v in raw_ids],
            action=action,
            actor=actor,
            reason=request.POST.get("reason", ""),
        )
    except Problem as problem:
        messages.error(request, _problem_text(problem))
    else:
        messages.success(request, _("%(n)d comments: done.") % {"n": len(changed)})
    query = _filter_query(request.POST)
    url = reverse("cms_moderation")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


@require_GET
def exports_index(request: HttpRequest) -> HttpResponse:
    """Choose a discussion, a format and filters; the download itself is the engage API's
    export endpoint (session, permission checked there again)."""
    actor = _actor(request)
    if not policy.can_export(actor):
        return _forbidden()
    if request.GET.get("discussion"):
        discussion = request.GET["discussion"]
        fmt = request.GET.get("format", "csv")
        if not discussion.isdigit() or fmt not in (*FORMATS, "report"):
            messages.error(request, _("Choose a discussion and a format."))
            return HttpResponseRedirect(reverse("cms_exports"))
        params = {
            name: request.GET.get(name)
            for name in (
                "status",
                "category",
                "since",
                "until",
                "zoning_code",
                "future_land_use_code",
                "bbox",
                "personal_data",
            )  # fmt: skip
            if request.GET.get(name)
        }
        path = (
            f"/api/engage/discussions/{int(discussion)}/report/"
            if fmt == "report"
            else f"/api/engage/discussions/{int(discussion)}/export.{fmt}"
        )
        return HttpResponseRedirect(f"{path}?{urlencode(params)}" if params else path)
    return render(
        request,
        "cms/admin/exports.html",
        {
            "discussions": selectors.discussion_list_all(),
            "formats": [*FORMATS, "report"],
            "statuses": Comment.Status.choices,
            "may_export_personal_data": policy.can_export_personal_data(actor),
            "records": selectors.export_records_recent(limit=20),
        },
    )
