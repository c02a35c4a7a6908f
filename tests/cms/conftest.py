"""Fixtures for the page tests: a site with its home page, layers, and the editorial personas."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from wagtail.models import Page
from wagtail.rich_text import RichText

from cms.models import (
    DraftPlanChapterPage,
    DraftPlanPage,
    HomePage,
    PlanningTopicPage,
    TopicIndexPage,
)
from cms.services import editorial_setup_ensure
from geo_fixtures.demo import ensure_home_page
from landuse.models import Layer
from tests.engage.conftest import release_thread_connections  # noqa: F401 - shared fixture

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[-105.0, 39.7], [-104.9, 39.7], [-104.9, 39.8], [-105.0, 39.8], [-105.0, 39.7]]
    ],
}


def publish(parent: Page, page: Page) -> Page:
    parent.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def map_value(layers: list[Layer], **overrides) -> dict:
    value = {
        "title": "Zoning",
        "layers": layers,
        "centre_latitude": Decimal("39.74"),
        "centre_longitude": Decimal("-104.99"),
        "zoom": 12,
        "plan_area": json.dumps(SQUARE),
    }
    value.update(overrides)
    return value


@pytest.fixture
def home(db) -> HomePage:
    return ensure_home_page(lambda message: None)


@pytest.fixture
def layers(db) -> list[Layer]:
    return [
        Layer.objects.create(slug="zoning", title="Zoning", kind=Layer.Kind.ZONING),
        Layer.objects.create(
            slug="future-land-use", title="Future land use", kind=Layer.Kind.FUTURE_LAND_USE
        ),
    ]


@pytest.fixture
def topic_index(home) -> TopicIndexPage:
    return publish(home, TopicIndexPage(title="Topics", slug="topics"))


@pytest.fixture
def topic(topic_index, layers) -> PlanningTopicPage:
    return publish(
        topic_index,
        PlanningTopicPage(
            title="Mobility",
            slug="mobility",
            summary="Safer streets and frequent buses.",
            body=[
                ("text", RichText("<p>Buses every ten minutes.</p>")),
                ("map", map_value(layers)),
            ],
        ),
    )


@pytest.fixture
def plan(home, layers) -> DraftPlanPage:
    plan = publish(
        home,
        DraftPlanPage(
            title="Comprehensive Plan",
            slug="plan",
            status=DraftPlanPage.Status.PUBLIC_REVIEW,
            summary="The long-range plan.",
            body=[("text", RichText("<p>Growth near transit.</p>"))],
        ),
    )
    for slug, title in [("vision", "1. Vision"), ("parks", "2. Parks")]:
        publish(
            plan,
            DraftPlanChapterPage(
                title=title, slug=slug, body=[("text", RichText(f"<p>{title} text.</p>"))]
            ),
        )
    return plan


@pytest.fixture
def editorial(home):
    return editorial_setup_ensure(root=home)


def _user(username: str, group=None, **extra):
    user = get_user_model().objects.create_user(
        username=username, password="pw-for-tests", email=f"{username}@example.org", **extra
    )
    if group is not None:
        user.groups.add(group)
    return user


@pytest.fixture
def planner(editorial):
    return _user("planner", editorial.planners)


@pytest.fixture
def reviewer(editorial):
    return _user("reviewer", editorial.reviewers)


@pytest.fixture
def resident(db):
    return _user("resident")


@pytest.fixture
def superuser(db):
    return _user("boss", is_staff=True, is_superuser=True)


@pytest.fixture(scope="module")
def loaded_demo(django_db_setup, django_db_blocker) -> None:
    """The demo, loaded once for a module whose every test starts from it. It is loaded inside
    a transaction that is rolled back when the module ends, so each test's own transaction is
    a savepoint within it and undoes only that test (as Django's ``setUpTestData`` does).
    ``load_demo`` takes about 5 s; a dozen tests each loading it were a minute of every CI run
    per backend."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo")
        yield
        transaction.set_rollback(True)
