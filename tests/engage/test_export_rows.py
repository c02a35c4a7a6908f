"""The export's one statement: counts from grouped joins (never multiplied by each other), the
latest moderation decision, the flagged filter, raw text for the map formats and neutralised
text for the spreadsheets, local times in the workbook, explicit GeoPackage field types."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from django.contrib.gis.gdal import DataSource
from django.test import override_settings
from openpyxl import load_workbook

from engage import selectors, services
from engage.models import Comment, ExportRecord
from engage.rules import Participant
from tests.engage.conftest import INSIDE, make_moderator, open_discussion, post_comment
from tests.engage.export_helpers import content_of, export_url

pytestmark = pytest.mark.django_db


def busy_discussion():
    """One pinned comment with three reactions, two flags (one dismissed) and two moderation
    decisions (hidden, then restored); one quiet comment posted as "=cmd|' /C calc'!A0"."""
    from django.test import Client

    discussion = open_discussion(title="=Harbour plan")
    busy = post_comment(
        Client(), discussion, body="Wider sidewalks", display_name="+Ann",
        geometry={"type": "Point", "coordinates": INSIDE},
    ).json()  # fmt: skip
    quiet = post_comment(Client(), discussion, body="=cmd|' /C calc'!A0").json()
    comment = Comment.objects.get(pk=busy["id"])
    for key, value in (("a:1", "agree"), ("a:2", "agree"), ("a:3", "disagree")):
        services.reaction_set(
            comment=comment, participant=Participant(user=None, key=key), value=value
        )
    for key in ("a:f1", "a:f2"):
        services.flag_create(
            comment=comment, participant=Participant(user=None, key=key), reason="spam"
        )
    staff = make_moderator("mod")
    actor = Participant(user=staff, key=f"u:{staff.pk}")
    services.flags_dismiss(comment=comment, actor=actor)
    services.flag_create(
        comment=comment, participant=Participant(user=None, key="a:f3"), reason="spam"
    )
    services.comment_hide(comment=Comment.objects.get(pk=comment.pk), actor=actor, reason="Rude")
    services.comment_restore(comment=Comment.objects.get(pk=comment.pk), actor=actor)
    return discussion, busy["id"], quiet["id"]


def rows_of(discussion, **filters) -> dict[int, dict]:
    rows = selectors.feedback_export_rows(
        discussion=discussion,
        filters=selectors.FeedbackFilters(**filters),
        personal_data=False,
    )
    return {row["id"]: row for row in rows}


def test_counts_are_not_multiplied_by_each_other_and_each_comment_is_one_row():
    discussion, busy, quiet = busy_discussion()
    rows = rows_of(discussion)
    assert set(rows) == {busy, quiet}
    assert (rows[busy]["agree"], rows[busy]["disagree"], rows[busy]["flags"]) == (2, 1, 3)
    assert (rows[quiet]["agree"], rows[quiet]["disagree"], rows[quiet]["flags"]) == (0, 0, 0)


def test_the_moderation_decision_is_the_latest_one():
    discussion, busy, quiet = busy_discussion()
    rows = rows_of(discussion)
    assert rows[busy]["moderation_decision"] == "restore by Mod"
    assert rows[quiet]["moderation_decision"] == ""


def test_flagged_keeps_only_comments_with_open_flags():
    discussion, busy, _quiet = busy_discussion()
    assert set(rows_of(discussion, flagged=True)) == {busy}
    services.flags_dismiss(
        comment=Comment.objects.get(pk=busy),
        actor=Participant(user=make_moderator("other"), key="u:other"),
    )
    assert rows_of(discussion, flagged=True) == {}


def test_map_formats_keep_the_text_as_written_and_spreadsheets_neutralise_it(moderator_client):
    discussion, busy, quiet = busy_discussion()
    features = {
        f["id"]: f["properties"]
        for f in json.loads(content_of(moderator_client.get(export_url(discussion, "geojson"))))[
            "features"
        ]
    }
    assert features[busy]["author"] == "+Ann" and features[busy]["discussion"] == "=Harbour plan"
    assert features[quiet]["body"] == "=cmd|' /C calc'!A0"
    assert "ip_hash" not in features[busy] and "author_email" not in features[busy]
    data = content_of(moderator_client.get(export_url(discussion, "csv")))
    cells = {int(r["id"]): r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert cells[busy]["author"] == "'+Ann" and cells[busy]["discussion"] == "'=Harbour plan"
    assert cells[quiet]["body"] == "'=cmd|' /C calc'!A0"
    assert cells[busy]["status"] == "published"


@override_settings(TIME_ZONE="America/Denver")
def test_the_workbook_shows_created_at_in_the_site_time_zone(moderator_client):
    discussion, busy, _quiet = busy_discussion()
    moment = datetime.fromisoformat("2026-07-04T18:30:15+00:00")
    Comment.objects.filter(pk=busy).update(created_at=moment)
    data = content_of(moderator_client.get(export_url(discussion, "xlsx")))
    header, *rows = load_workbook(io.BytesIO(data), read_only=True)["feedback"].iter_rows(
        values_only=True
    )
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_id[busy]["created_at"] == datetime(2026, 7, 4, 12, 30, 15)  # MDT, UTC-6
    data = content_of(moderator_client.get(export_url(discussion, "csv")))
    cells = {int(r["id"]): r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert cells[busy]["created_at"].startswith("2026-07-04T18:30:15")  # CSV stays in UTC


def test_geopackage_fields_keep_their_types_whatever_the_text_looks_like(
    moderator_client, tmp_path
):
    from django.test import Client

    discussion = open_discussion()
    pinned = post_comment(
        Client(), discussion, body="2026-11-27", geometry={"type": "Point", "coordinates": INSIDE}
    ).json()
    post_comment(Client(), discussion, body="42")
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    layer = DataSource(str(path))["feedback"]
    types = dict(zip(layer.fields, [t.__name__ for t in layer.field_types], strict=True))
    assert types["body"] == "OFTString" and types["parent_id"] == "OFTInteger"
    bodies = {f.get("id"): f.get("body") for f in layer}
    assert bodies[pinned["id"]] == "2026-11-27" and "42" in bodies.values()
    assert ExportRecord.objects.get().row_count == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "gpkg"])
def test_a_filter_that_matches_nothing_gives_an_empty_export_and_records_zero(
    moderator_client, fmt
):
    discussion, _busy, _quiet = busy_discussion()
    response = moderator_client.get(export_url(discussion, fmt, "since=2999-01-01"))
    assert content_of(response)
    assert ExportRecord.objects.get().row_count == 0
