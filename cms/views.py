"""Public views outside the page tree: site search and poll votes. Thin: parse, call, respond."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from wagtail.models import Page

from cms.selectors import poll_summaries, poll_vote_rows, search_pages
from cms.services import PollError, poll_vote_cast

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
