"""Reporting a comment to the moderators."""

from __future__ import annotations

import pytest
from django.test import Client

from engage.models import Comment, Flag
from tests.engage.conftest import error_fields, post_comment, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def comment(discussion) -> Comment:
    return Comment.objects.get(pk=post_comment(Client(), discussion).json()["id"])


def flag(client, comment, **data):
    return post_json(client, f"/api/engage/comments/{comment.pk}/flags/", data)


def test_a_resident_reports_a_comment_with_a_reason(resident_client, resident, comment):
    response = flag(resident_client, comment, reason="offensive", details="<i>rude</i>")
    assert response.status_code == 201
    stored = Flag.objects.get()
    assert (stored.reason, stored.details, stored.user) == ("offensive", "<i>rude</i>", resident)


def test_an_anonymous_visitor_can_report_and_the_ip_is_hashed(comment):
    response = flag(Client(REMOTE_ADDR="198.51.100.9"), comment, reason="spam")
    assert response.status_code == 201
    assert "198.51.100.9" not in Flag.objects.get().ip_hash


def test_a_second_report_by_the_same_person_is_not_counted_again(resident_client, comment):
    flag(resident_client, comment, reason="spam")
    response = flag(resident_client, comment, reason="offensive")
    assert response.status_code == 200
    assert Flag.objects.count() == 1


@pytest.mark.parametrize(
    "data, field",
    [
        ({"reason": "boring"}, "reason"),
        ({}, "reason"),
        ({"reason": "other", "details": "x" * 1001}, "details"),
        ({"reason": "other", "status": "hidden"}, "status"),
    ],
    ids=["unknown reason", "no reason", "oversized details", "unknown field"],
)
def test_a_bad_report_is_refused(resident_client, comment, data, field):
    response = flag(resident_client, comment, **data)
    assert response.status_code == 400
    assert error_fields(response) == {field}
    assert Flag.objects.count() == 0


def test_reporting_an_unknown_comment_is_404(resident_client):
    response = flag(resident_client, Comment(pk=424242), reason="spam")
    assert response.status_code == 404
    assert error_fields(response) == {"comment"}
