"""Authors edit or withdraw their own comments within the discussion's edit window: signed-in
authors by their session, anonymous authors with the edit token returned at creation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from engage.models import Comment
from tests.engage.conftest import comments_url, error_fields, post_comment

pytestmark = pytest.mark.django_db


def patch(client, comment_id, body, **headers):
    return client.patch(
        f"/api/engage/comments/{comment_id}/",
        data=json.dumps({"body": body}),
        content_type="application/json",
        **headers,
    )


def withdraw(client, comment_id, **headers):
    return client.delete(f"/api/engage/comments/{comment_id}/", **headers)


def test_a_resident_edits_their_comment_and_the_thread_shows_it_was_edited(
    resident_client, discussion
):
    created = post_comment(resident_client, discussion).json()
    response = patch(resident_client, created["id"], "Corrected <text>")
    assert response.status_code == 200
    assert response.json()["body"] == "Corrected <text>"
    [listed] = resident_client.get(comments_url(discussion)).json()["items"]
    assert listed["body"] == "Corrected <text>" and listed["edited_at"]


def test_an_anonymous_author_edits_with_the_edit_token(discussion):
    created = post_comment(Client(), discussion).json()
    response = patch(Client(), created["id"], "Fixed", HTTP_X_EDIT_TOKEN=created["edit_token"])
    assert response.status_code == 200
    assert Comment.objects.get().body == "Fixed"


def test_a_wrong_edit_token_is_refused(discussion):
    created = post_comment(Client(), discussion).json()
    response = patch(Client(), created["id"], "Hijacked", HTTP_X_EDIT_TOKEN="guess")
    assert response.status_code == 403
    assert error_fields(response) == {"comment"}
    assert Comment.objects.get().body != "Hijacked"


def test_a_resident_cannot_edit_or_withdraw_another_residents_comment(
    resident_client, other_resident_client, discussion
):
    created = post_comment(resident_client, discussion).json()
    assert patch(other_resident_client, created["id"], "Mine now").status_code == 403
    assert withdraw(other_resident_client, created["id"]).status_code == 403
    assert withdraw(Client(), created["id"]).status_code == 403
    assert Comment.objects.get().status == "published"


def test_the_edit_window_closes(resident_client, discussion):
    created = post_comment(resident_client, discussion).json()
    Comment.objects.filter(pk=created["id"]).update(
        created_at=timezone.now() - discussion.edit_window - timedelta(seconds=1)
    )
    response = patch(resident_client, created["id"], "Too late")
    assert response.status_code == 403
    assert withdraw(resident_client, created["id"]).status_code == 403


def test_an_edit_is_checked_like_a_new_comment(resident_client, discussion):
    created = post_comment(resident_client, discussion).json()
    for body in ["", "   ", "x" * 5001]:
        response = patch(resident_client, created["id"], body)
        assert response.status_code == 400
        assert error_fields(response) == {"body"}
    assert Comment.objects.get().edited_at is None


def test_a_withdrawn_comment_leaves_the_thread_and_cannot_be_edited(resident_client, discussion):
    created = post_comment(resident_client, discussion).json()
    response = withdraw(resident_client, created["id"])
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn" and response.json()["body"] == ""
    assert resident_client.get(comments_url(discussion)).json()["items"] == []
    assert patch(resident_client, created["id"], "back").status_code == 409
    assert withdraw(resident_client, created["id"]).status_code == 409


def test_editing_an_unknown_comment_is_404(resident_client, db):
    response = patch(resident_client, 424242, "x")
    assert response.status_code == 404
    assert error_fields(response) == {"comment"}
