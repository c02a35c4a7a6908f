"""Floods from one client are refused with 429 and Retry-After, per action."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from engage.models import Comment
from tests.engage.conftest import error_fields, post_comment, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_limit_clock_held")]

LIMITS = {"comment": (3, 60), "reaction": (3, 60), "flag": (2, 60)}


@override_settings(ENGAGE_RATE_LIMITS=LIMITS)
def test_posting_too_fast_from_one_address_is_refused_with_retry_after(discussion):
    for _ in range(3):
        assert post_comment(Client(REMOTE_ADDR="203.0.113.1"), discussion).status_code == 201
    response = post_comment(Client(REMOTE_ADDR="203.0.113.1"), discussion)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert error_fields(response) == {"client"}
    assert Comment.objects.count() == 3
    # Another address is not affected.
    assert post_comment(Client(REMOTE_ADDR="203.0.113.2"), discussion).status_code == 201


@override_settings(ENGAGE_RATE_LIMITS=LIMITS)
def test_bad_input_counts_towards_the_limit(discussion):
    client = Client(REMOTE_ADDR="203.0.113.3")
    for _ in range(3):
        assert post_comment(client, discussion, body="").status_code == 400
    assert post_comment(client, discussion).status_code == 429


@override_settings(ENGAGE_RATE_LIMITS=LIMITS)
def test_a_signed_in_resident_is_limited_per_account(
    resident_client, other_resident_client, discussion
):
    for _ in range(3):
        assert post_comment(resident_client, discussion).status_code == 201
    assert post_comment(resident_client, discussion).status_code == 429
    assert post_comment(other_resident_client, discussion).status_code == 201


@override_settings(ENGAGE_RATE_LIMITS=LIMITS)
def test_reacting_and_flagging_have_their_own_limits(discussion):
    comment_id = post_comment(Client(REMOTE_ADDR="203.0.113.9"), discussion).json()["id"]
    client = Client(REMOTE_ADDR="203.0.113.4")
    url = f"/api/engage/comments/{comment_id}/"
    for value in ["agree", "disagree", "agree"]:
        assert post_json(client, url + "reactions/", {"value": value}).status_code == 200
    assert post_json(client, url + "reactions/", {"value": None}).status_code == 429
    for _ in range(2):
        assert post_json(client, url + "flags/", {"reason": "spam"}).status_code in (200, 201)
    response = post_json(client, url + "flags/", {"reason": "spam"})
    assert response.status_code == 429 and response["Retry-After"]
