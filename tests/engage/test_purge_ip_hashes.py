"""``manage.py purge_ip_hashes``: keyed IP hashes are kept only for the retention period."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from engage.models import Comment, Flag
from tests.engage.conftest import post_comment, post_json

pytestmark = pytest.mark.django_db


def age(days: int) -> None:
    Comment.objects.update(created_at=timezone.now() - timedelta(days=days))
    Flag.objects.update(created_at=timezone.now() - timedelta(days=days))


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_ip_hashes", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def comment_and_flag(discussion):
    comment_id = post_comment(Client(REMOTE_ADDR="203.0.113.7"), discussion).json()["id"]
    post_json(Client(), f"/api/engage/comments/{comment_id}/flags/", {"reason": "spam"})
    assert Comment.objects.get().ip_hash and Flag.objects.get().ip_hash


def test_hashes_older_than_the_given_days_are_cleared(comment_and_flag):
    age(31)
    assert "1 comments, 1 flags" in purge("--older-than", "30")
    assert Comment.objects.get().ip_hash == "" and Flag.objects.get().ip_hash == ""
    assert Comment.objects.get().body  # nothing else changes


def test_recent_hashes_are_kept(comment_and_flag):
    age(29)
    assert "0 comments, 0 flags" in purge("--older-than", "30")
    assert Comment.objects.get().ip_hash


def test_the_default_is_the_retention_setting(comment_and_flag, settings):
    settings.IP_HASH_RETENTION_DAYS = 7
    age(8)
    assert "older than 7 days" in purge()
    assert Comment.objects.get().ip_hash == ""


def test_a_negative_age_is_refused(comment_and_flag):
    with pytest.raises(CommandError):
        purge("--older-than", "-1")
    assert Comment.objects.get().ip_hash
