"""Moderation actions: approve, hide, reject, restore, bulk, dismiss flags; what readers and open
pages see; conflicts."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from engage import services
from engage.models import Comment, Flag, ModerationLogEntry
from engage.rules import Participant
from engage.validation import Problem
from tests.engage.conftest import comments_url, open_discussion, post_comment, post_json

pytestmark = pytest.mark.django_db


def act_url(comment_id: int, action: str) -> str:
    return f"/api/engage/moderation/comments/{comment_id}/{action}/"


def new_comment(discussion, **data) -> Comment:
    return Comment.objects.get(pk=post_comment(Client(), discussion, **data).json()["id"])


def as_participant(user) -> Participant:
    return Participant(user=user, key=f"u:{user.pk}")


def test_a_moderator_approves_a_pending_comment_over_http(moderator_client):
    comment = new_comment(open_discussion(moderation="pre"))
    response = post_json(moderator_client, act_url(comment.pk, "approve"), {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    assert Comment.objects.get().status == "published"


def test_hiding_needs_a_reason_and_readers_see_it(moderator_client, discussion):
    comment = new_comment(discussion)
    refused = post_json(moderator_client, act_url(comment.pk, "hide"), {"reason": "  "})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "reason"
    response = post_json(
        moderator_client, act_url(comment.pk, "hide"), {"reason": "Personal attack"}
    )
    assert response.status_code == 200
    item = Client().get(comments_url(discussion) + "?changed_since=2000-01-01T00:00:00Z").json()
    (shown,) = item["items"]
    assert shown["status"] == "hidden" and shown["body"] == ""
    assert shown["moderation_reason"] == "Personal attack"
    assert Client().get(comments_url(discussion)).json()["items"] == []


def test_a_hidden_comment_can_be_restored_and_loses_its_reason(moderator, discussion):
    comment = new_comment(discussion)
    actor = as_participant(moderator)
    services.comment_hide(comment=comment, actor=actor, reason="Spam")
    services.comment_restore(comment=comment, actor=actor)
    comment.refresh_from_db()
    assert comment.status == "published" and comment.moderation_reason == ""


def test_a_rejected_comment_can_be_restored(moderator):
    comment = new_comment(open_discussion(moderation="pre"))
    actor = as_participant(moderator)
    services.comment_reject(comment=comment, actor=actor, reason="Off topic")
    assert Comment.objects.get().status == "rejected"
    services.comment_restore(comment=comment, actor=actor)
    assert Comment.objects.get().status == "published"


def test_approving_an_already_approved_comment_is_a_conflict_without_a_second_entry(
    moderator_client,
):
    comment = new_comment(open_discussion(moderation="pre"))
    assert post_json(moderator_client, act_url(comment.pk, "approve"), {}).status_code == 200
    again = post_json(moderator_client, act_url(comment.pk, "approve"), {})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"
    assert ModerationLogEntry.objects.count() == 1


def test_a_stale_copy_of_a_comment_cannot_be_moderated_twice(moderator):
    comment = new_comment(open_discussion(moderation="pre"))
    stale = Comment.objects.get(pk=comment.pk)
    services.comment_approve(comment=comment, actor=as_participant(moderator))
    with pytest.raises(Problem) as refused:
        services.comment_reject(comment=stale, actor=as_participant(moderator), reason="x")
    assert refused.value.status == 409
    assert Comment.objects.get().status == "published"
    assert ModerationLogEntry.objects.count() == 1


def test_an_unknown_action_is_404_and_an_unknown_comment_is_404(moderator_client, discussion):
    comment = new_comment(discussion)
    assert post_json(moderator_client, act_url(comment.pk, "explode"), {}).status_code == 404
    assert post_json(moderator_client, act_url(999999, "hide"), {"reason": "x"}).status_code == 404


def test_unknown_fields_in_an_action_body_are_refused(moderator_client, discussion):
    comment = new_comment(discussion)
    response = post_json(moderator_client, act_url(comment.pk, "hide"), {"status": "published"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"
    assert Comment.objects.get().status == "published"


def test_bulk_approval_approves_them_all(moderator_client):
    discussion = open_discussion(moderation="pre")
    ids = [new_comment(discussion, body=f"Idea {n}").pk for n in range(3)]
    response = post_json(
        moderator_client, "/api/engage/moderation/bulk/", {"action": "approve", "comments": ids}
    )
    assert response.status_code == 200, response.content
    assert response.json()["changed"] == ids
    assert set(Comment.objects.values_list("status", flat=True)) == {"published"}
    assert ModerationLogEntry.objects.count() == 3


def test_a_bulk_action_is_all_or_nothing(moderator_client, moderator):
    discussion = open_discussion(moderation="pre")
    ids = [new_comment(discussion, body=f"Idea {n}").pk for n in range(3)]
    services.comment_approve(
        comment=Comment.objects.get(pk=ids[1]), actor=as_participant(moderator)
    )
    response = post_json(
        moderator_client, "/api/engage/moderation/bulk/", {"action": "approve", "comments": ids}
    )
    assert response.status_code == 409
    assert str(ids[1]) in response.json()["errors"][0]["message"]
    assert Comment.objects.filter(status="pending").count() == 2
    assert ModerationLogEntry.objects.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "approve", "comments": "1,2"}, "comments"),
        ({"action": "approve", "comments": []}, "comments"),
        ({"action": "approve", "comments": [True]}, "comments"),
        ({"action": "delete", "comments": [1]}, "action"),
        ({"action": "hide", "comments": [1], "reason": ""}, "reason"),
    ],
)
def test_bad_bulk_requests_are_400_naming_the_field(moderator_client, discussion, body, field):
    new_comment(discussion)
    response = post_json(moderator_client, "/api/engage/moderation/bulk/", body)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


def test_dismissing_flags_keeps_them_marked_and_logs_it(moderator_client, discussion, resident):
    comment = new_comment(discussion)
    services.flag_create(
        comment=comment, participant=as_participant(resident), reason="spam", details=""
    )
    response = post_json(moderator_client, act_url(comment.pk, "dismiss-flags"), {"reason": "ok"})
    assert response.status_code == 200 and response.json()["open_flags"] == 0
    assert Flag.objects.get().dismissed_at is not None
    assert ModerationLogEntry.objects.get().action == "dismiss_flags"
    again = post_json(moderator_client, act_url(comment.pk, "dismiss-flags"), {})
    assert again.status_code == 409


def test_a_write_without_csrf_token_is_refused(moderator, discussion):
    comment = new_comment(discussion)
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    response = post_json(client, act_url(comment.pk, "hide"), {"reason": "x"})
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "csrf"
    assert Comment.objects.get().status == "published"


@pytest.mark.django_db(transaction=True)
async def test_a_hide_is_broadcast_as_comment_updated_over_the_websocket(
    release_thread_connections,
):
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.engage.conftest import LOCAL_ORIGIN, make_moderator

    discussion = await sync_to_async(open_discussion)()
    moderator = await sync_to_async(make_moderator)("moderator")
    comment = await sync_to_async(new_comment)(discussion)
    communicator = WebsocketCommunicator(
        application, f"/ws/discussions/{discussion.pk}/", headers=LOCAL_ORIGIN
    )
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(services.comment_hide)(
        comment=comment, actor=as_participant(moderator), reason="Off topic"
    )
    event = json.loads(await communicator.receive_from(timeout=5))
    assert event["type"] == "comment.updated"
    assert event["comment"]["id"] == comment.pk and event["comment"]["status"] == "hidden"
    assert event["comment"]["body"] == "" and event["comment"]["moderation_reason"] == "Off topic"
    await communicator.disconnect()
