"""A discussion's word list sends matching new comments to the moderation queue."""

from __future__ import annotations

import pytest
from django.test import Client

from engage.models import Comment
from tests.engage.conftest import comments_url, open_discussion, post_comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(db):
    discussion = open_discussion()
    discussion.held_words = "casino\nfree money\n"
    discussion.save()
    return discussion


@pytest.mark.parametrize("body", ["A CASINO by the river?", "Get free money now", "casino."])
def test_a_comment_with_a_listed_word_waits_for_a_moderator(guarded, body):
    response = post_comment(Client(), guarded, body=body)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert Comment.objects.get().status == "pending"
    assert Client().get(comments_url(guarded)).json()["items"] == []


@pytest.mark.parametrize("body", ["Casinos are elsewhere", "Freemoney is one word", "Trees"])
def test_a_comment_without_a_listed_whole_word_is_published(guarded, body):
    assert post_comment(Client(), guarded, body=body).json()["status"] == "published"


def test_a_held_comment_is_not_broadcast(guarded, monkeypatch):
    from engage import services

    sent = []
    monkeypatch.setattr(services, "broadcast_on_commit", lambda **kw: sent.append(kw))
    post_comment(Client(), guarded, body="casino")
    assert sent == []


def test_without_a_word_list_comments_are_published(discussion):
    assert post_comment(Client(), discussion, body="casino").json()["status"] == "published"
