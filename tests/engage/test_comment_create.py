"""Posting a comment over HTTP: what is stored, and every bad input refused with nothing stored
and nothing broadcast."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engage import services
from engage.models import Comment
from tests.engage.conftest import (
    comments_url,
    error_fields,
    errors_of,
    open_discussion,
    post_comment,
    post_json,
)

pytestmark = pytest.mark.django_db


def test_an_anonymous_resident_posts_a_comment_with_a_display_name(
    anonymous_client, discussion, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_comment(anonymous_client, discussion, display_name="Sam R.")
    assert response.status_code == 201
    body = response.json()
    assert body["display_name"] == "Sam R."
    assert body["status"] == "published"
    assert body["signed_in"] is False
    assert body["edit_token"]
    comment = Comment.objects.get()
    assert comment.body == "More trees along the river, please."
    assert comment.edit_token_hash and comment.edit_token_hash != body["edit_token"]
    assert len(callbacks) == 1


def test_a_signed_in_resident_posts_under_their_own_name(resident_client, discussion):
    response = post_comment(resident_client, discussion, display_name="Someone Else")
    assert response.status_code == 201
    assert response.json()["display_name"] == "Resident"
    assert response.json()["edit_token"] is None
    assert Comment.objects.get().author.username == "resident"


def test_the_ip_address_is_stored_only_as_a_keyed_hash(anonymous_client, discussion):
    data = {"body": "Hello", "display_name": "Sam"}
    post_json(anonymous_client, comments_url(discussion), data, REMOTE_ADDR="203.0.113.7")
    comment = Comment.objects.get()
    assert comment.ip_hash and "203.0.113.7" not in comment.ip_hash
    assert comment.ip_hash == services.ip_hash("203.0.113.7")


def test_markup_in_body_and_display_name_is_stored_as_text_and_escaped_in_body_html(
    anonymous_client, discussion
):
    body = (
        "<script>alert(1)</script> <svg onload=alert(2)> "
        "see https://example.org/plan?a=1&b=2 javascript:alert(3)"
    )
    response = post_comment(anonymous_client, discussion, body=body, display_name="<b>Eve</b>")
    assert response.status_code == 201
    out = response.json()
    assert out["body"] == body
    assert out["display_name"] == "<b>Eve</b>"
    html = out["body_html"]
    assert "<script" not in html and "<svg" not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://example.org/plan?a=1&amp;b=2"' in html
    assert 'href="javascript' not in html


def test_control_characters_and_nul_bytes_are_removed(anonymous_client, discussion):
    response = post_comment(
        anonymous_client, discussion, body="line one\x00\x07\r\nline two", display_name="A\x00B"
    )
    assert response.status_code == 201
    assert Comment.objects.get().body == "line one\nline two"
    assert Comment.objects.get().display_name == "AB"


def test_a_reply_is_threaded_under_its_parent(anonymous_client, discussion):
    parent = post_comment(anonymous_client, discussion).json()["id"]
    response = post_comment(anonymous_client, discussion, parent=parent, body="Agreed.")
    assert response.status_code == 201
    assert response.json()["parent"] == parent
    assert response.json()["depth"] == 1


def test_a_comment_can_carry_one_of_the_discussions_categories(anonymous_client, discussion):
    response = post_comment(anonymous_client, discussion, category="concern")
    assert response.status_code == 201
    assert response.json()["category"] == "concern"


def test_pre_moderated_comments_wait_and_are_not_broadcast(
    anonymous_client, db, django_capture_on_commit_callbacks
):
    discussion = open_discussion(moderation="pre")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_comment(anonymous_client, discussion)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert response.json()["body"]  # the author sees what they wrote
    assert callbacks == []
    listing = anonymous_client.get(comments_url(discussion)).json()
    assert listing["items"] == []


# --- Bad input: a 4xx naming the field, nothing stored, nothing broadcast ------------------

BAD_INPUTS = {
    "empty body": ({"body": ""}, 400, "body"),
    "whitespace-only body": ({"body": " \n\t  "}, 400, "body"),
    "oversized body": ({"body": "x" * 5001}, 400, "body"),
    "body that is not text": ({"body": ["a"]}, 400, "body"),
    "missing display name": ({"display_name": ""}, 400, "display_name"),
    "oversized display name": ({"display_name": "n" * 61}, 400, "display_name"),
    "unknown category": ({"category": "rant"}, 400, "category"),
    "unknown parent": ({"parent": 999999}, 400, "parent"),
    "parent that is not an id": ({"parent": "1"}, 400, "parent"),
    "honeypot filled in": ({"website": "http://spam.example"}, 400, "website"),
    "mass-assigned status": ({"status": "published"}, 400, "status"),
    "mass-assigned author": ({"author": 1}, 400, "author"),
}


@pytest.mark.parametrize("data, status, field", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_refused_and_nothing_is_stored_or_broadcast(
    anonymous_client, discussion, django_capture_on_commit_callbacks, data, status, field
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_comment(anonymous_client, discussion, **data)
    assert response.status_code == status, response.content
    assert field in error_fields(response)
    assert all(error["message"] for error in errors_of(response))
    assert Comment.objects.count() == 0
    assert callbacks == []


def test_a_body_that_is_not_a_json_object_is_refused(anonymous_client, discussion):
    for raw in ["not json", "[1, 2]", '{"body": NaN}', "[" * 50_000 + "]" * 50_000]:
        response = anonymous_client.post(
            comments_url(discussion), data=raw, content_type="application/json"
        )
        assert response.status_code in (400, 413), raw[:20]
        assert error_fields(response) == {"body"}
    assert Comment.objects.count() == 0


def test_a_request_body_over_the_size_limit_is_refused_with_413(anonymous_client, discussion):
    response = post_comment(anonymous_client, discussion, body="x" * 1_000_000)
    assert response.status_code == 413
    assert error_fields(response) == {"body"}
    assert Comment.objects.count() == 0


def test_several_bad_fields_are_named_together(anonymous_client, discussion):
    response = post_comment(anonymous_client, discussion, body="", display_name="", category="x")
    assert response.status_code == 400
    assert error_fields(response) == {"body", "display_name", "category"}


def test_a_reply_to_a_comment_of_another_discussion_is_refused(anonymous_client, discussion):
    elsewhere = open_discussion(title="Another topic")
    foreign = post_comment(anonymous_client, elsewhere).json()["id"]
    response = post_comment(anonymous_client, discussion, parent=foreign)
    assert response.status_code == 400
    assert error_fields(response) == {"parent"}
    assert Comment.objects.filter(discussion=discussion).count() == 0


def test_a_reply_to_a_hidden_comment_is_refused(anonymous_client, discussion, moderator):
    from engage.rules import Participant

    parent = Comment.objects.get(pk=post_comment(anonymous_client, discussion).json()["id"])
    services.comment_set_status(
        comment=parent, status="hidden", actor=Participant(user=moderator, key="u:m")
    )
    response = post_comment(anonymous_client, discussion, parent=parent.pk)
    assert response.status_code == 400
    assert error_fields(response) == {"parent"}


def test_replies_cannot_nest_deeper_than_the_discussion_allows(anonymous_client, db):
    discussion = open_discussion(max_reply_depth=1)
    top = post_comment(anonymous_client, discussion).json()["id"]
    reply = post_comment(anonymous_client, discussion, parent=top).json()["id"]
    response = post_comment(anonymous_client, discussion, parent=reply)
    assert response.status_code == 400
    assert error_fields(response) == {"parent"}


def test_posting_to_an_unknown_discussion_is_404(anonymous_client, db):
    response = post_json(anonymous_client, "/api/engage/discussions/424242/comments/", {})
    assert response.status_code == 404
    assert error_fields(response) == {"discussion"}


def test_posting_to_an_unpublished_discussion_is_404(anonymous_client, db):
    discussion = open_discussion(is_published=False)
    response = post_comment(anonymous_client, discussion)
    assert response.status_code == 404
    assert Comment.objects.count() == 0


@pytest.mark.parametrize(
    "times",
    [
        {"closes_at": timezone.now() - timedelta(hours=1)},
        {"opens_at": timezone.now() + timedelta(days=1)},
    ],
    ids=["closed", "not yet open"],
)
def test_posting_outside_the_comment_period_is_refused(anonymous_client, db, times):
    discussion = open_discussion(**times)
    response = post_comment(anonymous_client, discussion)
    assert response.status_code == 403
    assert error_fields(response) == {"discussion"}
    assert Comment.objects.count() == 0


def test_an_anonymous_resident_cannot_post_where_signing_in_is_required(
    anonymous_client, resident_client, db
):
    discussion = open_discussion(allow_anonymous=False)
    response = post_comment(anonymous_client, discussion)
    assert response.status_code == 403
    assert error_fields(response) == {"author"}
    assert post_comment(resident_client, discussion).status_code == 201


def test_a_signed_in_post_without_a_csrf_token_is_refused(resident, discussion):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    response = post_comment(client, discussion)
    assert response.status_code == 403
    assert error_fields(response) == {"csrf"}
    assert Comment.objects.count() == 0
