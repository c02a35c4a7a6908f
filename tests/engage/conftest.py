"""Personas, a discussion and a small land-use map for the engagement tests."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.cache import cache
from django.test import Client

from engage import services
from engage.models import Discussion
from landuse.models import Category, Feature, Layer

LOCAL_ORIGIN = [(b"origin", b"http://localhost:8000")]

# The demo city sits around Denver; the plan area is a box of about 20 km.
PLAN_AREA = Polygon.from_bbox((-105.10, 39.60, -104.80, 39.90))
INSIDE = [-104.99, 39.74]
OUTSIDE = [-104.50, 39.74]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(
        username=username, password="pw-" + username, first_name=username.title(), **extra
    )


@pytest.fixture
def resident(db):
    return make_user("resident")


@pytest.fixture
def other_resident(db):
    return make_user("other_resident")


def make_moderator(username: str = "moderator", **extra):
    """A member of the "Moderators" group (moderate and export; no personal data)."""
    user = make_user(username, **extra)
    user.groups.add(services.moderators_group_ensure())
    return user


@pytest.fixture
def moderator(db):
    return make_moderator("moderator", is_staff=True)


@pytest.fixture
def moderator_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture
def resident_client(resident) -> Client:
    client = Client()
    client.force_login(resident)
    return client


@pytest.fixture
def other_resident_client(other_resident) -> Client:
    client = Client()
    client.force_login(other_resident)
    return client


def open_discussion(**overrides) -> Discussion:
    options = {
        "title": "Draft plan for the river corridor",
        "page_url": "/topics/river-corridor/",
        "is_published": True,
        "allow_anonymous": True,
        "plan_area": MultiPolygon(PLAN_AREA, srid=4326),
        "categories": [
            services.CategorySpec(slug="idea", label="Idea", colour="#2ca02c", icon="bulb"),
            services.CategorySpec(slug="concern", label="Concern", colour="#d62728"),
        ],
        **overrides,
    }
    return services.discussion_create(**options)


@pytest.fixture
def discussion(db) -> Discussion:
    return open_discussion()


@pytest.fixture
def landuse_map(db):
    """A zoning district C-MX-5 and a future land use 'Community Center' over the centre."""
    zoning = Layer.objects.create(slug="zoning", title="Zoning", kind="zoning", display_order=1)
    flu = Layer.objects.create(
        slug="future-land-use", title="Future land use", kind="future_land_use", display_order=2
    )
    cmx = Category.objects.create(layer=zoning, code="C-MX-5", label="Main Street 5")
    cc = Category.objects.create(layer=flu, code="CC", label="Community Center")
    box = Polygon.from_bbox((-105.00, 39.73, -104.98, 39.75))
    box.srid = 4326
    Feature.objects.create(layer=zoning, category=cmx, geometry=box)
    Feature.objects.create(layer=flu, category=cc, geometry=box)
    return {"zoning": zoning, "future_land_use": flu}


def comments_url(discussion) -> str:
    return f"/api/engage/discussions/{discussion.pk}/comments/"


def post_json(client: Client, url: str, data, **headers):
    return client.post(url, data=json.dumps(data), content_type="application/json", **headers)


def post_comment(client: Client, discussion, **data):
    data.setdefault("body", "More trees along the river, please.")
    if "display_name" not in data:
        data["display_name"] = "Sam"
    return post_json(client, comments_url(discussion), data)


def errors_of(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"]


def error_fields(response) -> set[str]:
    return {error["field"] for error in errors_of(response)}


def a_week_ago():
    from django.utils import timezone

    return timezone.now() - timedelta(days=7)


@pytest.fixture
async def release_thread_connections():
    """Async tests reach the database through asgiref's one sync thread; close and forget the
    connections it opened, so a later non-database test's ``close_old_connections()`` (run by
    every Channels consumer) does not find them and trip pytest-django's database blocker."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    def release() -> None:
        for conn in connections.all(initialized_only=True):
            conn.close()
            delattr(connections._connections, conn.alias)

    await sync_to_async(release)()
