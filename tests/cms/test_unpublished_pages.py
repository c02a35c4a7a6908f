"""Unpublished pages, and everything reached through them, are 404 to the public."""

from __future__ import annotations

import pytest
from wagtail.models import PageViewRestriction

from cms.models import DraftPlanChapterPage, HomePageFeaturedTopic, PlanningTopicPage

pytestmark = pytest.mark.django_db


def test_a_topic_that_was_never_published_is_404(client, topic_index):
    page = PlanningTopicPage(title="Secret", slug="secret", live=False)
    topic_index.add_child(instance=page)
    page.save_revision()
    assert client.get("/topics/secret/").status_code == 404


def test_an_unpublished_topic_is_404_and_leaves_the_index(client, topic):
    topic.unpublish()
    assert client.get("/topics/mobility/").status_code == 404
    assert "Mobility" not in client.get("/topics/").content.decode()


def test_an_unpublished_plan_hides_its_changes_view_and_its_chapters(client, plan):
    plan.unpublish()
    assert client.get("/plan/").status_code == 404
    assert client.get("/plan/changes/").status_code == 404
    # A chapter that is itself still live is not readable through an unpublished plan.
    chapter = DraftPlanChapterPage.objects.get(slug="vision")
    assert chapter.live
    assert client.get("/plan/vision/").status_code == 404


def test_an_unpublished_chapter_is_404_and_leaves_the_contents(client, plan):
    DraftPlanChapterPage.objects.get(slug="parks").unpublish()
    assert client.get("/plan/parks/").status_code == 404
    assert "2. Parks" not in client.get("/plan/").content.decode()


def test_a_draft_change_to_a_live_page_is_not_shown(client, topic):
    topic.title = "Unreviewed title"
    topic.save_revision()
    page = client.get("/topics/mobility/").content.decode()
    assert "Unreviewed title" not in page


def test_a_private_page_is_not_featured_or_found(client, home, topic):
    HomePageFeaturedTopic.objects.create(home=home, topic=topic)
    assert 'href="/topics/mobility/"' in client.get("/").content.decode().split("<main", 1)[1]
    PageViewRestriction.objects.create(page=topic, restriction_type=PageViewRestriction.LOGIN)
    assert client.get("/topics/mobility/").status_code == 302  # to the login page
    assert 'href="/topics/mobility/"' not in client.get("/").content.decode().split("<main", 1)[1]
    found = client.get("/search/?query=Mobility").content.decode()
    assert 'href="/topics/mobility/"' not in found.split("<main", 1)[1]
