"""Rate limits beyond one client: everyone posting to one discussion, and staff exports.

Each refusal is a 429 with ``Retry-After`` and stores nothing (no comment, no export record).
"""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from config.env import ConfigError, env_rates
from engage.models import Comment, ExportRecord
from tests.engage.conftest import error_fields, make_moderator, open_discussion, post_comment
from tests.engage.export_helpers import export_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_limit_clock_held")]

PER_DISCUSSION = {"comment": (100, 60), "discussion_comment": (3, 60)}


def from_address(n: int) -> Client:
    return Client(REMOTE_ADDR=f"198.51.100.{n}")


@override_settings(ENGAGE_RATE_LIMITS=PER_DISCUSSION)
def test_a_flood_from_many_addresses_is_refused_per_discussion_with_retry_after(discussion):
    for n in range(3):
        assert post_comment(from_address(n), discussion).status_code == 201
    response = post_comment(from_address(50), discussion)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert error_fields(response) == {"discussion"}
    assert Comment.objects.filter(discussion=discussion).count() == 3


@override_settings(ENGAGE_RATE_LIMITS=PER_DISCUSSION)
def test_another_discussion_still_takes_comments_when_one_is_flooded(discussion):
    for n in range(3):
        post_comment(from_address(n), discussion)
    assert post_comment(from_address(9), discussion).status_code == 429
    elsewhere = open_discussion(title="Elsewhere")
    assert post_comment(from_address(9), elsewhere).status_code == 201


@override_settings(ENGAGE_RATE_LIMITS={"comment": (2, 60), "discussion_comment": (3, 60)})
def test_a_client_over_its_own_limit_does_not_use_up_the_discussion(discussion):
    noisy = from_address(1)
    for _ in range(2):
        assert post_comment(noisy, discussion).status_code == 201
    for _ in range(5):
        response = post_comment(noisy, discussion)
        assert response.status_code == 429 and error_fields(response) == {"client"}
    assert post_comment(from_address(2), discussion).status_code == 201


@override_settings(ENGAGE_RATE_LIMITS={"export": (2, 600)})
def test_a_moderator_exporting_too_often_gets_429_and_no_record(discussion):
    client = Client()
    client.force_login(make_moderator("exporter"))
    for fmt in ("csv", "geojson"):
        response = client.get(export_url(discussion, fmt))
        assert response.status_code == 200
    records = ExportRecord.objects.count()
    for url in (export_url(discussion, "xlsx"), f"/api/engage/discussions/{discussion.pk}/report/"):
        response = client.get(url)
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 600
        assert error_fields(response) == {"client"}
    assert ExportRecord.objects.count() == records
    # Another moderator has a counter of their own.
    other = Client()
    other.force_login(make_moderator("other_exporter"))
    assert other.get(f"/api/engage/discussions/{discussion.pk}/report/").status_code == 200


@override_settings(ENGAGE_RATE_LIMITS={"export": (1, 600)})
def test_the_public_asking_for_exports_gets_403_and_uses_no_export_budget(discussion):
    for _ in range(3):
        assert Client().get(export_url(discussion, "csv")).status_code == 403
    assert ExportRecord.objects.count() == 0


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ENGAGE_RATE_LIMITS", "comment=3/30, export=5/900")
    assert env_rates("ENGAGE_RATE_LIMITS", allowed={"comment", "export"}) == {
        "comment": (3, 30),
        "export": (5, 900),
    }
    monkeypatch.delenv("ENGAGE_RATE_LIMITS")
    assert env_rates("ENGAGE_RATE_LIMITS", allowed={"comment"}) == {}


@pytest.mark.parametrize("value", ["comment=3", "comment=x/60", "comment=3/0", "posting=3/60"])
def test_a_malformed_limit_stops_with_the_variables_name(monkeypatch, value):
    monkeypatch.setenv("ENGAGE_RATE_LIMITS", value)
    with pytest.raises(ConfigError, match="ENGAGE_RATE_LIMITS"):
        env_rates("ENGAGE_RATE_LIMITS", allowed={"comment"})
