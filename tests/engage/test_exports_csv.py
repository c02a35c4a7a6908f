"""CSV export: UTF-8 with BOM, formulas neutralised, filters, personal data, the record."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from engage.models import Comment, ExportRecord
from tests.engage.conftest import make_user
from tests.engage.export_helpers import (
    FORMULA,
    content_of,
    export_url,
    feedback_discussion,
    grant_personal_data,
)

pytestmark = pytest.mark.django_db


def read_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_moderator_gets_every_comment_with_its_columns(moderator_client, landuse_map):
    discussion, ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, "csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = {int(r["id"]): r for r in read_csv(content_of(response))}
    assert set(rows) == set(ids.values())
    point = rows[ids["point"]]
    assert (point["agree"], point["disagree"], point["flags"]) == ("2", "0", "1")
    assert (point["zoning_code"], point["zoning_label"]) == ("C-MX-5", "Main Street 5")
    assert (point["future_land_use_code"], point["future_land_use_label"]) == (
        "CC",
        "Community Center",
    )
    assert (point["lon"], point["lat"], point["category"]) == ("-104.99", "39.74", "idea")
    area = rows[ids["area"]]
    assert area["geometry_type"] == "Polygon" and float(area["lon"]) == pytest.approx(-104.99)
    assert rows[ids["reply"]]["parent_id"] == str(ids["point"])
    hidden = rows[ids["hidden"]]
    assert hidden["status"] == "hidden" and hidden["moderation_reason"] == "Spam"
    assert hidden["moderation_decision"].startswith("hide by ")
    assert "author_email" not in point and "ip_hash" not in point


def test_cells_that_look_like_formulas_are_neutralised_and_kept(moderator_client):
    discussion, ids = feedback_discussion()
    rows = {
        int(r["id"]): r
        for r in read_csv(content_of(moderator_client.get(export_url(discussion, "csv"))))
    }
    assert rows[ids["reply"]]["body"] == "'" + FORMULA
    assert rows[ids["area"]]["body"] == "'-1 for parking"
    assert rows[ids["hidden"]]["body"].startswith("'@everyone")


def test_filters_narrow_the_rows_and_are_recorded(moderator_client, moderator, landuse_map):
    discussion, ids = feedback_discussion()
    query = "status=published&zoning_code=C-MX-5"
    rows = read_csv(content_of(moderator_client.get(export_url(discussion, "csv", query))))
    assert [int(r["id"]) for r in rows] == [ids["point"], ids["area"]]  # both in C-MX-5
    record = ExportRecord.objects.get()
    assert record.user == moderator and record.format == "csv"
    assert record.filters == {"statuses": ["published"], "zoning_code": "C-MX-5"}
    assert record.row_count == 2 and record.discussion == discussion
    assert not record.personal_data


def test_a_bbox_filter_keeps_the_pins_inside_it(moderator_client):
    discussion, ids = feedback_discussion()
    query = "bbox=-104.991,39.739,-104.989,39.741"
    rows = read_csv(content_of(moderator_client.get(export_url(discussion, "csv", query))))
    assert {int(r["id"]) for r in rows} == {ids["point"], ids["area"]}


def test_personal_data_needs_its_own_permission(moderator, moderator_client):
    discussion, ids = feedback_discussion()
    refused = moderator_client.get(export_url(discussion, "csv", "personal_data=true"))
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "personal_data"
    grant_personal_data(moderator)
    client = Client()
    client.force_login(moderator)
    rows = {
        int(r["id"]): r
        for r in read_csv(
            content_of(client.get(export_url(discussion, "csv", "personal_data=true")))
        )
    }
    assert rows[ids["reply"]]["author_email"] == "writer@example.org"
    assert len(rows[ids["point"]]["ip_hash"]) == 64
    assert ExportRecord.objects.get().personal_data


def test_an_unpublished_discussion_is_exported_for_staff_only(moderator_client):
    discussion, _ids = feedback_discussion()
    discussion.is_published = False
    discussion.save()
    assert moderator_client.get(export_url(discussion, "csv")).status_code == 200
    resident = Client()
    resident.force_login(make_user("resident"))
    assert resident.get(export_url(discussion, "csv")).status_code == 403


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=lost", "status"),
        ("since=27/11/2026", "since"),
        ("bbox=0,0,0,0", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("personal_data=maybe", "personal_data"),
        ("token=abc", "token"),
        ("discussion=999", "discussion"),
    ],
)
def test_bad_filters_are_400_naming_the_field_and_record_nothing(moderator_client, query, field):
    discussion, _ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, "csv", query))
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not ExportRecord.objects.exists()


def test_an_unknown_format_or_discussion_is_404_in_json(moderator_client):
    discussion, _ids = feedback_discussion()
    unknown = moderator_client.get(export_url(discussion, "pdf"))
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "format"
    missing = moderator_client.get("/api/engage/discussions/999999/export.csv")
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "discussion"
    assert not ExportRecord.objects.exists()


def test_the_body_is_an_async_iterator_so_asgi_streams_it(moderator_client):
    discussion, _ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, "csv"))
    assert response.is_async
    content_of(response)


@pytest.mark.postgis
@pytest.mark.django_db(transaction=True)
def test_rows_come_from_one_snapshot_while_comments_are_written():
    """An export that has started does not see a comment added, or a body changed, by another
    connection meanwhile (one SELECT read through a cursor)."""
    import threading

    from django.db import connection

    from engage import selectors
    from engage.models import Comment
    from tests.engage.conftest import open_discussion

    discussion = open_discussion()
    Comment.objects.bulk_create(
        Comment(discussion=discussion, display_name="R", body=f"before {n}") for n in range(2500)
    )
    last = Comment.objects.order_by("-pk").first()
    rows = selectors.feedback_export_rows(
        discussion=discussion, filters=selectors.FeedbackFilters(), personal_data=False
    )
    first = [next(rows) for _ in range(10)]

    def write_elsewhere() -> None:
        Comment.objects.create(discussion=discussion, display_name="L", body="late")
        Comment.objects.filter(pk=last.pk).update(body="changed")
        connection.close()

    writer = threading.Thread(target=write_elsewhere)
    writer.start()
    writer.join()
    exported = first + list(rows)
    assert len(exported) == 2500
    assert exported[-1]["body"] == "before 2499"
    assert Comment.objects.count() == 2501


def test_text_with_quotes_commas_and_line_breaks_reads_back_unchanged(moderator_client):
    # The database writes each CSV line: its quoting must read back as the csv module reads it.
    discussion, ids = feedback_discussion()
    body = 'She said "no", twice,\r\nthen: ""quiet"" — café'
    Comment.objects.filter(pk=ids["point"]).update(body=body, display_name='"Ann", B.')
    rows = {
        int(r["id"]): r
        for r in read_csv(content_of(moderator_client.get(export_url(discussion, "csv"))))
    }
    assert rows[ids["point"]]["body"] == body
    assert rows[ids["point"]]["author"] == '"Ann", B.'
    assert rows[ids["reply"]]["parent_id"] == str(ids["point"])
