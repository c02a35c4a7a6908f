"""A topic's or plan's discussion is created and kept in step by the page, only when the page is
published; unpublishing, expiry and deletion take it off the public API and live updates."""

from __future__ import annotations

import datetime
import json
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.utils import timezone

from cms.models import DraftPlanPage, PlanningTopicPage
from config.asgi import application
from engage.models import Comment, Discussion
from tests.cms.conftest import SQUARE

pytestmark = pytest.mark.django_db

LOCAL_ORIGIN = [(b"origin", b"http://localhost:8000")]


def api(client, discussion_id: int, path: str = "") -> int:
    return client.get(f"/api/engage/discussions/{discussion_id}/{path}").status_code


def test_publishing_a_topic_creates_its_published_discussion_with_the_page_settings(topic_index):
    opens = timezone.now() - datetime.timedelta(days=1)
    closes = timezone.now() + datetime.timedelta(days=30)
    page = PlanningTopicPage(
        title="Parks",
        slug="parks",
        comments_open_at=opens,
        comments_close_at=closes,
        moderation="pre",
        allow_anonymous=False,
        plan_area=json.dumps(SQUARE),
    )
    topic_index.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()

    discussion = page.discussion
    assert discussion is not None and discussion.is_published
    assert discussion.title == "Parks"
    assert discussion.page_url == "/topics/parks/"
    assert (discussion.opens_at, discussion.closes_at) == (opens, closes)
    assert discussion.moderation == "pre" and discussion.allow_anonymous is False
    assert discussion.plan_area.geom_type == "MultiPolygon"
    assert list(discussion.categories.values_list("slug", flat=True)) == [
        "idea",
        "concern",
        "question",
        "support",
    ]


def test_a_plan_gets_its_discussion_too(plan):
    assert plan.discussion.is_published
    assert plan.discussion.page_url == "/plan/"


def test_a_page_saved_as_a_draft_only_has_no_discussion(topic_index):
    page = PlanningTopicPage(title="Draft", slug="draft", live=False)
    topic_index.add_child(instance=page)
    page.save_revision()
    page.refresh_from_db()
    assert page.discussion is None
    assert not Discussion.objects.exists()


def test_republishing_updates_the_same_discussion(client, topic):
    first = topic.discussion
    topic.title = "Getting around"
    topic.allow_anonymous = False
    topic.feedback_categories = [
        ("category", {"slug": "idea", "label": "Idea!", "colour": "#000000", "icon": ""})
    ]
    topic.save_revision().publish()
    topic.refresh_from_db()
    assert topic.discussion_id == first.pk
    assert Discussion.objects.count() == 1
    first.refresh_from_db()
    assert first.title == "Getting around" and first.allow_anonymous is False
    assert list(first.categories.values_list("label", flat=True)) == ["Idea!"]


def test_publishing_an_old_revision_keeps_the_discussion(topic):
    # The fixture's first revision was saved before the discussion existed.
    discussion_id = topic.discussion_id
    topic.revisions.order_by("pk").first().publish()
    topic.refresh_from_db()
    assert topic.discussion_id == discussion_id
    assert Discussion.objects.count() == 1


def test_a_draft_edit_of_a_live_page_does_not_change_the_live_discussion(topic):
    topic.title = "Unreviewed title"
    topic.comments_close_at = timezone.now() - datetime.timedelta(days=1)
    topic.save_revision()
    topic.discussion.refresh_from_db()
    assert topic.discussion.title == "Mobility"
    assert topic.discussion.closes_at is None


def test_a_draft_edit_of_an_unpublished_page_does_not_touch_its_discussion(topic):
    topic.unpublish()
    topic.refresh_from_db()
    topic.title = "Changed while unpublished"
    topic.allow_anonymous = False
    topic.save_revision()
    discussion = Discussion.objects.get(pk=topic.discussion_id)
    assert not discussion.is_published
    assert discussion.title == "Mobility" and discussion.allow_anonymous


def test_unpublishing_a_topic_makes_its_discussion_404_over_the_api(client, topic):
    discussion_id = topic.discussion_id
    assert api(client, discussion_id) == 200
    topic.unpublish()
    assert api(client, discussion_id) == 404
    assert api(client, discussion_id, "comments/") == 404
    assert api(client, discussion_id, "feedback.geojson") == 404
    response = client.post(
        f"/api/engage/discussions/{discussion_id}/comments/",
        data=json.dumps({"body": "Hello", "display_name": "Sam"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_publishing_again_brings_the_same_discussion_back(client, topic):
    discussion_id = topic.discussion_id
    topic.unpublish()
    topic.refresh_from_db()
    topic.save_revision().publish()
    topic.refresh_from_db()
    assert topic.discussion_id == discussion_id
    assert api(client, discussion_id) == 200


def test_deleting_a_topic_unpublishes_its_discussion_and_keeps_the_comments(client, topic):
    discussion = topic.discussion
    Comment.objects.create(discussion=discussion, display_name="Sam", body="Keep me")
    topic.delete()
    discussion.refresh_from_db()
    assert not discussion.is_published
    assert discussion.comments.count() == 1
    assert api(client, discussion.pk) == 404


def test_deleting_a_plan_unpublishes_its_discussion(plan):
    discussion = plan.discussion
    plan.delete()
    discussion.refresh_from_db()
    assert not discussion.is_published


def test_a_copied_page_gets_its_own_discussion_when_published(topic_index, topic):
    copy = topic.copy(update_attrs={"slug": "mobility-copy", "title": "Copy"}, keep_live=False)
    assert copy.discussion_id is None
    copy.save_revision().publish()
    copy.refresh_from_db()
    assert copy.discussion_id not in (None, topic.discussion_id)


def test_a_scheduled_page_gets_its_discussion_when_publish_scheduled_publishes_it(
    client, topic_index
):
    page = PlanningTopicPage(title="Later", slug="later", live=False)
    topic_index.add_child(instance=page)
    now = timezone.now()
    page.go_live_at = now + datetime.timedelta(hours=1)
    page.save_revision().publish()
    page.refresh_from_db()
    assert page.discussion is None

    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(hours=2)):
        call_command("publish_scheduled")
    page.refresh_from_db()
    assert page.live and page.discussion.is_published
    assert api(client, page.discussion_id) == 200


def test_a_page_expiring_by_schedule_unpublishes_its_discussion(client, topic):
    now = timezone.now()
    topic.expire_at = now + datetime.timedelta(hours=1)
    topic.save_revision().publish()
    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(hours=2)):
        call_command("publish_scheduled")
    topic.refresh_from_db()
    assert not topic.live
    assert not topic.discussion.is_published
    assert api(client, topic.discussion_id) == 404


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_the_live_thread_of_an_unpublished_page_is_refused_with_4404(topic):
    discussion_id = topic.discussion_id

    async def listen() -> dict:
        communicator = WebsocketCommunicator(
            application, f"/ws/discussions/{discussion_id}/", headers=LOCAL_ORIGIN
        )
        connected, _ = await communicator.connect()
        assert connected
        return communicator

    live = await listen()
    assert await live.receive_nothing(timeout=0.2)
    await live.disconnect()

    await sync_to_async(topic.unpublish)()
    closed = await listen()
    assert await closed.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


def test_a_page_without_a_published_discussion_renders_no_feedback_section(client, topic):
    Discussion.objects.filter(pk=topic.discussion_id).update(is_published=False)
    html = client.get(topic.url).content.decode()
    assert 'id="feedback-map"' not in html


def test_draft_plan_model_offers_the_discussion_fields():
    names = {f.name for f in DraftPlanPage._meta.get_fields()}
    assert {"discussion", "comments_open_at", "comments_close_at", "plan_area"} <= names


def test_publishing_from_an_instance_loaded_before_the_first_publication_keeps_one_discussion(
    topic_index,
):
    page = PlanningTopicPage(title="Stale", slug="stale")
    topic_index.add_child(instance=page)
    page.save_revision().publish()
    # ``page`` still says discussion=None: publishing again must not drop or duplicate it.
    page.title = "Stale, again"
    page.save_revision().publish()
    assert Discussion.objects.count() == 1
    assert PlanningTopicPage.objects.get(pk=page.pk).discussion.title == "Stale, again"
