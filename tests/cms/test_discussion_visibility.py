"""A page's discussion follows the page's visibility at once when the page is moved or its view
restrictions change, not only at its next publication."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from wagtail.models import PageViewRestriction

from cms.models import PlanningTopicPage, TopicIndexPage
from config.asgi import application
from engage.models import Comment, Discussion
from tests.cms.conftest import publish

pytestmark = pytest.mark.django_db

LOCAL_ORIGIN = [(b"origin", b"http://localhost:8000")]


def api(client, discussion_id: int) -> int:
    return client.get(f"/api/engage/discussions/{discussion_id}/").status_code


def restrict(page) -> PageViewRestriction:
    return PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.LOGIN)


@pytest.fixture
def private_index(home) -> TopicIndexPage:
    index = publish(home, TopicIndexPage(title="Internal", slug="internal"))
    restrict(index)
    return index


def test_a_view_restriction_on_a_topic_hides_its_discussion_at_once(client, topic):
    assert api(client, topic.discussion_id) == 200
    restrict(topic)
    assert api(client, topic.discussion_id) == 404
    assert not Discussion.objects.get(pk=topic.discussion_id).is_published


def test_a_comment_posted_to_a_topic_made_private_is_refused_and_not_stored(client, topic):
    restrict(topic)
    response = client.post(
        f"/api/engage/discussions/{topic.discussion_id}/comments/",
        data=json.dumps({"body": "Hello", "display_name": "Sam"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_removing_the_view_restriction_shows_the_discussion_again(client, topic):
    restriction = restrict(topic)
    restriction.delete()
    assert api(client, topic.discussion_id) == 200
    assert Discussion.objects.get(pk=topic.discussion_id).page_url == "/topics/mobility/"


def test_a_view_restriction_on_the_topic_index_hides_the_discussions_under_it(
    client, topic_index, topic
):
    restrict(topic_index)
    assert api(client, topic.discussion_id) == 404


def test_a_topic_moved_into_a_private_section_loses_its_public_discussion(
    client, topic, private_index
):
    topic.move(private_index, pos="last-child")
    assert api(client, topic.discussion_id) == 404
    listed = client.get("/api/engage/discussions/").json()
    assert topic.discussion_id not in [item["id"] for item in listed]


def test_a_topic_moved_out_of_a_private_section_shows_its_discussion_at_its_new_url(
    client, topic_index, private_index
):
    page = publish(private_index, PlanningTopicPage(title="Parks", slug="parks"))
    assert api(client, page.discussion_id) == 404
    page.move(topic_index, pos="last-child")
    assert api(client, page.discussion_id) == 200
    assert Discussion.objects.get(pk=page.discussion_id).page_url == "/topics/parks/"


def test_moving_a_topic_updates_its_discussion_url(client, home, topic):
    other = publish(home, TopicIndexPage(title="Projects", slug="projects"))
    topic.move(other, pos="last-child")
    assert Discussion.objects.get(pk=topic.discussion_id).page_url == "/projects/mobility/"


def test_moving_the_index_updates_the_discussions_of_the_topics_under_it(
    client, home, topic_index, topic, private_index
):
    topic_index.move(private_index, pos="last-child")
    discussion = Discussion.objects.get(pk=topic.discussion_id)
    assert not discussion.is_published
    assert api(client, topic.discussion_id) == 404


def test_an_unpublished_topic_moved_out_of_a_private_section_stays_hidden(
    client, topic_index, private_index
):
    page = publish(private_index, PlanningTopicPage(title="Parks", slug="parks"))
    page.unpublish()
    page.refresh_from_db()
    page.move(topic_index, pos="last-child")
    assert api(client, page.discussion_id) == 404


def test_a_view_restriction_on_an_unpublished_topic_then_removed_keeps_it_hidden(client, topic):
    topic.unpublish()
    restrict(topic).delete()
    assert api(client, topic.discussion_id) == 404


def test_deleting_a_restricted_topic_leaves_its_discussion_unpublished(client, topic):
    discussion_id = topic.discussion_id
    restrict(topic)
    topic.delete()
    assert not Discussion.objects.get(pk=discussion_id).is_published


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_the_live_thread_of_a_topic_made_private_is_refused_with_4404(topic):
    async def connect() -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(
            application, f"/ws/discussions/{topic.discussion_id}/", headers=LOCAL_ORIGIN
        )
        connected, _ = await communicator.connect()
        assert connected
        return communicator

    live = await connect()
    assert await live.receive_nothing(timeout=0.2)
    await live.disconnect()

    await sync_to_async(restrict)(topic)
    refused = await connect()
    assert await refused.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_the_live_thread_of_a_topic_moved_into_a_private_section_is_refused_with_4404(
    topic, home
):
    def move_into_private_section() -> None:
        index = publish(home, TopicIndexPage(title="Internal", slug="internal"))
        restrict(index)
        topic.move(index, pos="last-child")

    await sync_to_async(move_into_private_section)()
    communicator = WebsocketCommunicator(
        application, f"/ws/discussions/{topic.discussion_id}/", headers=LOCAL_ORIGIN
    )
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def open_thread(discussion_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/discussions/{discussion_id}/", headers=LOCAL_ORIGIN
    )
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_nothing(timeout=0.2)
    return communicator


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_a_thread_already_open_is_closed_with_4404_when_its_topic_is_made_private(topic):
    readers = [await open_thread(topic.discussion_id) for _ in range(2)]
    await sync_to_async(restrict)(topic)
    for reader in readers:
        assert await reader.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_a_thread_already_open_is_closed_with_4404_when_its_topic_is_unpublished(topic):
    reader = await open_thread(topic.discussion_id)
    await sync_to_async(lambda: PlanningTopicPage.objects.get(pk=topic.pk).unpublish())()
    assert await reader.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_a_thread_stays_open_when_its_topic_is_published_again(topic):
    reader = await open_thread(topic.discussion_id)
    await sync_to_async(lambda: publish_again(topic))()
    assert await reader.receive_nothing(timeout=0.5)
    await reader.disconnect()


def publish_again(topic: PlanningTopicPage) -> None:
    PlanningTopicPage.objects.get(pk=topic.pk).save_revision().publish()
