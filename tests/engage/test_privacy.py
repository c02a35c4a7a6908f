"""A resident downloads and erases their own contributions (engage.privacy): signed in, all of
the account's; anonymous, by edit token and browser session. Erasure removes the personal data
and keeps the moderation skeleton; nobody can read or erase someone else's."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from engage.models import Comment, Flag, Reaction
from tests.engage.conftest import INSIDE, post_comment, post_json

pytestmark = pytest.mark.django_db

URL = "/api/engage/me/contributions/"


def react(client: Client, comment_id: int, value: str = "agree"):
    return post_json(client, f"/api/engage/comments/{comment_id}/reactions/", {"value": value})


def flag(client: Client, comment_id: int, details: str = "my phone is 555"):
    return post_json(
        client, f"/api/engage/comments/{comment_id}/flags/", {"reason": "other", "details": details}
    )


@pytest.fixture
def others_comment(discussion) -> int:
    return post_comment(Client(), discussion, body="Someone else's words").json()["id"]


def test_a_signed_in_resident_downloads_everything_of_their_account(
    resident_client, discussion, others_comment
):
    mine = post_comment(
        resident_client, discussion, body="Mine", geometry={"type": "Point", "coordinates": INSIDE}
    ).json()
    react(resident_client, others_comment)
    flag(resident_client, others_comment)
    response = resident_client.get(URL)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["account"]["username"] == "resident"
    assert [c["id"] for c in data["comments"]] == [mine["id"]]
    assert data["comments"][0]["body"] == "Mine"
    assert data["comments"][0]["geometry"]["type"] == "Point"
    assert data["comments"][0]["ip_address_hash_kept"] is True
    assert [(r["comment"], r["value"]) for r in data["reactions"]] == [(others_comment, "agree")]
    assert data["flags"][0]["details"] == "my phone is 555"
    assert "ip_hash" not in json.dumps(data).replace("ip_address_hash_kept", "")


def test_an_anonymous_resident_downloads_by_edit_token_and_session(discussion, others_comment):
    client = Client()
    first = post_comment(client, discussion, body="First").json()
    second = post_comment(client, discussion, body="Second").json()
    post_comment(Client(), discussion, body="Not mine")
    react(client, others_comment)
    response = client.get(URL, HTTP_X_EDIT_TOKEN=f"{first['edit_token']}, {second['edit_token']}")
    data = response.json()
    assert data["account"] is None
    assert [c["body"] for c in data["comments"]] == ["First", "Second"]
    assert len(data["reactions"]) == 1
    # Without tokens and from another browser: nothing.
    assert Client().get(URL).json()["comments"] == []


def test_a_guessed_or_foreign_token_reveals_nothing(discussion):
    post_comment(Client(), discussion, body="Secret")
    data = Client().get(URL, HTTP_X_EDIT_TOKEN="guess,another-guess").json()
    assert data["comments"] == [] and data["reactions"] == [] and data["flags"] == []


def test_erasing_keeps_the_skeleton_and_removes_personal_data(
    resident_client, discussion, others_comment, django_capture_on_commit_callbacks
):
    mine = post_comment(
        resident_client, discussion, body="Mine", geometry={"type": "Point", "coordinates": INSIDE}
    ).json()
    reply = post_comment(Client(), discussion, body="A reply", parent=mine["id"]).json()
    react(resident_client, others_comment)
    flag(resident_client, others_comment)
    with django_capture_on_commit_callbacks() as callbacks:
        response = resident_client.delete(URL)
    assert response.status_code == 200
    assert response.json() == {"erased": {"comments": 1, "reactions": 1, "flags": 1}}
    comment = Comment.objects.get(pk=mine["id"])
    assert comment.status == "withdrawn"
    assert comment.body == "" and comment.display_name == ""
    assert comment.author is None and comment.geometry is None and comment.landuse == []
    assert comment.ip_hash == "" and comment.edit_token_hash == ""
    assert comment.created_at and comment.status_changed_at
    assert Comment.objects.get(pk=reply["id"]).parent_id == mine["id"]  # thread intact
    assert not Reaction.objects.exists()
    kept = Flag.objects.get()
    assert kept.reason == "other" and kept.details == "" and kept.user is None
    assert kept.ip_hash == "" and kept.reporter_key.startswith("erased:")
    assert len(callbacks) == 2  # the comment disappears live; the counts change live
    listing = Client().get(f"/api/engage/discussions/{discussion.pk}/comments/").json()
    assert mine["id"] not in [item["id"] for item in listing["items"]]
    assert resident_client.get(URL).json()["comments"] == []


def test_a_hidden_comment_keeps_the_moderators_decision_when_erased(resident_client, discussion):
    mine = post_comment(resident_client, discussion).json()
    Comment.objects.filter(pk=mine["id"]).update(status="hidden")
    resident_client.delete(URL)
    comment = Comment.objects.get()
    assert comment.status == "hidden" and comment.body == ""


def test_an_anonymous_resident_erases_by_token_and_only_that(discussion):
    client = Client()
    mine = post_comment(client, discussion, body="Mine").json()
    theirs = post_comment(Client(), discussion, body="Theirs").json()
    response = client.delete(URL, HTTP_X_EDIT_TOKEN=mine["edit_token"])
    assert response.json()["erased"]["comments"] == 1
    assert Comment.objects.get(pk=mine["id"]).body == ""
    assert Comment.objects.get(pk=theirs["id"]).body == "Theirs"
    # The token is spent: it no longer finds anything.
    assert Client().get(URL, HTTP_X_EDIT_TOKEN=mine["edit_token"]).json()["comments"] == []


def test_erasing_with_no_identity_at_all_is_a_400(discussion):
    response = Client().delete(URL)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "edit_token"


def test_another_resident_cannot_erase_my_comments(
    resident_client, other_resident_client, discussion
):
    post_comment(resident_client, discussion, body="Mine")
    assert other_resident_client.delete(URL).json()["erased"]["comments"] == 0
    assert Comment.objects.get().body == "Mine"


def test_erasing_while_signed_in_needs_the_csrf_token(resident, discussion):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    post_comment(Client(), discussion)
    Comment.objects.update(author=resident)
    response = client.delete(URL)
    assert response.status_code == 403
    assert Comment.objects.get().body


def test_too_many_tokens_are_refused(discussion):
    response = Client().get(URL, HTTP_X_EDIT_TOKEN=",".join(["t"] * 201))
    assert response.status_code == 400
