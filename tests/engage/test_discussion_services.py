"""The services the CMS calls to create, change and publish a discussion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from engage import services
from engage.models import Comment, FeedbackCategory
from engage.services import CategorySpec
from engage.validation import Problem
from tests.engage.conftest import open_discussion

pytestmark = pytest.mark.django_db


def test_a_discussion_is_created_unpublished_with_its_categories():
    discussion = services.discussion_create(
        title="  Parks plan ",
        plan_area=Polygon.from_bbox((-105, 39, -104, 40)),
        categories=[CategorySpec("idea", "Idea"), CategorySpec("concern", "Concern", "#ff0000")],
    )
    assert discussion.title == "Parks plan"
    assert not discussion.is_published
    assert discussion.plan_area.geom_type == "MultiPolygon" and discussion.plan_area.srid == 4326
    assert list(discussion.categories.values_list("slug", "order")) == [
        ("idea", 0),
        ("concern", 1),
    ]


def test_the_cms_publishes_and_unpublishes_with_the_page_url(db):
    discussion = services.discussion_create(title="T")
    services.discussion_set_publication(
        discussion=discussion, published=True, page_url="/topics/t/"
    )
    discussion.refresh_from_db()
    assert discussion.is_published and discussion.page_url == "/topics/t/"
    services.discussion_set_publication(discussion=discussion, published=False)
    discussion.refresh_from_db()
    assert not discussion.is_published


def test_updating_categories_keeps_comments_attached_by_slug(db):
    discussion = open_discussion()
    idea = discussion.categories.get(slug="idea")
    comment = Comment.objects.create(discussion=discussion, body="x", category=idea)
    services.discussion_update(
        discussion=discussion,
        categories=[CategorySpec("idea", "Great idea", "#00ff00"), CategorySpec("q", "Question")],
    )
    comment.refresh_from_db()
    assert comment.category.label == "Great idea"
    assert not FeedbackCategory.objects.filter(discussion=discussion, slug="concern").exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"title": " "}, "title"),
        ({"closes_at": timezone.now() - timedelta(days=400)}, "closes_at"),
        ({"moderation": "never"}, "moderation"),
        ({"plan_area": Point(0, 0, srid=4326)}, "plan_area"),
        ({"categories": [CategorySpec("a", "A"), CategorySpec("a", "B")]}, "categories"),
        ({"categories": [CategorySpec("a", "A", colour="red")]}, "categories"),
    ],
)
def test_bad_discussion_settings_are_refused(db, changes, field):
    discussion = services.discussion_create(title="T", opens_at=timezone.now() - timedelta(days=1))
    with pytest.raises(Problem) as refused:
        services.discussion_update(discussion=discussion, **changes)
    assert refused.value.errors[0]["field"] == field
