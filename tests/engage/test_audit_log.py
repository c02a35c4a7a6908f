"""The audit log: one entry per decision, written in the decision's transaction, never changed."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from engage import services
from engage.models import Comment, ModerationLogEntry
from engage.rules import Participant
from tests.engage.conftest import open_discussion, post_comment

pytestmark = pytest.mark.django_db


def as_participant(user) -> Participant:
    return Participant(user=user, key=f"u:{user.pk}")


def new_comment(discussion) -> Comment:
    return Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])


def test_each_action_writes_who_when_what_before_after_and_why(moderator, discussion):
    comment = new_comment(discussion)
    services.comment_hide(comment=comment, actor=as_participant(moderator), reason="Spam link")
    entry = ModerationLogEntry.objects.get()
    assert entry.actor == moderator and entry.actor_name == "Moderator"
    assert entry.action == "hide" and entry.reason == "Spam link"
    assert (entry.previous_status, entry.new_status) == ("published", "hidden")
    assert entry.comment == comment and entry.discussion == discussion
    assert entry.created_at is not None


def test_the_log_of_a_comment_is_served_oldest_first(moderator, moderator_client, discussion):
    comment = new_comment(discussion)
    actor = as_participant(moderator)
    services.comment_hide(comment=comment, actor=actor, reason="First look")
    services.comment_restore(comment=comment, actor=actor, reason="Second look")
    response = moderator_client.get(f"/api/engage/moderation/comments/{comment.pk}/log/")
    assert response.status_code == 200
    assert [(e["action"], e["reason"]) for e in response.json()] == [
        ("hide", "First look"),
        ("restore", "Second look"),
    ]


def test_log_entries_cannot_be_changed_or_deleted(moderator, discussion):
    comment = new_comment(discussion)
    services.comment_hide(comment=comment, actor=as_participant(moderator), reason="x")
    entry = ModerationLogEntry.objects.get()
    entry.reason = "rewritten"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        ModerationLogEntry.objects.update(reason="rewritten")
    with pytest.raises(TypeError):
        ModerationLogEntry.objects.all().delete()
    assert ModerationLogEntry.objects.get().reason == "x"


def test_a_rolled_back_decision_leaves_no_entry_and_no_change(moderator, discussion):
    comment = new_comment(discussion)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.comment_hide(comment=comment, actor=as_participant(moderator), reason="x")
        raise RuntimeError
    assert not ModerationLogEntry.objects.exists()
    assert Comment.objects.get().status == "published"


def test_markup_in_a_reason_is_stored_as_text_and_control_characters_dropped(
    moderator, moderator_client, discussion
):
    comment = new_comment(discussion)
    services.comment_hide(
        comment=comment, actor=as_participant(moderator), reason="<svg onload=alert(1)>\x00 x"
    )
    entry = moderator_client.get(f"/api/engage/moderation/comments/{comment.pk}/log/").json()[0]
    assert entry["reason"] == "<svg onload=alert(1)> x"


def test_a_comment_held_by_the_word_list_has_an_entry_without_a_moderator(db):
    discussion = open_discussion()
    discussion.held_words = "casino"
    discussion.save()
    comment = new_comment_with_body(discussion, "Build a casino here")
    entry = ModerationLogEntry.objects.get(comment=comment)
    assert entry.action == "hold" and entry.actor is None
    assert (entry.previous_status, entry.new_status) == ("published", "pending")


def new_comment_with_body(discussion, body: str) -> Comment:
    return Comment.objects.get(pk=post_comment(Client(), discussion, body=body).json()["id"])
