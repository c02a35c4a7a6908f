"""Reads for the page templates, the site search, the revision diff and the polls."""

from __future__ import annotations

import copy
import difflib
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
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


# --- A page's discussion: feedback map, thread, comment form ---------------------------------

THREADS_PER_PAGE = 20
DEFAULT_ZOOM = 12


@dataclass
class ThreadNode:
    """One comment of the rendered thread. ``comment`` is None for nothing; ``visible`` is
    False for a hidden or withdrawn comment kept as a placeholder for its replies."""

    comment: object
    visible: bool
    replies: list[ThreadNode] = field(default_factory=list)
    # Whether the reader may reply here: the form is theirs to use and the thread not too deep.
    can_reply: bool = False

    @property
    def hidden_by_moderator(self) -> bool:
        return self.comment.status == "hidden"

    @property
    def body_html(self) -> str:
        from engage.schemas import render_body_html

        return render_body_html(self.comment.body) if self.visible else ""


@dataclass
class FeedbackMap:
    layers: str
    center: str
    zoom: int
    plan_area: str
    feedback_url: str


@dataclass
class CommentFormState:
    """What the no-JavaScript comment form shows: the values typed and the errors by field
    (``""`` for errors about the whole form)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def form_errors(self) -> list[str]:
        return self.errors.get("", [])


@dataclass
class PageFeedback:
    discussion: object
    state: str  # "open", "not_yet" or "closed"
    thread_page: object  # a Paginator page of outline roots: (comment id, children) pairs
    thread_key: str
    reaction_counts: dict[int, tuple[int, int]]  # (agree, disagree) of the page's comments
    categories: list[dict]
    categories_json: str
    map: FeedbackMap
    comments_url: str
    ws_path: str
    signed_in: bool
    reply_to: object | None
    form: CommentFormState
    login_url: str

    @cached_property
    def threads(self) -> object:
        """The page of conversations as :class:`ThreadNode` trees. Loads the comments (one
        query), so the page template reaches it only to render a thread it has not cached
        under ``thread_key`` (``cms_tags.feedback_thread``)."""
        from engage import selectors as engage_selectors

        ids = _ids(list(self.thread_page.object_list))
        comments = engage_selectors.comment_list_by_ids(discussion=self.discussion, ids=ids)
        # Counts and categories as read for ``thread_key``, not read again: a reaction or a
        # renamed category in between must not be stored under a key that may come back.
        categories = {category.pk: category for category in self.discussion.categories.all()}
        for pk, comment in comments.items():
            comment.agree_count, comment.disagree_count = self.reaction_counts.get(pk, (0, 0))
            comment.category = categories.get(comment.category_id)
        can_post, max_depth = self.can_post, self.discussion.max_reply_depth

        def node(item: tuple[int, list]) -> ThreadNode:
            comment = comments[item[0]]
            return ThreadNode(
                comment=comment,
                visible=comment.status == "published",
                replies=[node(child) for child in item[1]],
                can_reply=can_post and comment.depth < max_depth,
            )

        page = copy.copy(self.thread_page)
        page.object_list = [node(item) for item in self.thread_page.object_list]
        return page

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def can_post(self) -> bool:
        return _can_post(state=self.state, signed_in=self.signed_in, discussion=self.discussion)

    @property
    def needs_sign_in(self) -> bool:
        return self.is_open and not self.signed_in and not self.discussion.allow_anonymous


def _can_post(*, state: str, signed_in: bool, discussion) -> bool:
    return state == "open" and (signed_in or discussion.allow_anonymous)


def _outline_tree(outline: list[tuple]) -> list[tuple[int, list]]:
    """Roots of the comment tree as (id, children) pairs; placeholders (non-published) without
    any published descendant are dropped."""
    children: dict[int | None, list[int]] = {}
    status = {}
    for pk, parent, state, *_ in outline:
        children.setdefault(parent, []).append(pk)
        status[pk] = state

    def build(pk: int) -> tuple[int, list] | None:
        kids = [node for node in (build(child) for child in children.get(pk, [])) if node]
        if status[pk] != "published" and not kids:
            return None
        return (pk, kids)

    return [node for node in (build(pk) for pk in children.get(None, [])) if node]


def comment_thread_page_number(*, discussion, comment_id: int) -> int:
    """The thread page (1-based) whose conversations include this comment; 1 if not shown."""
    from engage import selectors as engage_selectors

    roots = _outline_tree(engage_selectors.comment_thread_outline(discussion=discussion))
    for index, root in enumerate(roots):
        if comment_id in _ids([root]):
            return index // THREADS_PER_PAGE + 1
    return 1


def _ids(nodes: list[tuple[int, list]]) -> list[int]:
    result = []
    for pk, kids in nodes:
        result.append(pk)
        result.extend(_ids(kids))
    return result


def _feedback_map(*, page, discussion) -> FeedbackMap:
    """The first map block of the page gives layers, centre and zoom; without one, the layers
    shown by default, centred on the plan area (or the layers' extent)."""
    from django.contrib.gis.db.models import Extent

    from landuse.models import Feature
    from landuse.selectors import layer_list

    plan_area = discussion.plan_area.json if discussion.plan_area is not None else ""
    feedback_url = f"/api/engage/discussions/{discussion.pk}/feedback.geojson"
    for block in getattr(page, "body", None) or []:
        if block.block_type == "map":
            layers = [layer for layer in block.value.get("layers") or [] if layer is not None]
            lat, lon = block.value["centre_latitude"], block.value["centre_longitude"]
            return FeedbackMap(
                layers=",".join(layer.slug for layer in layers),
                center=f"{lat:.6f},{lon:.6f}",
                zoom=block.value["zoom"],
                plan_area=plan_area,
                feedback_url=feedback_url,
            )
    layers = [layer for layer in layer_list() if layer.visible_by_default]
    if discussion.plan_area is not None:
        point = discussion.plan_area.point_on_surface
        center = f"{point.y:.6f},{point.x:.6f}"
    else:
        extent = Feature.objects.filter(layer__in=layers).aggregate(box=Extent("geometry"))["box"]
        center = (
            f"{(extent[1] + extent[3]) / 2:.6f},{(extent[0] + extent[2]) / 2:.6f}"
            if extent
            else "0.000000,0.000000"
        )
    return FeedbackMap(
        layers=",".join(layer.slug for layer in layers),
        center=center,
        zoom=DEFAULT_ZOOM,
        plan_area=plan_area,
        feedback_url=feedback_url,
    )


def _thread_key(
    *, discussion, outline: list[tuple], number: int, reactions: dict, can_post: bool
) -> str:
    """A digest of everything the rendered thread shows, read from the database on every
    request, so a thread rendered under it can be reused until one of them changes: each
    comment's id, parent, status and ``changed_at`` (which every visible change of a comment
    moves: an edit, a withdrawal, moderation, erasure), the page's reaction counts, the
    categories' names, the reply depth, whether the reader may reply, the language and the
    time zone. Nothing is invalidated by hand: a stale key is never asked for again."""
    from django.utils import timezone, translation

    categories = [(c.pk, c.slug, c.label) for c in discussion.categories.all()]
    state = (
        discussion.pk,
        number,
        can_post,
        discussion.max_reply_depth,
        categories,
        sorted(reactions.items()),
        translation.get_language(),
        timezone.get_current_timezone_name(),
        outline,
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()


def page_feedback(
    *,
    page,
    user=None,
    comments_page: str | None = None,
    reply_to: str | None = None,
    form: CommentFormState | None = None,
) -> PageFeedback | None:
    """Everything the feedback section of a page shows, or None when the page has no published
    discussion (never published, or a preview of an unpublished page)."""
    import json

    from django.conf import settings
    from django.core.paginator import Paginator
    from django.shortcuts import resolve_url
    from django.utils import timezone

    from engage import selectors as engage_selectors
    from engage.schemas import category_out

    discussion = (
        engage_selectors.discussion_get_published(discussion_id=page.discussion_id)
        if page.discussion_id
        else None
    )
    if discussion is None:
        return None
    now = timezone.now()
    if discussion.opens_at and now < discussion.opens_at:
        state = "not_yet"
    elif discussion.closes_at and now >= discussion.closes_at:
        state = "closed"
    else:
        state = "open"

    outline = engage_selectors.comment_thread_outline(discussion=discussion)
    thread_page = Paginator(_outline_tree(outline), THREADS_PER_PAGE).get_page(comments_page)
    signed_in = bool(user is not None and user.is_authenticated)
    can_post = _can_post(state=state, signed_in=signed_in, discussion=discussion)
    reaction_counts = engage_selectors.reaction_counts_by_comment(
        comment_ids=_ids(list(thread_page.object_list))
    )
    thread_key = _thread_key(
        discussion=discussion,
        outline=outline,
        number=thread_page.number,
        reactions=reaction_counts,
        can_post=can_post,
    )

    categories = [category_out(c) for c in discussion.categories.all()]
    replying_to = None
    if reply_to and reply_to.isdigit():
        candidate = engage_selectors.comment_get(comment_id=int(reply_to))
        if (
            candidate is not None
            and candidate.discussion_id == discussion.pk
            and candidate.status == "published"
            and candidate.depth < discussion.max_reply_depth
        ):
            replying_to = candidate
    return PageFeedback(
        discussion=discussion,
        state=state,
        thread_page=thread_page,
        thread_key=thread_key,
        reaction_counts=reaction_counts,
        categories=categories,
        categories_json=json.dumps(categories, separators=(",", ":")),
        map=_feedback_map(page=page, discussion=discussion),
        comments_url=f"/api/engage/discussions/{discussion.pk}/comments/",
        ws_path=f"/ws/discussions/{discussion.pk}/",
        signed_in=signed_in,
        reply_to=replying_to,
        form=form or CommentFormState(),
        login_url=resolve_url(settings.LOGIN_URL),
    )


@dataclass(frozen=True)
class OpenCommentPeriod:
    page: Page
    closes_at: object | None


def open_comment_periods(*, root: Page) -> list[OpenCommentPeriod]:
    """Live, public topics and plans under ``root`` whose discussion takes comments now,
    closing soonest first (no closing date last)."""
    from django.db.models import Q
    from django.utils import timezone

    from cms.models import DraftPlanPage, PlanningTopicPage

    now = timezone.now()
    periods = []
    for model in (PlanningTopicPage, DraftPlanPage):
        pages = (
            model.objects.descendant_of(root)
            .live()
            .public()
            .filter(discussion__is_published=True)
            .filter(Q(discussion__opens_at__isnull=True) | Q(discussion__opens_at__lte=now))
            .filter(Q(discussion__closes_at__isnull=True) | Q(discussion__closes_at__gt=now))
            .select_related("discussion")
        )
        periods.extend(OpenCommentPeriod(page=p, closes_at=p.discussion.closes_at) for p in pages)
    far = now.replace(year=9999)
    return sorted(periods, key=lambda p: (p.closes_at or far, p.page.title))
