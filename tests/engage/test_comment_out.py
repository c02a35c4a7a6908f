"""The public form of a comment (``engage.schemas.comment_out``) is built without validating
it again: what it gives must still be exactly what the ``CommentOut`` schema (the API's
documented shape) validates to, for every kind of comment."""

from __future__ import annotations

import pytest

from engage import services
from engage.models import Comment
from engage.rules import Participant
from engage.schemas import CommentOut, LandUseAnswerOut, comment_out
from tests.engage.conftest import INSIDE, open_discussion

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("error")]

ANONYMOUS = Participant(user=None, key="a:test")


def post(discussion, **fields) -> Comment:
    comment, _token = services.comment_create(
        discussion=discussion, participant=ANONYMOUS, display_name="Sam", **fields
    )
    return comment


def assert_is_the_schema(data: dict) -> None:
    # Validating the output and serialising it again changes nothing: every field is there,
    # of the schema's type, with nothing extra (pydantic's serialiser warnings are errors here).
    assert CommentOut.model_validate(data).model_dump(mode="json") == data


def test_a_pinned_categorised_reply_is_given_in_the_schemas_shape(landuse_map):
    discussion = open_discussion()
    parent = post(discussion, body="Parent")
    reply = post(
        discussion,
        body="Look at https://example.org <b>now</b>\nplease",
        parent_id=parent.pk,
        geometry={"type": "Point", "coordinates": INSIDE},
        category="idea",
    )
    data = comment_out(reply, agree=2, disagree=1)
    assert_is_the_schema(data)
    assert data["parent"] == parent.pk and data["category"] == "idea"
    assert data["status"] == "published" and type(data["status"]) is str
    assert [a["code"] for a in data["landuse"]] == ["C-MX-5", "CC"]
    assert set(data["landuse"][0]) == set(LandUseAnswerOut.model_fields)  # no group, no id
    assert data["reactions"] == {"agree": 2, "disagree": 1}
    assert data["geometry"] == {"type": "Point", "coordinates": INSIDE}
    assert '<a href="https://example.org"' in data["body_html"] and "<b>" not in data["body_html"]
    assert data["created_at"].endswith("Z") or data["created_at"].endswith("+00:00")


def test_a_pending_comment_shows_its_content_to_its_author_only():
    discussion = open_discussion(moderation="pre")
    comment = post(discussion, body="Waiting")
    for_author, public = comment_out(comment, for_author=True), comment_out(comment)
    assert_is_the_schema(for_author)
    assert_is_the_schema(public)
    assert for_author["body"] == "Waiting" and public["body"] == "" and public["landuse"] == []


def test_a_hidden_comment_keeps_its_reason_and_loses_its_content(moderator):
    discussion = open_discussion()
    comment = post(discussion, body="Rude", geometry={"type": "Point", "coordinates": INSIDE})
    Comment.objects.filter(pk=comment.pk).update(
        status=Comment.Status.HIDDEN, moderation_reason="Personal attack"
    )
    comment.refresh_from_db()
    data = comment_out(comment)
    assert_is_the_schema(data)
    assert (data["body"], data["geometry"], data["moderation_reason"]) == (
        "",
        None,
        "Personal attack",
    )


def test_the_api_answers_a_post_in_the_same_shape_as_its_event(anonymous_client):
    discussion = open_discussion()
    response = anonymous_client.post(
        f"/api/engage/discussions/{discussion.pk}/comments/",
        {"body": "Hello", "display_name": "Sam"},
        content_type="application/json",
    )
    body = response.json()
    token = body.pop("edit_token")
    assert token and response.status_code == 201
    assert_is_the_schema(body)
    assert body == comment_out(Comment.objects.get(pk=body["id"]))
