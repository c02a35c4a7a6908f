"""XLSX export, read back with openpyxl: typed cells, formulas neutralised, control characters
stripped."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from engage.models import ExportRecord
from tests.engage.export_helpers import FORMULA, content_of, export_url, feedback_discussion

pytestmark = pytest.mark.django_db


def read_xlsx(data: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(data), read_only=True)["feedback"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_workbook_opens_with_typed_cells(moderator_client, landuse_map):
    discussion, ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, "xlsx"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = {row["id"]: row for row in read_xlsx(content_of(response))}
    assert set(rows) == set(ids.values())
    point = rows[ids["point"]]
    assert point["agree"] == 2 and point["flags"] == 1
    assert isinstance(point["created_at"], datetime)
    assert point["lon"] == pytest.approx(-104.99) and point["zoning_code"] == "C-MX-5"
    assert ExportRecord.objects.get().row_count == 4


def test_formulas_are_stored_as_neutralised_text_not_formulas(moderator_client):
    discussion, ids = feedback_discussion()
    data = content_of(moderator_client.get(export_url(discussion, "xlsx")))
    rows = {row["id"]: row for row in read_xlsx(data)}
    assert rows[ids["reply"]]["body"] == "'" + FORMULA
    assert rows[ids["area"]]["body"] == "'-1 for parking"
    sheet = load_workbook(io.BytesIO(data))["feedback"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_control_characters_are_stripped(moderator_client):
    discussion, ids = feedback_discussion()
    rows = {
        r["id"]: r
        for r in read_xlsx(content_of(moderator_client.get(export_url(discussion, "xlsx"))))
    }
    # The bell character never reached the database (clean_body) nor the sheet; a body stored
    # with one anyway (older data) is stripped on the way out.
    assert "\x07" not in rows[ids["hidden"]]["body"]


def test_a_control_character_in_stored_data_does_not_break_the_workbook(moderator_client):
    from engage.models import Comment

    discussion, ids = feedback_discussion()
    Comment.objects.filter(pk=ids["point"]).update(body="bell\x07 and \x1b escape")
    rows = {
        r["id"]: r
        for r in read_xlsx(content_of(moderator_client.get(export_url(discussion, "xlsx"))))
    }
    assert rows[ids["point"]]["body"] == "bell and  escape"


def test_text_that_looks_like_a_number_a_date_or_a_link_stays_text(moderator_client):
    from engage.models import Comment

    discussion, ids = feedback_discussion()
    for key, body in (
        ("point", "42"),
        ("area", "https://example.org/plan"),
        ("reply", "2026-11-27"),
    ):
        Comment.objects.filter(pk=ids[key]).update(body=body)
    data = content_of(moderator_client.get(export_url(discussion, "xlsx")))
    rows = {row["id"]: row for row in read_xlsx(data)}
    assert rows[ids["point"]]["body"] == "42"
    assert rows[ids["area"]]["body"] == "https://example.org/plan"
    assert rows[ids["reply"]]["body"] == "2026-11-27"
    sheet = load_workbook(io.BytesIO(data))["feedback"]
    assert not sheet._hyperlinks
    assert all(cell.hyperlink is None for row in sheet.iter_rows() for cell in row)


def test_a_cell_longer_than_a_spreadsheet_holds_fails_the_export_rather_than_cutting_it(
    moderator_client, tmp_path, monkeypatch
):
    import tempfile

    from engage.models import Comment

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    discussion, ids = feedback_discussion()
    Comment.objects.filter(pk=ids["point"]).update(body="x" * 40_000)  # older data, no limit
    with pytest.raises(RuntimeError, match="32,767"):
        moderator_client.get(export_url(discussion, "xlsx"))
    assert list(tmp_path.iterdir()) == []
