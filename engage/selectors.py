"""Reads of discussions, comments and pinned feedback."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from engage.models import Comment, Discussion, FeedbackCategory

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
