"""Spreadsheet formulas in EVERY exported text column are neutralised, in CSV and XLSX.

Each text column gets its own hostile value, from wherever it really comes from: the
discussion title (the page), the body and display name (residents), the land-use codes and
labels recorded at the pin (imported layer files), the moderation reason (a moderator), the
author's e-mail (an account). A cell that starts with ``= + - @``, tab or CR must come out
with a leading ``'`` and the text kept.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from engage import services
from engage.exports import FORMULA_PREFIXES
from engage.models import Comment
from engage.rules import Participant
from tests.engage.conftest import INSIDE, make_moderator, open_discussion, post_comment
from tests.engage.export_helpers import content_of, export_url, grant_personal_data

pytestmark = pytest.mark.django_db

HOSTILE = {
    "discussion": "=1+1 discussion",
    "body": "+cmd|' /C calc'!A0",
    "author": "@SUM(1+1)*cmd",
    "zoning_code": "=Z1",
    "zoning_label": '=HYPERLINK("http://evil.example","zone")',
    "future_land_use_code": "-2+3",
    "future_land_use_label": "\t=1+2",
    "moderation_reason": "\r=1+3 hidden",
    "author_email": "=evil@example.org",
}
NUMERIC = {"id", "discussion_id", "parent_id", "agree", "disagree", "flags", "lon", "lat"}


def hostile_export_setup():
    discussion = open_discussion(title=HOSTILE["discussion"])
    writer = make_moderator("formula_writer", email=HOSTILE["author_email"])
    author = Client()
    author.force_login(writer)
    created = post_comment(
        author,
        discussion,
        body=HOSTILE["body"],
        geometry={"type": "Point", "coordinates": INSIDE},
    ).json()
    comment = Comment.objects.get(pk=created["id"])
    # What the land-use layers said at the pin (imported files may carry anything).
    Comment.objects.filter(pk=comment.pk).update(
        display_name=HOSTILE["author"],
        zoning_code=HOSTILE["zoning_code"],
        future_land_use_code=HOSTILE["future_land_use_code"],
        landuse=[
            {"kind": "zoning", "code": HOSTILE["zoning_code"], "label": HOSTILE["zoning_label"]},
            {
                "kind": "future_land_use",
                "code": HOSTILE["future_land_use_code"],
                "label": HOSTILE["future_land_use_label"],
            },
        ],
    )
    moderator = make_moderator("formula_moderator")
    services.comment_hide(
        comment=Comment.objects.get(pk=comment.pk),
        actor=Participant(user=moderator, key=f"u:{moderator.pk}"),
        reason=HOSTILE["moderation_reason"],
    )
    grant_personal_data(moderator)
    client = Client()
    client.force_login(moderator)
    return discussion, client


def assert_neutralised(row: dict) -> None:
    for column, expected in HOSTILE.items():
        cell = row[column]
        # CR/tab may be stripped as control characters; what remains must not start a formula.
        assert str(cell).startswith("'"), (column, cell)
        assert expected.strip("\t\r") in str(cell), (column, cell)
    for column, cell in row.items():
        if column not in NUMERIC and isinstance(cell, str) and cell:
            assert not cell.startswith(FORMULA_PREFIXES), (column, cell)


def test_every_csv_text_column_is_neutralised():
    discussion, client = hostile_export_setup()
    data = content_of(client.get(export_url(discussion, "csv", "personal_data=true")))
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert_neutralised(row)


def test_every_xlsx_text_column_is_neutralised_and_no_cell_is_a_formula():
    discussion, client = hostile_export_setup()
    data = content_of(client.get(export_url(discussion, "xlsx", "personal_data=true")))
    sheet = load_workbook(io.BytesIO(data))["feedback"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    header, values = list(sheet.iter_rows(values_only=True))
    assert_neutralised(dict(zip(header, values, strict=True)))
