"""The selectors a server-rendered thread is built from: the outline of every comment a thread
may show, and the comments of one page of it with their reaction counts."""

from __future__ import annotations

import pytest

from engage import selectors
from engage.models import Comment, Reaction
from engage.rules import Participant
from engage.services import comment_create, comment_edit

pytestmark = pytest.mark.django_db


def post(discussion, body: str, parent=None) -> Comment:
    comment, _ = comment_create(
        discussion=discussion,
        participant=Participant(user=None, key="a:t"),
        body=body,
        display_name="Sam",
        parent_id=parent.pk if parent else None,
    )
    return comment


def test_the_outline_lists_published_hidden_and_withdrawn_comments_in_id_order(discussion):
    first, token = comment_create(
        discussion=discussion,
        participant=Participant(user=None, key="a:t"),
        body="First",
        display_name="Sam",
    )
    reply = post(discussion, "Reply", parent=first)
    hidden = post(discussion, "Hidden")
    pending = post(discussion, "Pending")
    Comment.objects.filter(pk=hidden.pk).update(status=Comment.Status.HIDDEN)
    Comment.objects.filter(pk=pending.pk).update(status=Comment.Status.PENDING)
    outline = selectors.comment_thread_outline(discussion=discussion)
    assert [row[:3] for row in outline] == [
        (first.pk, None, "published"),
        (reply.pk, first.pk, "published"),
        (hidden.pk, None, "hidden"),
    ]
    # Each comment's version moves with every visible change (a rendered thread keys on it).
    author = Participant(user=None, key="a:t", edit_token=token)
    comment_edit(comment=first, participant=author, body="First, edited")
    again = selectors.comment_thread_outline(discussion=discussion)
    assert [row[3] == before[3] for row, before in zip(again, outline, strict=True)] == [
        False,
        True,
        True,
    ]


def test_reaction_counts_by_comment_count_each_value_for_the_comments_asked_only(discussion):
    first, second, third = post(discussion, "A"), post(discussion, "B"), post(discussion, "C")
    Reaction.objects.create(comment=first, voter_key="a:1", value="agree")
    Reaction.objects.create(comment=first, voter_key="a:2", value="agree")
    Reaction.objects.create(comment=first, voter_key="a:3", value="disagree")
    Reaction.objects.create(comment=third, voter_key="a:1", value="disagree")
    counts = selectors.reaction_counts_by_comment(comment_ids=[first.pk, second.pk])
    assert counts == {first.pk: (2, 1)}


def test_comments_by_id_stay_in_their_discussion(discussion):
    from tests.engage.conftest import open_discussion

    comment = post(discussion, "Trees")
    elsewhere = post(open_discussion(title="Another"), "Elsewhere")
    found = selectors.comment_list_by_ids(discussion=discussion, ids=[comment.pk, elsewhere.pk])
    assert list(found) == [comment.pk]
    assert found[comment.pk].body == "Trees"
