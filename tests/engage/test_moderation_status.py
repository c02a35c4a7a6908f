"""The service the moderation work calls: who may change a comment's status, which changes
exist, and what open pages are told."""

from __future__ import annotations

import pytest
from django.test import Client

from engage import services
from engage.models import Comment
from engage.rules import Participant
from engage.validation import Problem
from tests.engage.conftest import comments_url, open_discussion, post_comment

pytestmark = pytest.mark.django_db


def as_participant(user) -> Participant:
    return Participant(user=user, key=f"u:{user.pk}")


def test_a_moderator_approves_a_pending_comment_and_pages_receive_it_as_new(
    moderator, django_capture_on_commit_callbacks, monkeypatch
):
    discussion = open_discussion(moderation="pre")
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    sent = []
    monkeypatch.setattr(services, "broadcast_on_commit", lambda **kw: sent.append(kw["build"]()))
    services.comment_set_status(
        comment=comment, status="published", actor=as_participant(moderator)
    )
    assert [event["type"] for event in sent] == ["comment.created"]
    assert sent[0]["comment"]["body"]
    listed = Client().get(comments_url(discussion)).json()["items"]
    assert [item["id"] for item in listed] == [comment.pk]


def test_a_moderator_rejects_a_pending_comment_and_nothing_is_broadcast(moderator, monkeypatch):
    discussion = open_discussion(moderation="pre")
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    sent = []
    monkeypatch.setattr(services, "broadcast_on_commit", lambda **kw: sent.append(kw))
    services.comment_set_status(comment=comment, status="rejected", actor=as_participant(moderator))
    assert sent == [] and Comment.objects.get().status == "rejected"


def test_a_resident_cannot_moderate(resident, discussion):
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    with pytest.raises(Problem) as refused:
        services.comment_set_status(
            comment=comment, status="hidden", actor=as_participant(resident)
        )
    assert refused.value.status == 403
    assert Comment.objects.get().status == "published"


@pytest.mark.parametrize("status", ["pending", "withdrawn", "rejected", "nonsense"])
def test_a_change_that_does_not_exist_is_refused(moderator, discussion, status):
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    with pytest.raises(Problem) as refused:
        services.comment_set_status(comment=comment, status=status, actor=as_participant(moderator))
    assert refused.value.status == 409
