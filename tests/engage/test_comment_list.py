"""Reading a thread: published comments in order, paginated, with ``?after=`` backfill."""

from __future__ import annotations

import pytest
from django.test import Client

from engage import services
from engage.models import Comment
from engage.rules import Participant
from tests.engage.conftest import comments_url, error_fields, open_discussion, post_comment

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def test_comments_come_in_the_order_they_were_posted(anonymous_client, discussion):
    posted = [
        post_comment(anonymous_client, discussion, body=f"#{i}").json()["id"] for i in range(3)
    ]
    assert ids(anonymous_client.get(comments_url(discussion))) == posted


def test_after_returns_only_what_a_reconnecting_client_missed(anonymous_client, discussion):
    posted = [post_comment(anonymous_client, discussion).json()["id"] for _ in range(4)]
    response = anonymous_client.get(comments_url(discussion) + f"?after={posted[1]}")
    assert ids(response) == posted[2:]


def test_pages_are_followed_with_next_after(anonymous_client, discussion):
    posted = [post_comment(Client(), discussion).json()["id"] for _ in range(5)]
    seen, after = [], ""
    while True:
        page = anonymous_client.get(comments_url(discussion) + f"?limit=2{after}").json()
        seen += [item["id"] for item in page["items"]]
        if not page["has_more"]:
            break
        after = f"&after={page['next_after']}"
    assert seen == posted


def test_hidden_pending_and_withdrawn_comments_are_not_listed(anonymous_client, moderator, db):
    discussion = open_discussion()
    keep = post_comment(anonymous_client, discussion).json()["id"]
    hide = Comment.objects.get(pk=post_comment(anonymous_client, discussion).json()["id"])
    services.comment_set_status(
        comment=hide, status="hidden", actor=Participant(user=moderator, key="u:m")
    )
    assert ids(anonymous_client.get(comments_url(discussion))) == [keep]


def test_comments_of_other_discussions_are_not_listed(anonymous_client, discussion):
    post_comment(anonymous_client, open_discussion(title="Other"))
    assert ids(anonymous_client.get(comments_url(discussion))) == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("?after=abc", "after"),
        ("?after=-1", "after"),
        ("?limit=0", "limit"),
        ("?limit=999", "limit"),
    ],
)
def test_bad_paging_parameters_are_refused(anonymous_client, discussion, query, field):
    response = anonymous_client.get(comments_url(discussion) + query)
    assert response.status_code == 400
    assert error_fields(response) == {field}


def test_the_comments_of_an_unpublished_or_unknown_discussion_are_404(anonymous_client, db):
    hidden = open_discussion(is_published=False)
    assert anonymous_client.get(comments_url(hidden)).status_code == 404
    response = anonymous_client.get("/api/engage/discussions/424242/comments/")
    assert response.status_code == 404 and error_fields(response) == {"discussion"}


def test_the_discussion_list_shows_published_discussions_with_their_categories(
    anonymous_client, db
):
    shown = open_discussion(title="Shown")
    open_discussion(title="Draft", is_published=False)
    listing = anonymous_client.get("/api/engage/discussions/").json()
    assert [d["title"] for d in listing] == ["Shown"]
    [item] = listing
    assert item["id"] == shown.pk and item["page_url"] == "/topics/river-corridor/"
    assert item["is_open"] is True
    assert [c["slug"] for c in item["categories"]] == ["idea", "concern"]
    assert item["plan_area"]["type"] == "MultiPolygon"
    detail = anonymous_client.get(f"/api/engage/discussions/{shown.pk}/")
    assert detail.json() == item
