"""Live events over ``WS /ws/discussions/<id>/`` through the real ASGI application: sent after
commit, never for a rollback or a refused input, and a failed broadcast never fails the POST."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from config.asgi import application
from engage import realtime, services
from engage.models import Comment
from engage.rules import Participant
from tests.engage.conftest import (
    LOCAL_ORIGIN,
    make_moderator,
    make_user,
    open_discussion,
    post_comment,
    post_json,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("release_thread_connections"),
]


async def connect(discussion_id: int, headers=LOCAL_ORIGIN) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/discussions/{discussion_id}/", headers=headers
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_event(communicator: WebsocketCommunicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=5))


async def test_every_open_page_receives_a_new_comment_after_it_is_stored():
    discussion = await sync_to_async(open_discussion)()
    first, second = await connect(discussion.pk), await connect(discussion.pk)
    response = await sync_to_async(post_comment)(Client(), discussion, body="Live!")
    assert response.status_code == 201
    for communicator in (first, second):
        event = await receive_event(communicator)
        assert event["type"] == "comment.created"
        assert event["discussion"] == discussion.pk
        assert event["comment"]["id"] == response.json()["id"]
        assert event["comment"]["body"] == "Live!"
        assert "edit_token" not in event["comment"]
        await communicator.disconnect()


async def test_the_event_has_the_same_shape_as_the_comment_list():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)
    await sync_to_async(post_comment)(Client(), discussion)
    event = await receive_event(communicator)
    listing = await sync_to_async(Client().get)(
        f"/api/engage/discussions/{discussion.pk}/comments/"
    )
    assert listing.json()["items"] == [event["comment"]]
    await communicator.disconnect()


async def test_an_edit_and_a_withdrawal_arrive_as_comment_updated():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)
    created = (await sync_to_async(post_comment)(Client(), discussion)).json()
    await receive_event(communicator)
    client = Client(HTTP_X_EDIT_TOKEN=created["edit_token"])
    url = f"/api/engage/comments/{created['id']}/"
    edited = await sync_to_async(client.patch)(
        url, data=json.dumps({"body": "Changed"}), content_type="application/json"
    )
    assert edited.status_code == 200
    event = await receive_event(communicator)
    assert event["type"] == "comment.updated"
    assert event["comment"]["body"] == "Changed" and event["comment"]["edited_at"]
    assert (await sync_to_async(client.delete)(url)).status_code == 200
    event = await receive_event(communicator)
    assert event["type"] == "comment.updated"
    assert event["comment"]["status"] == "withdrawn" and event["comment"]["body"] == ""
    await communicator.disconnect()


async def test_a_comment_hidden_by_a_moderator_is_announced_without_its_content():
    discussion = await sync_to_async(open_discussion)()
    moderator = await sync_to_async(make_moderator)("moderator", is_staff=True)
    communicator = await connect(discussion.pk)
    created = (await sync_to_async(post_comment)(Client(), discussion)).json()
    await receive_event(communicator)

    def hide():
        comment = Comment.objects.get(pk=created["id"])
        services.comment_set_status(
            comment=comment, status="hidden", actor=Participant(user=moderator, key="u:m")
        )

    await sync_to_async(hide)()
    event = await receive_event(communicator)
    assert event["type"] == "comment.updated"
    assert event["comment"]["id"] == created["id"]
    assert event["comment"]["status"] == "hidden"
    assert event["comment"]["body"] == "" and event["comment"]["display_name"] == ""
    await communicator.disconnect()


async def test_a_reaction_arrives_as_reactions_changed_with_the_counts():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)
    created = (await sync_to_async(post_comment)(Client(), discussion)).json()
    await receive_event(communicator)
    response = await sync_to_async(post_json)(
        Client(), f"/api/engage/comments/{created['id']}/reactions/", {"value": "agree"}
    )
    assert response.status_code == 200
    event = await receive_event(communicator)
    assert event == {
        "type": "reactions.changed",
        "discussion": discussion.pk,
        "comment": created["id"],
        "reactions": {"agree": 1, "disagree": 0},
    }
    await communicator.disconnect()


async def test_a_rollback_after_the_broadcast_was_registered_sends_nothing():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)

    def post_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.comment_create(
                discussion=discussion,
                participant=Participant(user=None, key="a:x"),
                body="Never stored",
                display_name="Sam",
            )
            raise RuntimeError("something later in the same transaction failed")

    await sync_to_async(post_then_fail)()
    assert await communicator.receive_nothing(timeout=0.5)
    assert await sync_to_async(Comment.objects.count)() == 0
    await communicator.disconnect()


async def test_a_refused_post_broadcasts_nothing():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)
    response = await sync_to_async(post_comment)(
        Client(), discussion, geometry={"type": "Point", "coordinates": [200, 95]}
    )
    assert response.status_code == 400
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_broadcast_failure_is_logged_and_the_post_still_succeeds(monkeypatch, caplog):
    discussion = await sync_to_async(open_discussion)()

    class DownLayer:
        async def group_send(self, group, message):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(realtime, "get_channel_layer", lambda: DownLayer())
    response = await sync_to_async(post_comment)(Client(), discussion)
    assert response.status_code == 201
    assert await sync_to_async(Comment.objects.filter(pk=response.json()["id"]).exists)()
    assert "not sent" in caplog.text


# --- Who may connect ----------------------------------------------------------------------


async def test_an_anonymous_visitor_can_listen_to_a_published_discussion():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@pytest.mark.parametrize("persona", ["resident", "moderator"])
async def test_a_signed_in_person_can_listen_to_a_published_discussion(persona):
    discussion = await sync_to_async(open_discussion)()
    maker = make_moderator if persona == "moderator" else make_user
    user = await sync_to_async(maker)(persona)
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = await connect(discussion.pk, headers=[*LOCAL_ORIGIN, (b"cookie", cookie)])
    await sync_to_async(post_comment)(Client(), discussion)
    assert (await receive_event(communicator))["type"] == "comment.created"
    await communicator.disconnect()


async def test_a_socket_for_an_unknown_discussion_is_closed_with_4404():
    communicator = await connect(424242)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def test_a_socket_for_an_unpublished_discussion_is_closed_with_4404():
    discussion = await sync_to_async(open_discussion)(is_published=False)
    communicator = await connect(discussion.pk)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


@pytest.mark.parametrize(
    "headers",
    [[(b"origin", b"https://evil.example")], [], [(b"origin", b"null")]],
    ids=["foreign origin", "missing origin", "null origin"],
)
async def test_a_socket_from_another_origin_is_refused(headers):
    discussion = await sync_to_async(open_discussion)()
    communicator = WebsocketCommunicator(
        application, f"/ws/discussions/{discussion.pk}/", headers=headers
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_message_from_the_client_closes_the_socket_with_4400():
    discussion = await sync_to_async(open_discussion)()
    communicator = await connect(discussion.pk)
    await communicator.send_json_to({"type": "comment.create", "body": "over the socket"})
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4400}


async def test_an_oversized_frame_closes_the_socket_with_4009_and_others_keep_listening():
    discussion = await sync_to_async(open_discussion)()
    flooder, listener = await connect(discussion.pk), await connect(discussion.pk)
    await flooder.send_to(text_data="x" * 1_000_000)
    assert await flooder.receive_output(timeout=5) == {"type": "websocket.close", "code": 4009}
    await sync_to_async(post_comment)(Client(), discussion)
    assert (await receive_event(listener))["type"] == "comment.created"
    await listener.disconnect()
