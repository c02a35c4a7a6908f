"""The moderation queue: what needs attention first, and its filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from engage import services
from engage.models import Comment
from engage.rules import Participant
from tests.engage.conftest import INSIDE, open_discussion, post_comment

pytestmark = pytest.mark.django_db
QUEUE = "/api/engage/moderation/queue/"


def flag(comment: Comment, times: int) -> None:
    for n in range(times):
        services.flag_create(
            comment=comment, participant=Participant(user=None, key=f"a:{n}"), reason="spam"
        )


def new_comment(discussion, **data) -> Comment:
    return Comment.objects.get(pk=post_comment(Client(), discussion, **data).json()["id"])


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_pending_come_first_then_flagged_by_number_of_flags(moderator_client, discussion):
    quiet = new_comment(discussion, body="quiet")
    once = new_comment(discussion, body="once")
    thrice = new_comment(discussion, body="thrice")
    flag(once, 1)
    flag(thrice, 3)
    pending = new_comment(open_discussion(moderation="pre"), body="waiting")
    assert ids(moderator_client.get(QUEUE)) == [pending.pk, thrice.pk, once.pk]
    assert quiet.pk in ids(moderator_client.get(QUEUE + "?status=published"))


def test_it_filters_by_discussion_status_and_category(moderator_client, discussion):
    idea = new_comment(discussion, category="idea")
    concern = new_comment(discussion, category="concern")
    other = new_comment(open_discussion(title="Other"))
    both = f"{QUEUE}?status=published&discussion={discussion.pk}"
    assert ids(moderator_client.get(both)) == [concern.pk, idea.pk]
    assert ids(moderator_client.get(both + "&category=idea")) == [idea.pk]
    assert other.pk not in ids(moderator_client.get(both))


def test_it_filters_by_zoning_and_future_land_use_at_the_pin(
    moderator_client, discussion, landuse_map
):
    pinned = new_comment(discussion, geometry={"type": "Point", "coordinates": INSIDE})
    new_comment(discussion, body="no pin")
    url = f"{QUEUE}?status=published"
    assert ids(moderator_client.get(url + "&zoning_code=C-MX-5")) == [pinned.pk]
    assert ids(moderator_client.get(url + "&future_land_use_code=CC")) == [pinned.pk]
    assert ids(moderator_client.get(url + "&zoning_code=R-1")) == []
    item = moderator_client.get(url + "&zoning_code=C-MX-5").json()["items"][0]
    assert item["zoning_label"] == "Main Street 5" and item["lon"] == INSIDE[0]


def test_it_filters_by_date_range(moderator_client, discussion):
    old = new_comment(discussion, body="old")
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    recent = new_comment(discussion, body="recent")
    today = timezone.localdate()
    since = (today - timedelta(days=1)).isoformat()
    until = (today - timedelta(days=5)).isoformat()
    assert ids(moderator_client.get(f"{QUEUE}?status=published&since={since}")) == [recent.pk]
    assert ids(moderator_client.get(f"{QUEUE}?status=published&until={until}")) == [old.pk]


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=gone", "status"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("discussion=abc", "discussion"),
        ("bbox=1,2,3", "bbox"),
        ("since=2026-05-02&until=2026-05-01", "until"),
        ("colour=red", "colour"),
        ("limit=5000", "limit"),
    ],
)
def test_bad_filters_are_400_naming_the_field(moderator_client, query, field):
    response = moderator_client.get(f"{QUEUE}?{query}")
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
