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


def test_changed_since_tells_a_returning_page_about_edits_hides_and_late_approvals(
    resident_client, moderator, db
):
    discussion = open_discussion(moderation="pre")
    mod = Participant(user=moderator, key="u:m")
    first = Comment.objects.get(pk=post_comment(resident_client, discussion).json()["id"])
    services.comment_set_status(comment=first, status="published", actor=mod)
    late = Comment.objects.get(pk=post_comment(resident_client, discussion).json()["id"])
    page = resident_client.get(comments_url(discussion)).json()
    as_of = page["as_of"]

    # While the page is away: the first comment is edited then hidden, the older pending one
    # is approved, and a newer one is posted and approved.
    resident_client.patch(
        f"/api/engage/comments/{first.pk}/",
        data='{"body": "edited"}',
        content_type="application/json",
    )
    first.refresh_from_db()
    services.comment_set_status(comment=first, status="hidden", actor=mod)
    services.comment_set_status(comment=late, status="published", actor=mod)

    changed = resident_client.get(comments_url(discussion), {"changed_since": as_of}).json()
    by_id = {item["id"]: item for item in changed["items"]}
    assert by_id[first.pk]["status"] == "hidden" and by_id[first.pk]["body"] == ""
    assert by_id[late.pk]["status"] == "published" and by_id[late.pk]["body"]
    assert changed["as_of"] > as_of


@pytest.mark.parametrize(
    "query",
    [
        "?changed_since=yesterday",
        "?changed_since=2026-01-01T00:00:00",
        "?after=1&changed_since=2026-01-01T00:00:00Z",
    ],
)
def test_a_bad_changed_since_is_refused(anonymous_client, discussion, query):
    response = anonymous_client.get(comments_url(discussion) + query)
    assert response.status_code == 400
    assert error_fields(response) == {"changed_since"}
