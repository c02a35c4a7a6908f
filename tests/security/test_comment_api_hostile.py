"""Hostile input to the comment API (THREATS 1, 2 and 4): markup rendered inert, oversized,
malformed and nested bodies refused before any work, mass assignment and IDOR refused; each
refusal names the field, stores nothing and broadcasts nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from engage.models import Comment
from tests.engage.conftest import comments_url, post_comment, post_json
from tests.security.conftest import XSS_PAYLOADS, assert_error, assert_inert_html

pytestmark = pytest.mark.django_db


def post_raw(client: Client, url: str, raw: bytes | str, **extra):
    return client.generic("POST", url, raw, content_type="application/json", **extra)


# --- Markup (THREATS 1) -------------------------------------------------------------------


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markup_in_the_body_and_display_name_is_stored_as_text_and_rendered_inert(
    anonymous_client, discussion, payload
):
    response = post_comment(anonymous_client, discussion, body=payload, display_name=payload[:60])
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    created = response.json()
    assert created["body"] == payload  # text, kept as typed
    assert_inert_html(created["body_html"])
    listing = anonymous_client.get(comments_url(discussion)).json()["items"][0]
    assert_inert_html(listing["body_html"])
    feedback = anonymous_client.get(f"/api/engage/discussions/{discussion.pk}/feedback.geojson")
    assert feedback["X-Content-Type-Options"] == "nosniff"


def test_a_signed_in_residents_name_with_markup_is_plain_text(discussion):
    from tests.engage.conftest import make_user

    user = make_user("mallory")
    user.first_name = "<svg onload=alert(1)>"
    user.save()
    client = Client()
    client.force_login(user)
    response = post_comment(client, discussion)
    assert response.status_code == 201
    assert response.json()["display_name"].startswith("<svg onload")
    assert_inert_html(response.json()["body_html"])


def test_a_javascript_link_in_the_body_is_never_made_clickable(anonymous_client, discussion):
    body = "see javascript:alert(document.cookie) and https://example.org/ok"
    created = post_comment(anonymous_client, discussion, body=body).json()
    assert 'href="javascript' not in created["body_html"]
    assert 'href="https://example.org/ok"' in created["body_html"]
    assert_inert_html(created["body_html"])


# --- Size, encoding, nesting (THREATS 2) --------------------------------------------------


def test_a_ten_megabyte_json_body_is_refused_with_413(
    anonymous_client, discussion, nothing_changes
):
    raw = json.dumps({"body": "x" * (10 * 1024 * 1024), "display_name": "Big"})
    with nothing_changes():
        response = post_raw(anonymous_client, comments_url(discussion), raw)
    assert_error(response, 413, "body")


def test_a_million_character_comment_is_refused(anonymous_client, discussion, nothing_changes):
    with nothing_changes():
        response = post_comment(anonymous_client, discussion, body="é" * 1_000_000)
    assert response.status_code in (400, 413)
    assert_error(response, response.status_code, "body")


def test_a_comment_just_over_the_length_limit_names_the_body(
    anonymous_client, discussion, nothing_changes
):
    with nothing_changes():
        response = post_comment(anonymous_client, discussion, body="a" * 5001)
    assert_error(response, 400, "body")


def test_a_lying_content_length_is_refused_before_reading(anonymous_client, discussion):
    response = post_raw(
        anonymous_client, comments_url(discussion), "{}", CONTENT_LENGTH="99999999999"
    )
    assert_error(response, 413, "body")


@pytest.mark.parametrize("depth", [1_000, 60_000])
def test_deeply_nested_json_is_a_400_not_a_crash(
    anonymous_client, discussion, nothing_changes, depth
):
    raw = '{"body": "x", "display_name": "n", "geometry": ' + "[" * depth + "]" * depth + "}"
    with nothing_changes():
        response = post_raw(anonymous_client, comments_url(discussion), raw)
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} & {"body", "geometry"}


def test_a_hundred_thousand_levels_of_nesting_are_refused(
    anonymous_client, discussion, nothing_changes
):
    raw = "[" * 100_000 + "]" * 100_000
    with nothing_changes():
        response = post_raw(anonymous_client, comments_url(discussion), raw)
    assert response.status_code in (400, 413)
    assert_error(response, response.status_code, "body")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'"a string"',
        b"null",
        b'{"body": NaN, "display_name": "n"}',
        b'{"body": "x", "display_name": Infinity}',
        b"\xff\xfe\x00{",
        b'{"body": "\\ud800", "display_name": "n"}',
        b'{"body": "x", "body": {"nested": 1}, "display_name": "n"}',
        b'{"body": 12345678901234567890123456789, "display_name": "n"}',
    ],
)
def test_malformed_bodies_are_400_and_name_a_field(
    anonymous_client, discussion, nothing_changes, raw
):
    with nothing_changes():
        response = post_raw(anonymous_client, comments_url(discussion), raw)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"]


@pytest.mark.parametrize("field", ["body", "display_name"])
def test_a_text_field_of_only_nul_and_control_characters_is_refused(
    anonymous_client, discussion, nothing_changes, field
):
    data = {"body": "fine", "display_name": "fine", field: "\x00\x01\x07\x1b\u202e"}
    with nothing_changes():
        response = post_json(anonymous_client, comments_url(discussion), data)
    assert_error(response, 400, field)


def test_nul_bytes_and_controls_inside_text_never_reach_the_database(anonymous_client, discussion):
    response = post_comment(
        anonymous_client, discussion, body="a\x00b\x1b[31mc\u202ed", display_name="N\x00m"
    )
    assert response.status_code == 201
    comment = Comment.objects.get()
    assert "\x00" not in comment.body + comment.display_name
    assert "\x1b" not in comment.body and "\u202e" not in comment.body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", 5),
        ("body", ["a"]),
        ("body", {"a": 1}),
        ("body", None),
        ("display_name", 7),
        ("parent", "1"),
        ("parent", 1.5),
        ("parent", True),
        ("parent", 10**30),
        ("parent", -1),
        ("category", 3),
        ("category", "a\x00b"),
        ("category", "' OR 1=1 --"),
        ("geometry", "POINT(-104.99 39.74)"),
    ],
)
def test_wrong_types_and_injections_name_the_field(
    anonymous_client, discussion, nothing_changes, field, value
):
    data = {"body": "fine", "display_name": "fine", field: value}
    with nothing_changes():
        response = post_json(anonymous_client, comments_url(discussion), data)
    assert_error(response, 400, field)


# --- Mass assignment and IDOR (THREATS 4) ------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"status": "published"},
        {"author": 1},
        {"author_id": 1},
        {"created_at": "2000-01-01T00:00:00Z"},
        {"created": "2000-01-01T00:00:00Z"},
        {"ip_hash": "x"},
        {"edit_token_hash": "x"},
        {"discussion": 2},
        {"id": 99},
        {"agree": 1000},
        {"zoning_code": "X"},
    ],
)
def test_mass_assignment_of_server_fields_is_refused(
    anonymous_client, discussion, nothing_changes, extra
):
    data = {"body": "Hello", "display_name": "Sam", **extra}
    with nothing_changes():
        response = post_json(anonymous_client, comments_url(discussion), data)
    assert_error(response, 400, next(iter(extra)))


def test_mass_assignment_on_edit_is_refused(anonymous_client, discussion):
    created = post_comment(anonymous_client, discussion).json()
    client = Client(HTTP_X_EDIT_TOKEN=created["edit_token"])
    response = client.patch(
        f"/api/engage/comments/{created['id']}/",
        data=json.dumps({"body": "new", "status": "published", "author": 1}),
        content_type="application/json",
    )
    assert_error(response, 400, "status")
    assert Comment.objects.get().body == "More trees along the river, please."


def test_nobody_edits_or_withdraws_another_residents_comment(
    resident_client, other_resident_client, anonymous_client, discussion, nothing_changes
):
    mine = post_comment(resident_client, discussion).json()
    theirs = post_comment(Client(), discussion).json()
    url = f"/api/engage/comments/{mine['id']}/"
    anonymous_url = f"/api/engage/comments/{theirs['id']}/"
    with nothing_changes():
        attempts = [
            other_resident_client.patch(
                url, data=json.dumps({"body": "pwned"}), content_type="application/json"
            ),
            other_resident_client.delete(url),
            anonymous_client.delete(url),
            Client(HTTP_X_EDIT_TOKEN=theirs["edit_token"]).delete(url),
            Client(HTTP_X_EDIT_TOKEN="guess").delete(anonymous_url),
            Client(HTTP_X_EDIT_TOKEN="").delete(anonymous_url),
            resident_client.delete(anonymous_url),
        ]
        for response in attempts:
            assert_error(response, 403, "comment")
    assert set(Comment.objects.values_list("status", flat=True)) == {"published"}
    assert "pwned" not in Comment.objects.values_list("body", flat=True)


def test_a_signed_in_write_without_csrf_token_is_refused(resident, discussion, nothing_changes):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    with nothing_changes():
        response = post_comment(client, discussion)
    assert_error(response, 403, "csrf")
