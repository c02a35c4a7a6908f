"""load_demo attaches a discussion to every demo topic and the plan, seeds them with realistic
feedback pinned inside the sample city, and running it twice duplicates nothing. Every test
starts from the demo loaded once for the module (``loaded_demo``); loading it over an older
demo's leftovers is in ``test_demo_over_older_state.py``."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Polygon
from django.core.management import call_command

from cms.models import DraftPlanPage, PlanningTopicPage
from engage.models import Comment, Discussion, FeedbackCategory, Reaction
from geo_fixtures.demo_discussions import SAMPLE_CITY_BOUNDS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loaded_demo")]

COUNTED = [Discussion, Comment, FeedbackCategory, Reaction, get_user_model()]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def demo_pages():
    return [*PlanningTopicPage.objects.order_by("pk"), *DraftPlanPage.objects.all()]


def test_load_demo_twice_duplicates_no_discussion_comment_or_reaction():
    first = counts()
    call_command("load_demo")
    assert counts() == first
    assert first["Discussion"] == 4


def test_every_demo_topic_and_the_plan_have_a_published_seeded_discussion(client):
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
    city = Polygon.from_bbox(SAMPLE_CITY_BOUNDS)
    pinned = Comment.objects.filter(geometry__isnull=False).select_related("discussion")
    assert pinned.count() >= 8
    for comment in pinned:
        assert city.contains(comment.geometry), comment.body
        assert comment.discussion.plan_area.contains(comment.geometry), comment.body
        assert comment.zoning_code, "the land-use layers answered at the pin"
    plan = DraftPlanPage.objects.get().discussion
    assert plan.plan_area.area < Polygon.from_bbox(SAMPLE_CITY_BOUNDS).area


def test_a_demo_page_from_before_discussions_gets_one_on_the_next_load():
    topic = PlanningTopicPage.objects.get(slug="mobility")
    old = topic.discussion
    PlanningTopicPage.objects.filter(pk=topic.pk).update(discussion=None)
    old.delete()
    call_command("load_demo")
    topic.refresh_from_db()
    assert topic.discussion.is_published
    assert topic.discussion.comments.exists()
