"""Reads for the page templates, the site search, the revision diff and the polls."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from wagtail.models import Page, PageLogEntry, Revision

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from wagtail.blocks import StreamValue

    from cms.models import DraftPlanPage, HomePage, TopicIndexPage


# --- Pages --------------------------------------------------------------------------------


def home_featured_topics(*, home: HomePage) -> list[Page]:
    """The featured topics that the public may see, in the editor's order."""
    return [
        item.topic
        for item in home.featured_topics.select_related("topic").all()
        if item.topic.live and not item.topic.get_view_restrictions().exists()
    ]


def plans_in_public_review(*, root: Page) -> QuerySet:
    from cms.models import DraftPlanPage

    return (
        DraftPlanPage.objects.descendant_of(root)
        .live()
        .public()
        .filter(status=DraftPlanPage.Status.PUBLIC_REVIEW)
        .order_by("title")
    )


def index_children(*, index_page: TopicIndexPage) -> QuerySet:
    return index_page.get_children().live().public().specific()


def plan_chapters(*, plan: DraftPlanPage) -> QuerySet:
    """The published chapters in the order editors gave them in the page tree."""
    return plan.get_children().live().public().specific().order_by("path")


SEARCHABLE_TYPES = ("PlanningTopicPage", "DraftPlanPage", "DraftPlanChapterPage")


def search_pages(*, query: str) -> list[Page]:
    """Published, public topics, plans and chapters matching the query, best match first."""
    from cms.models import DraftPlanChapterPage, DraftPlanPage, PlanningTopicPage

    # Words only: a double quote or a control character in the query made SQLite's full-text
    # search raise (a 500); quoting has no meaning for this AND search anyway.
    query = "".join(" " if char == '"' or ord(char) < 32 else char for char in query).strip()
    if not query:
        return []
    pages = (
        Page.objects.live()
        .public()
        .type(PlanningTopicPage, DraftPlanPage, DraftPlanChapterPage)
        .specific()
    )
    return list(pages.search(query, operator="and")[:50])


# --- What changed since the last draft ------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed" or "same"
    text: str


@dataclass
class PageChanges:
    title: str
    url: str | None
    previous_published_at: object | None
    current_published_at: object | None
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(line.kind != "same" for line in self.lines)


def _stream_text(stream: StreamValue | None) -> list[str]:
    if not stream:
        return []
    return [
        text.strip()
        for text in stream.stream_block.get_searchable_content(stream)
        if text and text.strip()
    ]


def page_text_lines(page: Page) -> list[str]:
    """The readable text of one page version, line by line (plain text: never markup)."""
    lines = [page.title]
    status = getattr(page, "get_status_display", None)
    if status is not None:
        lines.append(f"Status: {status()}")
    summary = getattr(page, "summary", "")
    if summary:
        lines.extend(summary.splitlines())
    for text in _stream_text(getattr(page, "body", None)):
        lines.extend(part for part in text.splitlines() if part.strip())
    return lines


def previous_published_revision(*, page: Page) -> Revision | None:
    """The revision that was live before the current live revision, from the publish log."""
    live = page.live_revision
    if live is None:
        return None
    entries = (
        PageLogEntry.objects.filter(page=page, action="wagtail.publish", revision__isnull=False)
        .exclude(revision=live)
        .filter(revision__created_at__lte=live.created_at)
        .select_related("revision")
        .order_by("-timestamp", "-pk")
    )
    entry = entries.first()
    return entry.revision if entry else None


def page_changes(*, page: Page) -> PageChanges:
    live = page.live_revision
    previous = previous_published_revision(page=page)
    new_lines = page_text_lines(live.as_object()) if live else page_text_lines(page)
    old_lines = page_text_lines(previous.as_object()) if previous else []
    changes = PageChanges(
        title=page.title,
        url=page.url,
        previous_published_at=previous.created_at if previous else None,
        current_published_at=live.created_at if live else None,
    )
    if previous is None:
        # First publication: nothing to compare with, everything is new.
        changes.lines = [DiffLine("same", line) for line in new_lines]
        return changes
    for opcode, a0, a1, b0, b1 in difflib.SequenceMatcher(
        a=old_lines, b=new_lines, autojunk=False
    ).get_opcodes():
        if opcode == "equal":
            changes.lines.extend(DiffLine("same", line) for line in new_lines[b0:b1])
            continue
        changes.lines.extend(DiffLine("removed", line) for line in old_lines[a0:a1])
        changes.lines.extend(DiffLine("added", line) for line in new_lines[b0:b1])
    return changes


def plan_changes_since_last_draft(*, plan: DraftPlanPage) -> list[PageChanges]:
    """The plan page and each published chapter: its live text against the version published
    before it. Chapters that did not change are left out."""
    result = [page_changes(page=plan)]
    for chapter in plan_chapters(plan=plan):
        changes = page_changes(page=chapter)
        if changes.changed:
            result.append(changes)
    return result


# --- Polls --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollAnswer:
    id: str
    label: str
    votes: int


@dataclass(frozen=True)
class PollResults:
    question: str
    answers: list[PollAnswer]
    total: int


def poll_block(*, page: Page, block_id: str):
    """The poll block with this id in the page's live body, or None."""
    body = getattr(page.specific, "body", None)
    if not body:
        return None
    for block in body:
        if block.block_type == "poll" and block.id == block_id:
            return block
    return None


def poll_answers_of_value(value) -> list[tuple[str, str]]:
    """(id, label) of each answer of a poll block's value, in the editor's order."""
    return [(answer.id, answer.value) for answer in value["answers"].bound_blocks]


def poll_answers(block) -> list[tuple[str, str]]:
    return poll_answers_of_value(block.value)


def poll_results(*, page: Page, block_id: str, answers: list[tuple[str, str]]) -> list[PollAnswer]:
    from cms.models import PollVote

    counts = Counter(
        PollVote.objects.filter(page=page, block_id=block_id).values_list("answer_id", flat=True)
    )
    return [PollAnswer(id=a_id, label=label, votes=counts[a_id]) for a_id, label in answers]


def poll_vote_of(
    *, page: Page, block_id: str, user: AbstractBaseUser | AnonymousUser, session_key: str | None
) -> str | None:
    """The answer id this person chose, or None if they have not voted."""
    from cms.models import PollVote

    votes = PollVote.objects.filter(page=page, block_id=block_id)
    if user.is_authenticated:
        votes = votes.filter(user=user)
    elif session_key:
        votes = votes.filter(user__isnull=True, session_key=session_key)
    else:
        return None
    return votes.values_list("answer_id", flat=True).first()


def poll_vote_rows(*, page_id: int | None = None) -> Iterator[list[str]]:
    """Rows for the staff CSV export: one per vote, oldest first. No personal data beyond
    whether the voter was signed in."""
    from cms.models import PollVote

    votes = PollVote.objects.select_related("page").order_by("page_id", "block_id", "created_at")
    if page_id is not None:
        votes = votes.filter(page_id=page_id)
    yield ["page", "page_url", "poll_id", "question", "answer", "signed_in", "voted_at"]
    for vote in votes.iterator():
        yield [
            vote.page.title,
            vote.page.url or "",
            vote.block_id,
            vote.question,
            vote.answer_label,
            "yes" if vote.user_id else "no",
            vote.created_at.isoformat(),
        ]


def poll_summaries() -> list[dict]:
    """Each poll that has votes: page, question and vote count, for the admin listing."""
    from django.db.models import Count, Max

    from cms.models import PollVote

    # Grouped by block, not question: an edited question stays one poll.
    return list(
        PollVote.objects.values("page_id", "page__title", "block_id")
        .annotate(votes=Count("id"), question=Max("question"))
        .order_by("page__title", "block_id")
    )
