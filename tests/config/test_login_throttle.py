"""Sign-in lockout on the Wagtail admin login (config.security.LoginThrottleMiddleware)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client

from tests.engage.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    cache.clear()
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    yield
    cache.clear()


@pytest.fixture
def editor(db):
    user = make_user("editor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


def sign_in(password: str, *, username: str = "editor", address: str = "198.51.100.1"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post("/admin/login/", {"username": username, "password": password})


def test_repeated_failures_lock_the_username_out_with_retry_after(editor):
    for _ in range(3):
        assert sign_in("wrong")[1].status_code == 200
    client, response = sign_in("pw-editor", address="198.51.100.2")  # even the right password
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 601
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_address_out_for_every_username(editor):
    for index in range(3):
        sign_in("wrong", username=f"guess{index}")
    assert sign_in("pw-editor")[1].status_code == 429
    assert sign_in("pw-editor", address="198.51.100.9")[1].status_code == 302


def test_a_successful_sign_in_clears_the_usernames_failures(editor):
    for _ in range(2):
        sign_in("wrong", address="198.51.100.3")
    assert sign_in("pw-editor", address="198.51.100.4")[1].status_code == 302
    for _ in range(2):
        sign_in("wrong", address="198.51.100.5")
    assert sign_in("pw-editor", address="198.51.100.6")[1].status_code == 302


def test_the_lockout_ends_after_its_time(editor, monkeypatch):
    import time

    for _ in range(3):
        sign_in("wrong")
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    assert sign_in("pw-editor", address="198.51.100.7")[1].status_code == 302


def test_the_login_page_itself_is_not_throttled(editor):
    for _ in range(3):
        sign_in("wrong")
    assert Client(REMOTE_ADDR="198.51.100.1").get("/admin/login/").status_code == 200
