"""Staff endpoints are never reachable by the public (THREATS 4; Decidim CVE-2023-36465).

Every URL of the Wagtail admin, and every API route whose path names moderation, exports,
reports or the audit log, is enumerated from the URL resolver (so a route added later is
covered without editing this file) and requested anonymously and as a signed-in resident
without staff rights: the answer is a redirect to the login page, 403, 404 or 405, never 200.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

pytestmark = pytest.mark.django_db

# Pages the public must reach to sign in; they show no data.
PUBLIC_ADMIN_NAMES = {
    "wagtailadmin_login",
    "wagtailadmin_password_reset",
    "wagtailadmin_password_reset_done",
    "wagtailadmin_password_reset_confirm",
    "wagtailadmin_password_reset_complete",
    "wagtailadmin_javascript_catalog",
    "wagtailadmin_sprite",
}
STAFF_API_WORDS = re.compile(r"moderation|export|report|audit|staff", re.IGNORECASE)

SAMPLE = {"int": "1", "slug": "a", "str": "a", "path": "a", "uuid": "0" * 32}


def _concrete(route: str) -> str | None:
    """A path for a route, converters filled with sample values; None for regex catch-alls."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "1"), route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    if any(char in route for char in "()[]*+?\\|"):
        return None
    return "/" + route


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


def staff_urls() -> list[str]:
    urls = set()
    for route, name in _walk(get_resolver().url_patterns):
        is_admin = route.startswith("admin/") and name not in PUBLIC_ADMIN_NAMES
        is_staff_api = route.startswith("api/") and STAFF_API_WORDS.search(route)
        is_staff_view = STAFF_API_WORDS.search(name or "") and not route.startswith("api/")
        if is_admin or is_staff_api or is_staff_view:
            path = _concrete(route)
            if path:
                urls.add(path)
    return sorted(urls)


STAFF_URLS = staff_urls()


def test_the_enumeration_found_the_admin_and_the_poll_export():
    assert len(STAFF_URLS) > 150
    assert "/admin/poll-votes/export.csv" in STAFF_URLS
    assert "/admin/users/" in STAFF_URLS


def _refused(response) -> bool:
    if response.status_code in (302, 301):
        return "/admin/login/" in response["Location"] or "login" in response["Location"]
    return response.status_code in (400, 401, 403, 404, 405)


def test_an_anonymous_visitor_never_gets_a_staff_page():
    # One test over every URL (not one per URL): ~200 routes, one database set-up.
    client = Client()
    leaks = [
        (method, path, response.status_code)
        for path in STAFF_URLS
        for method in ("get", "post")
        if not _refused(response := getattr(client, method)(path))
    ]
    assert leaks == []


def test_a_resident_without_staff_rights_never_gets_a_staff_page():
    from tests.engage.conftest import make_user

    client = Client()
    client.force_login(make_user("plain"))  # not staff, no permissions
    leaks = [
        (path, response.status_code)
        for path in STAFF_URLS
        if not _refused(response := client.get(path))
    ]
    assert leaks == []


def test_a_staff_member_without_the_permission_cannot_export_poll_votes():
    from tests.engage.conftest import make_user

    user = make_user("editor", is_staff=True)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client = Client()
    client.force_login(user)
    assert client.get("/admin/poll-votes/export.csv").status_code in (302, 403)
    assert client.get("/admin/poll-votes/").status_code in (302, 403)
