"""The page's plain comment form counts towards the discussion's rate limit like the API."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from engage.models import Comment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_limit_clock_held")]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@override_settings(ENGAGE_RATE_LIMITS={"comment": (100, 60), "discussion_comment": (2, 60)})
def test_a_flood_through_the_page_form_is_refused_once_the_discussion_is_full(topic):
    def send(n: int, body: str):
        return Client(REMOTE_ADDR=f"198.51.100.{n}").post(
            f"/pages/{topic.pk}/comments/",
            {"body": body, "display_name": "Sam", "website": ""},
        )

    assert send(1, "First").status_code == 302
    assert send(2, "Second").status_code == 302
    response = send(3, "Third")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "Too many requests to this discussion" in response.content.decode()
    assert not Comment.objects.filter(body="Third").exists()
