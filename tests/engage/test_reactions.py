"""Agree/disagree: once per person, changeable, removable; enforced by the database."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from engage import services
from engage.models import Comment, Reaction
from engage.rules import Participant
from tests.engage.conftest import error_fields, open_discussion, post_comment, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def comment(anonymous_client, discussion) -> Comment:
    return Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])


def react(client, comment, value):
    return post_json(client, f"/api/engage/comments/{comment.pk}/reactions/", {"value": value})


def test_a_resident_agrees_and_the_counts_come_back(resident_client, comment):
    response = react(resident_client, comment, "agree")
    assert response.status_code == 200
    assert response.json() == {"agree": 1, "disagree": 0, "mine": "agree"}


def test_a_second_identical_reaction_counts_once(resident_client, comment):
    react(resident_client, comment, "agree")
    assert react(resident_client, comment, "agree").json()["agree"] == 1
    assert Reaction.objects.count() == 1


def test_a_reaction_can_be_changed_and_removed(resident_client, comment):
    react(resident_client, comment, "agree")
    assert react(resident_client, comment, "disagree").json() == {
        "agree": 0,
        "disagree": 1,
        "mine": "disagree",
    }
    assert react(resident_client, comment, None).json() == {"agree": 0, "disagree": 0, "mine": None}
    assert Reaction.objects.count() == 0


def test_two_people_count_twice(resident_client, other_resident_client, comment):
    react(resident_client, comment, "agree")
    assert react(other_resident_client, comment, "agree").json()["agree"] == 2


def test_an_anonymous_visitor_reacts_once_per_session(comment):
    visitor = Client()
    react(visitor, comment, "agree")
    assert react(visitor, comment, "agree").json()["agree"] == 1
    assert react(Client(), comment, "agree").json()["agree"] == 2


def test_fifty_sequential_identical_reactions_count_once(comment):
    person = Participant(user=None, key="a:same-person")
    for _ in range(50):
        services.reaction_set(comment=comment, participant=person, value="agree")
    assert Reaction.objects.filter(comment=comment).count() == 1


@pytest.mark.postgis
@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_identical_reactions_count_once():
    discussion = open_discussion()
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    person = Participant(user=None, key="a:same-person")
    barrier = threading.Barrier(50)
    failures = []

    def react_now():
        try:
            barrier.wait()
            services.reaction_set(comment=comment, participant=person, value="agree")
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=react_now) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Reaction.objects.filter(comment=comment).count() == 1


@pytest.mark.parametrize(
    "value, field", [("love", "value"), (1, "value")], ids=["unknown value", "a number"]
)
def test_an_unknown_reaction_is_refused(resident_client, comment, value, field):
    response = react(resident_client, comment, value)
    assert response.status_code == 400
    assert error_fields(response) == {field}
    assert Reaction.objects.count() == 0


def test_a_reaction_without_a_value_is_refused(resident_client, comment):
    response = post_json(resident_client, f"/api/engage/comments/{comment.pk}/reactions/", {})
    assert response.status_code == 400
    assert error_fields(response) == {"value"}


def test_reacting_to_an_unknown_or_hidden_comment_is_404(resident_client, comment, moderator):
    assert react(resident_client, Comment(pk=999999), "agree").status_code == 404
    services.comment_set_status(
        comment=comment, status="hidden", actor=Participant(user=moderator, key="u:m")
    )
    response = react(resident_client, comment, "agree")
    assert response.status_code == 404
    assert error_fields(response) == {"comment"}


def test_reacting_in_a_closed_discussion_is_refused(resident_client, comment):
    from datetime import timedelta

    from django.utils import timezone

    services.discussion_update(
        discussion=comment.discussion, closes_at=timezone.now() - timedelta(minutes=1)
    )
    response = react(resident_client, comment, "agree")
    assert response.status_code == 403
    assert error_fields(response) == {"discussion"}
