"""The permission matrix of every staff endpoint: anonymous, resident, planner (staff, Wagtail
editor) without the permission, moderator, superuser."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from engage.models import Comment, ExportRecord
from tests.engage.conftest import make_moderator, make_user, open_discussion, post_comment

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "resident", "planner", "moderator", "superuser"]
ALLOWED = {"moderator", "superuser"}


def client_for(persona: str) -> Client:
    client = Client()
    if persona == "anonymous":
        return client
    if persona == "resident":
        user = make_user("resident")
    elif persona == "planner":
        # An editor: staff, may use the Wagtail admin, edit pages; no moderation permission.
        user = make_user("planner", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    elif persona == "moderator":
        user = make_moderator("moderator")
    else:
        user = make_user("boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def pending():
    discussion = open_discussion(moderation="pre")
    response = post_comment(Client(), discussion)
    return Comment.objects.get(pk=response.json()["id"])


def staff_requests(comment: Comment) -> list[tuple[str, str, dict | None]]:
    base = "/api/engage/moderation"
    d = comment.discussion_id
    return [
        ("get", f"{base}/queue/", None),
        ("get", f"{base}/comments/{comment.pk}/", None),
        ("get", f"{base}/comments/{comment.pk}/log/", None),
        ("post", f"{base}/comments/{comment.pk}/approve/", {}),
        ("post", f"{base}/bulk/", {"action": "approve", "comments": [comment.pk]}),
        ("get", f"/api/engage/discussions/{d}/export.csv", None),
        ("get", f"/api/engage/discussions/{d}/export.xlsx", None),
        ("get", f"/api/engage/discussions/{d}/export.geojson", None),
        ("get", f"/api/engage/discussions/{d}/export.gpkg", None),
        ("get", f"/api/engage/discussions/{d}/report/", None),
    ]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("index", range(10))
def test_only_moderators_and_superusers_reach_a_staff_endpoint(pending, persona, index):
    method, url, body = staff_requests(pending)[index]
    client = client_for(persona)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
    if persona in ALLOWED:
        assert response.status_code == 200, (url, response.content[:300])
    else:
        assert response.status_code == 403, (url, response.status_code)
        assert response.json()["errors"][0]["field"] == "user"
        assert Comment.objects.get().status == "pending"
        assert not ExportRecord.objects.exists()
