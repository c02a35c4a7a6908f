"""Public views outside the page tree: site search, poll votes and the no-JavaScript comment
form. Thin: parse, call, respond."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from wagtail.models import Page

from cms.models import DiscussionPageMixin
from cms.selectors import (
    CommentFormState,
    comment_thread_page_number,
    page_feedback,
    poll_summaries,
    poll_vote_rows,
    search_pages,
)
from cms.services import PollError, poll_vote_cast
from engage import selectors as engage_selectors
from engage import services as engage_services
from engage.rules import Participant
from engage.validation import Problem

MAX_QUERY_LENGTH = 200


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("query", "")[:MAX_QUERY_LENGTH]
    results = search_pages(query=query)
    page = Paginator(results, 10).get_page(request.GET.get("page"))
    return render(request, "cms/search.html", {"query": query, "results": page})


@require_POST
def poll_vote(request: HttpRequest, page_id: int, block_id: str) -> HttpResponse:
    page = get_object_or_404(Page.objects.live().public(), pk=page_id).specific
    if not request.session.session_key:
        # Anonymous residents vote once per browser session; make sure there is one.
        request.session.save()
    try:
        poll_vote_cast(
            page=page,
            block_id=block_id,
            answer_id=request.POST.get("answer", "")[:64],
            user=request.user,
            session_key=request.session.session_key or "",
        )
    except PollError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Thank you, your answer was counted."))
    # Back to the poll on its page: the URL is the page's own, never taken from the request.
    return HttpResponseRedirect(f"{page.url}#poll-{block_id}")


class _Echo:
    def write(self, value: str) -> str:
        return value


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """Spreadsheet programs run cells starting with these characters as formulas."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def poll_votes_csv(request: HttpRequest) -> HttpResponse:
    """Staff export of every vote (or one page's, ``?page=<id>``). Mounted under the Wagtail
    admin, which requires a signed-in user; the model permission is checked here."""
    if not request.user.has_perm("cms.view_pollvote"):
        raise PermissionDenied
    page_id = request.GET.get("page")
    page_filter = int(page_id) if page_id and page_id.isdigit() else None
    writer = csv.writer(_Echo())
    rows = (
        writer.writerow([neutralise_cell(str(cell)) for cell in row])
        for row in poll_vote_rows(page_id=page_filter)
    )
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="poll-votes.csv"'
    return response


def poll_votes_index(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("cms.view_pollvote"):
        raise PermissionDenied
    return render(request, "cms/admin/poll_votes.html", {"polls": poll_summaries()})


# --- The comment form of a page's feedback section (works without JavaScript) ----------------

MAX_GEOMETRY_CHARACTERS = 128 * 1024
FORM_FIELDS = ("body", "category", "display_name", "parent", "geometry")


def _form_geometry(text: str) -> object | None:
    """The hidden ``geometry`` field carries GeoJSON when the map script pinned a place."""
    if not text.strip():
        return None
    if len(text) > MAX_GEOMETRY_CHARACTERS:
        raise Problem.of("geometry", _("The shape is too large."))
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise Problem.of("geometry", _("The shape is not valid GeoJSON.")) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(name)


@require_POST
def page_comment_create(request: HttpRequest, page_id: int) -> HttpResponse:
    """POST the form of a page's feedback section: store through ``engage`` and redirect back
    to the comment (post/redirect/get), or show the page again with each error next to its
    field. The page must be live and public and its discussion published (404 otherwise)."""
    page = get_object_or_404(Page.objects.live().public(), pk=page_id).specific
    if not isinstance(page, DiscussionPageMixin) or not page.discussion_id:
        raise Http404
    discussion = engage_selectors.discussion_get_published(discussion_id=page.discussion_id)
    if discussion is None:
        raise Http404
    # Cut far above every limit engage checks (so its messages still apply), never below.
    values = {
        name: request.POST.get(name, "")[: MAX_GEOMETRY_CHARACTERS + 1] for name in FORM_FIELDS
    }
    user = request.user if request.user.is_authenticated else None
    who = Participant(
        user=user,
        key=f"u:{user.pk}" if user else "",
        ip_hash=engage_services.ip_hash(request.META.get("REMOTE_ADDR", "")),
    )
    try:
        engage_services.throttle(action="comment", participant=who, discussion_id=discussion.pk)
        parent = values["parent"].strip()
        if parent and not parent.isdigit():
            raise Problem.of("parent", _("No such comment in this discussion."))
        comment, _token = engage_services.comment_create(
            discussion=discussion,
            participant=who,
            body=values["body"],
            display_name=values["display_name"],
            parent_id=int(parent) if parent else None,
            geometry=_form_geometry(values["geometry"]),
            category=values["category"] or None,
            honeypot=request.POST.get("website", ""),
        )
    except Problem as problem:
        errors: dict[str, list[str]] = {}
        for error in problem.errors:
            # Errors about the discussion, the author, the client or the honeypot concern the
            # whole form; the others go next to their field.
            field = error["field"] if error["field"] in FORM_FIELDS else ""
            errors.setdefault(field, []).append(error["message"])
        form = CommentFormState(values=values, errors=errors)
        context = page.get_context(request)
        context["feedback"] = page_feedback(
            page=page, user=request.user, reply_to=values["parent"], form=form
        )
        response = TemplateResponse(
            request, page.get_template(request), context, status=problem.status
        )
        for name, value in problem.headers.items():
            response[name] = value
        return response
    if comment.status != comment.Status.PUBLISHED:  # pre-moderation: it waits
        messages.success(
            request, _("Thank you, your comment will appear once a moderator has read it.")
        )
        return HttpResponseRedirect(f"{page.url}#feedback-map")
    messages.success(request, _("Thank you, your comment is published."))
    # Back to the page's own URL (never one taken from the request), on the thread page that
    # holds the new comment (a reply sits in its conversation, not necessarily the last page).
    number = comment_thread_page_number(discussion=discussion, comment_id=comment.pk)
    query = f"?comments_page={number}" if number > 1 else ""
    return HttpResponseRedirect(f"{page.url}{query}#comment-{comment.pk}")
