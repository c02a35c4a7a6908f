"""The comment period is the page's: before it opens and after it closes the thread is read-only
and says so, the form is gone, and both the form and the API refuse posts. Mistakes in the
period or the plan area are errors in the editor, never server errors."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils.form_data import nested_form_data, streamfield

from cms.models import PlanningTopicPage
from engage.models import Comment
from engage.rules import Participant
from engage.services import comment_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def set_period(page, *, opens=None, closes=None):
    page.comments_open_at, page.comments_close_at = opens, closes
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def api_post(client, page):
    return client.post(
        f"/api/engage/discussions/{page.discussion_id}/comments/",
        data=json.dumps({"body": "Late comment", "display_name": "Sam"}),
        content_type="application/json",
    )


def form_post(client, page):
    return client.post(
        f"/pages/{page.pk}/comments/",
        {"body": "Late comment", "display_name": "Sam", "website": ""},
    )


def test_after_closing_the_thread_is_read_only_and_says_when_it_closed(client, topic):
    comment_create(
        discussion=topic.discussion,
        participant=Participant(user=None, key="a:t"),
        body="Said in time",
        display_name="Ana",
    )
    closes = timezone.now() - datetime.timedelta(days=2)
    set_period(topic, opens=closes - datetime.timedelta(days=30), closes=closes)
    html = client.get(topic.url).content.decode()
    assert f"Comments closed on {closes:%-d %B %Y}" in html
    assert "read-only" in html
    assert "Said in time" in html
    assert '<form class="comment-form"' not in html
    assert 'data-open="false"' in html and 'data-state="closed"' in html
    assert 'class="comment-reply"' not in html


def test_after_closing_the_form_and_the_api_refuse_posts(client, topic):
    set_period(topic, closes=timezone.now() - datetime.timedelta(minutes=1))
    response = form_post(client, topic)
    assert response.status_code == 403
    assert "not open for comments" in response.content.decode()
    response = api_post(client, topic)
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "discussion"
    assert not Comment.objects.exists()


def test_before_opening_the_page_says_when_comments_open_and_refuses_posts(client, topic):
    opens = timezone.now() + datetime.timedelta(days=3)
    set_period(topic, opens=opens)
    html = client.get(topic.url).content.decode()
    assert f"Comments open on {opens:%-d %B %Y}" in html
    assert '<form class="comment-form"' not in html
    assert 'data-state="not_yet"' in html
    assert form_post(client, topic).status_code == 403
    assert api_post(client, topic).status_code == 403
    assert not Comment.objects.exists()


def test_an_open_period_shows_its_closing_date_and_the_form(client, topic):
    closes = timezone.now() + datetime.timedelta(days=5)
    set_period(topic, closes=closes)
    html = client.get(topic.url).content.decode()
    assert f"Comments are open until {closes:%-d %B %Y}" in html
    assert '<form class="comment-form"' in html
    assert api_post(client, topic).status_code == 201


def test_the_home_page_stops_listing_a_period_once_it_closed(client, topic):
    set_period(topic, closes=timezone.now() + datetime.timedelta(days=1))
    assert "comment-periods-heading" in client.get("/").content.decode()
    set_period(topic, closes=timezone.now() - datetime.timedelta(days=1))
    assert "comment-periods-heading" not in client.get("/").content.decode()


# --- In the editor ----------------------------------------------------------------------------


def test_a_period_closing_before_it_opens_is_a_validation_error(topic_index):
    now = timezone.now()
    page = PlanningTopicPage(title="Bad", slug="bad", comments_open_at=now, comments_close_at=now)
    with pytest.raises(ValidationError) as caught:
        page.full_clean()
    assert caught.value.message_dict["comments_close_at"] == [
        "Comments must close after they open."
    ]


def test_a_plan_area_that_is_not_a_polygon_is_a_validation_error(topic_index):
    page = PlanningTopicPage(
        title="Bad", slug="bad", plan_area='{"type": "Point", "coordinates": [-104.9, 39.7]}'
    )
    with pytest.raises(ValidationError) as caught:
        page.full_clean()
    assert "must be a Polygon or MultiPolygon" in caught.value.message_dict["plan_area"][0]


BOWTIE = [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]


def editor_data(**fields) -> dict:
    return nested_form_data(
        {
            "title": "Housing",
            "slug": "housing",
            "summary": "",
            "body": streamfield([]),
            "moderation": "post",
            "allow_anonymous": "on",
            "plan_area": "",
            "comments_open_at": "",
            "comments_close_at": "",
            "feedback_categories": streamfield(
                [("category", {"slug": "idea", "label": "Idea", "colour": "#2ca02c", "icon": ""})]
            ),
            "action-publish": "publish",
            **fields,
        }
    )


def add_url(topic_index) -> str:
    return reverse("wagtailadmin_pages:add", args=("cms", "planningtopicpage", topic_index.pk))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"comments_open_at": "2026-12-10 10:00", "comments_close_at": "2026-12-01 10:00"},
            "Comments must close after they open.",
        ),
        ({"plan_area": '{"type": "Point", "coordinates": [-104.9, 39.7]}'}, "not Point"),
        (
            {"plan_area": json.dumps({"type": "Polygon", "coordinates": BOWTIE})},
            "not valid",
        ),
        ({"plan_area": "SRID=4326;POLYGON((0 0,1 0,1 1,0 0))"}, "not valid GeoJSON"),
        (
            {"feedback_categories": streamfield([
                ("category", {"slug": "idea", "label": "A", "colour": "#2ca02c", "icon": ""}),
                ("category", {"slug": "idea", "label": "B", "colour": "#2ca02c", "icon": ""}),
            ])},
            "repeated: idea",
        ),
        (
            {"feedback_categories": streamfield([
                ("category", {"slug": "idea", "label": "A", "colour": "red", "icon": ""}),
            ])},
            "Use a colour like #1f77b4.",
        ),
    ],
    ids=["closes before opens", "point plan area", "bowtie plan area", "ewkt plan area",
         "repeated category slug", "bad colour"],
)  # fmt: skip
def test_the_editor_shows_the_error_and_publishes_nothing(
    client, superuser, topic_index, fields, message
):
    client.force_login(superuser)
    response = client.post(add_url(topic_index), editor_data(**fields))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The page could not be created due to validation errors" in html
    assert message in html
    assert not PlanningTopicPage.objects.filter(slug="housing").exists()


def test_the_editor_publishes_a_valid_period_and_the_discussion_follows(
    client, superuser, topic_index
):
    from tests.cms.conftest import SQUARE

    client.force_login(superuser)
    response = client.post(
        add_url(topic_index),
        editor_data(
            comments_open_at="2026-01-01 10:00",
            comments_close_at="2036-01-01 10:00",
            plan_area=json.dumps(SQUARE),
            moderation="pre",
        ),
    )
    assert response.status_code == 302
    page = PlanningTopicPage.objects.get(slug="housing")
    assert page.live and page.discussion.is_published
    assert page.discussion.moderation == "pre"
    assert page.discussion.closes_at.year == 2036
    assert list(page.discussion.categories.values_list("slug", flat=True)) == ["idea"]
