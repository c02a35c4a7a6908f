"""HTTP-level defences (THREATS 2, 4, 8): open redirects on sign-in and sign-out, CSRF on every
state-changing form, NUL bytes and hostile query strings, oversized form posts, headers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.engage.conftest import make_user

pytestmark = pytest.mark.django_db

EVIL_TARGETS = [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "http://evil.example@testserver/",
    "javascript:alert(1)",
    " https://evil.example",
    "https://evil.example%00.testserver/",
]


@pytest.fixture
def editor(db):
    user = make_user("editor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


def _stays_here(response) -> bool:
    location = response.get("Location", "")
    lowered = location.lower().replace("\\", "/")
    return "evil.example" not in lowered and not lowered.startswith(("javascript:", "//"))


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_signing_in_never_redirects_to_another_site(editor, target):
    client = Client()
    response = client.post(
        "/admin/login/?next=" + target,
        {"username": "editor", "password": "pw-editor", "next": target},
    )
    assert response.status_code in (302, 400), response.status_code  # 400: a NUL in the URL
    assert _stays_here(response), response.get("Location")


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_the_login_page_never_links_to_another_site(target):
    response = Client().get("/admin/login/", {"next": target})
    assert response.status_code == 200
    assert b'href="https://evil.example' not in response.content
    assert b"javascript:alert" not in response.content.replace(b"&quot;", b"")


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_signing_out_never_redirects_to_another_site(editor, target):
    client = Client()
    client.force_login(editor)
    response = client.post("/admin/logout/?next=" + target, {"next": target})
    assert response.status_code in (302, 400)
    assert _stays_here(response), response.get("Location")


# --- CSRF on every state-changing form ------------------------------------------------------


def test_the_admin_login_form_needs_a_csrf_token(editor):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "editor", "password": "pw-editor"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "path",
    [
        "/admin/logout/",
        "/admin/account/",
        "/admin/users/new/",
        "/admin/pages/1/delete/",
        "/admin/redirects/add/",
        "/admin/snippets/landuse/layer/add/",
        "/admin/password_reset/",
        "/polls/1/x/vote/",
    ],
)
def test_signed_in_posts_without_a_csrf_token_are_refused(editor, path):
    editor.is_superuser = True
    editor.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(path, {"answer": "a", "email": "x@example.org"})
    assert response.status_code == 403, (path, response.status_code)


# --- Query strings, paths and bodies --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/search/?query=a%00b",
        "/api/engage/discussions/1/feedback.geojson?category=a%00b",
        "/api/engage/discussions/?x=%00",
        "/api/landuse/layers/a%00b/features.geojson",
        "/api/landuse/lookup/?lon=%00&lat=1",
        "/admin/login/?next=%00",
    ],
)
def test_a_nul_byte_in_the_url_is_a_400(url):
    response = Client().get(url)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "url"


@pytest.mark.parametrize(
    "query", ['"', 'a"b', '"unterminated', "*", "NEAR(", "a OR b", "\x01", "é" * 500, "%"]
)
def test_site_search_survives_hostile_queries(query):
    response = Client().get("/search/", {"query": query})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/engage/discussions/99999999999999999999999/",
        "/api/engage/discussions/99999999999999999999999/comments/",
        "/api/engage/discussions/1/comments/?after=99999999999999999999999",
        "/api/engage/discussions/1/comments/?limit=99999999999999999999999",
        "/api/engage/discussions/1/comments/?changed_since=9999-99-99",
        "/tiles/zoning/99999999/1/1.mvt",
        "/api/landuse/lookup/?lon=1e999&lat=1",
        "/api/landuse/lookup/?lon=nan&lat=1",
        "/api/landuse/layers/zoning/features.geojson?bbox=nan,nan,nan,nan",
        "/api/landuse/layers/zoning/features.geojson?zoom=99999999999999999999",
        "/documents/99999999999999999999999/x.pdf",
    ],
)
def test_out_of_range_numbers_in_urls_are_4xx(url):
    response = Client().get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_a_ten_megabyte_form_post_is_refused_without_a_5xx():
    response = Client().post(
        "/admin/login/", {"username": "x" * (10 * 1024 * 1024), "password": "y"}
    )
    assert response.status_code in (400, 403, 413)


def test_a_form_post_with_too_many_fields_is_refused():
    data = {f"f{i}": "x" for i in range(20_000)}
    response = Client().post("/admin/login/", data)
    assert response.status_code in (400, 403)


def test_public_pages_send_the_protective_headers():
    response = Client().get("/map/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "script-src 'self';" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"


def test_the_api_answers_json_with_nosniff():
    response = Client().get("/api/engage/discussions/")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
