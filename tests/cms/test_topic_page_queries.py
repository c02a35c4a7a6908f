"""A topic page's database work does not grow with its thread: the same number of queries for
5 comments as for 50 (replies, pins and reactions included), whether the thread is rendered or
reused."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.rules import Participant
from engage.services import comment_create, reaction_set

pytestmark = pytest.mark.django_db

PIN = {"type": "Point", "coordinates": [-104.95, 39.75]}


def add_comments(discussion, count: int, start: int) -> None:
    for number in range(start, start + count):
        who = Participant(user=None, key=f"a:resident-{number}")
        comment, _ = comment_create(
            discussion=discussion,
            participant=who,
            body=f"Comment number {number}",
            display_name=f"Resident {number}",
            geometry=PIN if number % 3 == 0 else None,
        )
        if number % 4 == 0:
            comment_create(
                discussion=discussion,
                participant=who,
                body=f"Reply to {number}",
                display_name=f"Resident {number}",
                parent_id=comment.pk,
            )
        if number % 5 == 0:
            reaction_set(comment=comment, participant=who, value="agree")


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_topic_page_makes_as_many_queries_for_50_comments_as_for_5(client, topic):
    client.get(topic.url)  # first request warms per-process caches (site root, locales)
    # The first view after a change renders the thread; the next reuses that rendering.
    add_comments(topic.discussion, 5, start=0)
    with_5, with_5_again = queries_for(client, topic.url), queries_for(client, topic.url)

    add_comments(topic.discussion, 45, start=5)
    with_50, with_50_again = queries_for(client, topic.url), queries_for(client, topic.url)

    assert topic.discussion.comments.count() > 50
    assert with_50 == with_5
    assert with_50_again == with_5_again
    # A reused thread skips loading its comments.
    assert with_5_again == with_5 - 1
