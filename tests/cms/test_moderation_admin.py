"""The Wagtail admin's moderation queue, comment page (actions, flags, audit trail) and exports
page: who sees them, what they show, what their forms do."""

from __future__ import annotations

import pytest
from django.test import Client

from engage import services
from engage.models import Comment, ModerationLogEntry
from engage.rules import Participant
from geo_fixtures.demo import ensure_moderators
from tests.cms.conftest import _user
from tests.engage.conftest import INSIDE, open_discussion, post_comment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def moderator(db):
    return _user("moderator", ensure_moderators(lambda message: None))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pending(db):
    discussion = open_discussion(moderation="pre")
    response = post_comment(
        Client(), discussion, body="<b>Bike lanes</b> please",
        geometry={"type": "Point", "coordinates": INSIDE},
    )  # fmt: skip
    return Comment.objects.get(pk=response.json()["id"])


def test_ensuring_the_moderators_group_twice_changes_nothing(db):
    first = ensure_moderators(lambda message: None)
    count = first.permissions.count()
    second = ensure_moderators(lambda message: None)
    assert first == second and second.permissions.count() == count
    codenames = set(second.permissions.values_list("codename", flat=True))
    assert {"moderate_comment", "export_feedback", "access_admin"} <= codenames
    assert "export_personal_data" not in codenames


def test_the_moderator_sees_the_menu_items_and_the_queue_with_the_position(moderator, pending):
    client = signed_in(moderator)
    dashboard = client.get("/admin/").content.decode()
    assert "/admin/moderation/" in dashboard and "/admin/exports/" in dashboard
    page = client.get("/admin/moderation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"#{pending.pk}" in html
    assert "&lt;b&gt;Bike lanes&lt;/b&gt;" in html and "<b>Bike lanes" not in html
    assert "39.74000, -104.99000" in html


def test_a_planner_without_the_permission_gets_neither_menu_nor_queue(planner, pending):
    client = signed_in(planner)
    assert "/admin/moderation/" not in client.get("/admin/").content.decode()
    assert client.get("/admin/moderation/").status_code == 403
    assert client.get(f"/admin/moderation/comments/{pending.pk}/").status_code == 403
    assert client.get("/admin/exports/").status_code == 403
    response = client.post(f"/admin/moderation/comments/{pending.pk}/act/", {"action": "approve"})
    assert response.status_code == 403
    assert Comment.objects.get().status == "pending"


@pytest.mark.parametrize("persona", ["anonymous", "resident"])
def test_anonymous_and_residents_never_reach_the_admin_views(persona, resident, pending):
    client = Client() if persona == "anonymous" else signed_in(resident)
    for url in (
        "/admin/moderation/",
        f"/admin/moderation/comments/{pending.pk}/",
        "/admin/exports/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        assert response.status_code == 403 or "/admin/login/" in response["Location"]
    client.post(f"/admin/moderation/comments/{pending.pk}/act/", {"action": "approve"})
    assert Comment.objects.get().status == "pending"


def test_a_superuser_can_use_the_queue(superuser, pending):
    assert signed_in(superuser).get("/admin/moderation/").status_code == 200


def test_hiding_from_the_comment_page_logs_it_and_shows_the_trail(moderator, db):
    discussion = open_discussion()
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    client = signed_in(moderator)
    response = client.post(
        f"/admin/moderation/comments/{comment.pk}/act/", {"action": "hide", "reason": "Insult"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/moderation/comments/{comment.pk}/"
    assert Comment.objects.get().status == "hidden"
    html = client.get(response["Location"]).content.decode()
    assert "Insult" in html and "Hidden" in html and "published → hidden" in html


def test_hiding_without_a_reason_changes_nothing_and_says_why(moderator, db):
    discussion = open_discussion()
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    client = signed_in(moderator)
    response = client.post(
        f"/admin/moderation/comments/{comment.pk}/act/", {"action": "hide"}, follow=True
    )
    assert "reason" in response.content.decode()
    assert Comment.objects.get().status == "published" and not ModerationLogEntry.objects.exists()


def test_bulk_approval_from_the_queue_keeps_the_filters(moderator, pending):
    client = signed_in(moderator)
    response = client.post(
        "/admin/moderation/bulk/",
        {"comments": [pending.pk], "action": "approve", "status": "pending",
         "next": "https://evil.example/"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/admin/moderation/?status=pending"
    assert Comment.objects.get().status == "published"


def test_dismissing_flags_from_the_comment_page(moderator, db):
    discussion = open_discussion()
    comment = Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])
    services.flag_create(
        comment=comment, participant=Participant(user=None, key="a:1"), reason="spam"
    )
    client = signed_in(moderator)
    client.post(f"/admin/moderation/comments/{comment.pk}/act/", {"action": "dismiss_flags"})
    assert comment.flags.get().dismissed_at is not None
    assert ModerationLogEntry.objects.get().action == "dismiss_flags"


def test_the_exports_page_sends_the_choice_to_the_export_endpoint(moderator, pending):
    client = signed_in(moderator)
    assert client.get("/admin/exports/").status_code == 200
    response = client.get(
        "/admin/exports/",
        {"discussion": pending.discussion_id, "format": "gpkg", "status": "pending", "x": "y"},
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"/api/engage/discussions/{pending.discussion_id}/export.gpkg?status=pending"
    )
    bad = client.get("/admin/exports/", {"discussion": "1/../../x", "format": "csv"})
    assert bad.status_code == 302 and bad["Location"] == "/admin/exports/"


def test_a_bad_filter_in_the_queue_is_shown_not_a_crash(moderator, pending):
    html = signed_in(moderator).get("/admin/moderation/?since=yesterday").content.decode()
    assert "since: Must be a date" in html


def test_an_action_from_a_filtered_queue_returns_with_the_filters(moderator, pending):
    client = signed_in(moderator)
    page = client.get(f"/admin/moderation/comments/{pending.pk}/?status=pending&bogus=1")
    assert '<input type="hidden" name="status" value="pending">' in page.content.decode()
    response = client.post(
        f"/admin/moderation/comments/{pending.pk}/act/",
        {"action": "approve", "status": "pending", "bogus": "1"},
    )
    assert response["Location"] == f"/admin/moderation/comments/{pending.pk}/?status=pending"
