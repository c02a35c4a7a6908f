"""The optional captcha hook for anonymous posting (settings.ENGAGE_ANONYMOUS_CHALLENGE)."""

from __future__ import annotations

import pytest

from engage.models import Comment
from tests.engage.conftest import post_comment

pytestmark = pytest.mark.django_db

HOOK = "tests.engage.test_anonymous_challenge.accept_only_good"
seen: list[str] = []


def accept_only_good(request, token: str) -> bool:
    seen.append(token)
    return token == "good"


def test_it_is_off_by_default(anonymous_client, discussion, settings):
    assert settings.ENGAGE_ANONYMOUS_CHALLENGE == ""
    assert post_comment(anonymous_client, discussion).status_code == 201


def test_when_on_an_anonymous_post_needs_a_passing_token(anonymous_client, discussion, settings):
    settings.ENGAGE_ANONYMOUS_CHALLENGE = HOOK
    for data in ({}, {"captcha": ""}, {"captcha": "bad"}, {"captcha": 5}):
        response = post_comment(anonymous_client, discussion, **data)
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"field": "captcha", "message": "Please complete the check that you are a person."}
        ]
    assert not Comment.objects.exists()
    assert post_comment(anonymous_client, discussion, captcha="good").status_code == 201
    assert "good" in seen


def test_signed_in_residents_are_not_challenged(resident_client, discussion, settings):
    settings.ENGAGE_ANONYMOUS_CHALLENGE = HOOK
    assert post_comment(resident_client, discussion).status_code == 201
