"""load_demo attaches a discussion to every demo topic and the plan, seeds them with realistic
feedback pinned inside the sample city, and running it twice duplicates nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Polygon
from django.core.management import call_command

from cms.models import DraftPlanPage, PlanningTopicPage
from engage.models import Comment, Discussion, FeedbackCategory, Reaction
from engage.services import discussion_create
from geo_fixtures.demo_discussions import SAMPLE_CITY_BOUNDS, STANDALONE_TITLES

pytestmark = pytest.mark.django_db

COUNTED = [Discussion, Comment, FeedbackCategory, Reaction, get_user_model()]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def demo_pages():
    return [*PlanningTopicPage.objects.order_by("pk"), *DraftPlanPage.objects.all()]


def test_load_demo_twice_duplicates_no_discussion_comment_or_reaction():
    call_command("load_demo")
    first = counts()
    call_command("load_demo")
    assert counts() == first
    assert first["Discussion"] == 4


def test_every_demo_topic_and_the_plan_have_a_published_seeded_discussion(client):
    call_command("load_demo")
    for page in demo_pages():
        discussion = page.discussion
        assert discussion.is_published and discussion.is_open, page.title
        assert discussion.page_url == page.url
        assert discussion.comments.filter(parent__isnull=False).exists(), page.title
        assert discussion.comments.filter(geometry__isnull=False).exists(), page.title
        assert [c.slug for c in discussion.categories.all()] == [
            "idea",
            "concern",
            "question",
            "support",
        ]
        html = client.get(page.url).content.decode()
        assert f'data-discussion-id="{discussion.pk}"' in html
        assert discussion.comments.first().body[:20] in html


def test_one_demo_discussion_requires_signing_in_and_the_others_accept_anonymous_posts():
    call_command("load_demo")
    anonymous = {page.slug: page.discussion.allow_anonymous for page in demo_pages()}
    assert anonymous == {
        "land-use": True,
        "mobility": True,
        "parks": False,
        "comprehensive-plan-2040": True,
    }
    parks = PlanningTopicPage.objects.get(slug="parks").discussion
    assert all(comment.author_id for comment in parks.comments.all())


def test_pins_fall_inside_the_sample_city_and_inside_each_plan_area():
    call_command("load_demo")
    city = Polygon.from_bbox(SAMPLE_CITY_BOUNDS)
    pinned = Comment.objects.filter(geometry__isnull=False).select_related("discussion")
    assert pinned.count() >= 8
    for comment in pinned:
        assert city.contains(comment.geometry), comment.body
        assert comment.discussion.plan_area.contains(comment.geometry), comment.body
        assert comment.zoning_code, "the land-use layers answered at the pin"
    plan = DraftPlanPage.objects.get().discussion
    assert plan.plan_area.area < Polygon.from_bbox(SAMPLE_CITY_BOUNDS).area


def test_the_standalone_discussions_of_the_old_demo_are_removed():
    for title in STANDALONE_TITLES:
        discussion_create(title=title, is_published=True)
    call_command("load_demo")
    assert not Discussion.objects.filter(title__in=STANDALONE_TITLES).exists()


def test_a_demo_page_from_before_discussions_gets_one_on_the_next_load():
    call_command("load_demo")
    topic = PlanningTopicPage.objects.get(slug="mobility")
    old = topic.discussion
    PlanningTopicPage.objects.filter(pk=topic.pk).update(discussion=None)
    old.delete()
    call_command("load_demo")
    topic.refresh_from_db()
    assert topic.discussion.is_published
    assert topic.discussion.comments.exists()
