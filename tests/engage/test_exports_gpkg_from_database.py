"""The GeoPackage made by ``ogr2ogr`` reading the SpatiaLite file itself
(``write_gpkg_from_database``) against the one made from the rows piped through us
(``write_gpkg``): the same layer, values written in safely, and the cases where the rows must
go through us.

The test database is in memory, which GDAL cannot open: these tests copy it to a file (its
rows committed: transactional tests) and point the direct path at the copy."""

from __future__ import annotations

import math
import sqlite3
import time
from contextlib import closing
from datetime import date, timedelta

import pytest
from django.db import connection, transaction

from engage import exports, selectors
from engage.models import Comment, Discussion, ExportRecord
from tests.engage.export_helpers import (
    BODY,
    TITLE,
    assert_same_shapes,
    content_of,
    export_url,
    feedback_discussion,
    layer_of,
    moderated_back_and_forth,
)

# The SpatiaLite file; GDAL reading PostgreSQL: test_exports_gpkg_from_postgresql.py.
spatialite_only = pytest.mark.spatialite
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def database_copy(tmp_path) -> str:
    """The (in-memory) test database with its committed rows, copied to a file."""
    path = str(tmp_path / "copy.sqlite3")
    connection.ensure_connection()
    with closing(sqlite3.connect(path)) as target:
        connection.connection.backup(target)
    return path


def both_ways(tmp_path, monkeypatch, discussion, **filters) -> tuple[dict, dict]:
    """The same export written by GDAL from the database file and through the pipe."""
    database = database_copy(tmp_path)
    monkeypatch.setattr(exports, "database_file_for_gdal", lambda: database)
    chosen = selectors.FeedbackFilters(**filters)
    direct, piped = str(tmp_path / "direct.gpkg"), str(tmp_path / "piped.gpkg")
    counted = exports.write_gpkg_from_database(
        discussion=discussion, filters=chosen, personal_data=False, path=direct
    )
    form = exports.form_of("gpkg")
    columns, batches = selectors.feedback_export_batches(
        discussion=discussion, filters=chosen, personal_data=False, form=form
    )
    assert counted == exports.write_gpkg(
        batches=batches, columns=columns, path=piped, lines=form.endswith("-csv")
    )
    return layer_of(direct), layer_of(piped)


@spatialite_only
@committed
@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"statuses": ("published",), "category": "idea"},
        {"since": date.today() - timedelta(days=1), "until": date.today()},
        {"bbox": (-104.991, 39.739, -104.989, 39.741)},
        {"flagged": True},
        {"category": "no ' such\nthing"},
    ],
    ids=["all", "status-and-category", "dates", "bbox", "flagged", "quote-in-a-filter"],
)
def test_gdal_reading_the_database_file_writes_the_same_layer_as_the_pipe(
    tmp_path, monkeypatch, filters
):
    discussion, ids = feedback_discussion()
    Discussion.objects.filter(pk=discussion.pk).update(title=TITLE)
    Comment.objects.filter(pk=ids["point"]).update(body=BODY)
    discussion.refresh_from_db()
    direct, piped = both_ways(tmp_path, monkeypatch, discussion, **filters)
    assert direct["columns"] == piped["columns"]
    assert direct["geometry"] == piped["geometry"] == [("geom", "GEOMETRY", 4326)]
    assert direct["rows"] == piped["rows"]
    assert_same_shapes(direct["shapes"], piped["shapes"])
    if not filters:
        assert len(direct["rows"]) == 4
        names = [name for name, _type in direct["columns"] if name != "geom"]
        # By the comment's id: the first column is the GeoPackage's own fid.
        by_id = {
            row["id"]: row for row in (dict(zip(names, r, strict=True)) for r in direct["rows"])
        }
        point = by_id[ids["point"]]
        assert point["discussion"] == TITLE and point["body"] == BODY
        assert point["flags"] == 1 and point["agree"] == 2


@spatialite_only
@committed
@pytest.mark.parametrize("filters", [{}, {"flagged": True}], ids=["all", "flagged"])
def test_counts_and_last_decisions_looked_up_per_comment_match_the_joined_statement(
    tmp_path, monkeypatch, filters
):
    # GDAL's statement looks the counts and the last moderation decision up for each comment;
    # the pipe's statement joins them: a disagree, a dismissed flag (counted, no longer open),
    # a comment hidden, restored and hidden again, by a moderator whose name would break out
    # of a quoted literal.
    discussion, ids = feedback_discussion()
    staff = moderated_back_and_forth(ids, moderator_last_name="'); --", reason="Spam again")
    direct, piped = both_ways(tmp_path, monkeypatch, discussion, **filters)
    assert direct["columns"] == piped["columns"]
    assert direct["rows"] == piped["rows"]
    names = [name for name, _type in direct["columns"] if name != "geom"]
    by_id = {row["id"]: row for row in (dict(zip(names, r, strict=True)) for r in direct["rows"])}
    if filters:  # the area's only flag is dismissed: not open any more
        assert set(by_id) == {ids["point"]}
        return
    who = staff.get_full_name()
    assert by_id[ids["hidden"]]["moderation_decision"] == f"hide by {who}"
    assert by_id[ids["area"]]["moderation_decision"] == f"dismiss_flags by {who}"
    assert (by_id[ids["area"]]["flags"], by_id[ids["area"]]["disagree"]) == (1, 1)
    assert by_id[ids["reply"]]["moderation_decision"] is None


@spatialite_only
@committed
def test_the_export_view_lets_gdal_read_the_database_file_when_it_can(
    tmp_path, monkeypatch, moderator_client
):
    discussion, _ids = feedback_discussion()
    database = database_copy(tmp_path)
    monkeypatch.setattr(exports, "database_file_for_gdal", lambda: database)

    def not_this_way(**_arguments):
        raise AssertionError("the rows went through the pipe")

    monkeypatch.setattr(exports, "write_gpkg", not_this_way)
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    assert len(layer_of(str(path))["rows"]) == 4
    assert ExportRecord.objects.get().row_count == 4


@spatialite_only
@committed
def test_when_gdal_cannot_read_the_file_the_rows_go_through_us_and_nothing_is_left(
    tmp_path, monkeypatch, moderator_client
):
    discussion, _ids = feedback_discussion()
    broken = tmp_path / "not-a-database.sqlite3"
    broken.write_bytes(b"this is not SQLite")
    monkeypatch.setattr(exports, "database_file_for_gdal", lambda: str(broken))
    target = str(tmp_path / "direct.gpkg")
    assert (
        exports.write_gpkg_from_database(
            discussion=discussion,
            filters=selectors.FeedbackFilters(),
            personal_data=False,
            path=target,
        )
        is None
    )
    assert not (tmp_path / "direct.gpkg").exists()
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    assert len(layer_of(str(path))["rows"]) == 4


@spatialite_only
@committed
def test_gdal_reads_only_a_file_database_outside_a_transaction(tmp_path, monkeypatch):
    assert exports.database_file_for_gdal() is None  # the tests' database is in memory
    database = database_copy(tmp_path)
    monkeypatch.setitem(connection.settings_dict, "NAME", database)
    assert exports.database_file_for_gdal() == database
    with transaction.atomic():  # uncommitted rows would be missing from GDAL's read
        assert exports.database_file_for_gdal() is None
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "missing.sqlite3"))
    assert exports.database_file_for_gdal() is None


@pytest.mark.django_db
def test_inside_the_tests_transaction_the_rows_always_go_through_us():
    # On PostgreSQL there is no file to read; on both the test's rows are uncommitted.
    assert exports.database_file_for_gdal() is None
    assert exports.database_source_for_gdal() is None


@spatialite_only
@pytest.mark.django_db
def test_the_statement_for_gdal_has_every_parameter_written_in():
    discussion = Discussion.objects.create(title=TITLE)
    filters = selectors.FeedbackFilters(category="it's", bbox=(-105.0, 39.0, -104.0, 40.0))
    names, sql = selectors.feedback_export_statement(
        discussion=discussion, filters=filters, personal_data=False, form="map-gdal"
    )
    assert names[-1] == "geometry" and "%s" not in sql and TITLE not in sql
    with connection.cursor() as cursor:  # SQLite runs it as it is, without parameters
        cursor.execute(sql.replace("%", "%%"), [])
        assert cursor.fetchall() == []


@pytest.mark.parametrize(
    "value",
    [TITLE, BODY, "", "%s", "'", "é中\u202e\U0001f600", 0, -5, 2**62, -104.99, 1e-300, None],
)
def test_every_literal_reads_back_as_the_value_it_was_made_from(value):
    literal = selectors._sqlite_literal(value)
    with closing(sqlite3.connect(":memory:")) as database:
        assert database.execute(f"SELECT {literal}").fetchone()[0] == value  # noqa: S608


@pytest.mark.parametrize("value", [b"bytes", math.inf, math.nan, date(2026, 1, 1), "\ud800"])
def test_a_value_that_cannot_be_written_in_safely_has_no_literal(value):
    assert selectors._sqlite_literal(value) is None


@pytest.mark.django_db
def test_bad_filters_are_still_rejected_before_any_geopackage_is_made(
    moderator_client, monkeypatch
):
    discussion, _ids = feedback_discussion()

    def never(**_arguments):
        raise AssertionError("a GeoPackage was started")

    monkeypatch.setattr(exports, "write_gpkg_from_database", never)
    monkeypatch.setattr(exports, "write_gpkg", never)
    for query in ("since=yesterday", "bbox=1,2,3", "status=nope", "flagged=maybe", "colour=red"):
        response = moderator_client.get(export_url(discussion, "gpkg", query))
        assert response.status_code == 400, query


def test_an_ogr2ogr_that_runs_past_its_time_is_ended(tmp_path, monkeypatch):
    stuck = tmp_path / "ogr2ogr"
    stuck.write_text("#!/bin/sh\nexec sleep 30\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(exports.shutil, "which", lambda _name: str(stuck))
    monkeypatch.setattr(exports, "OGR2OGR_TIMEOUT", 0.2)
    started = time.monotonic()
    code, _message, _fed = exports._ogr2ogr(vrt="<OGRVRTDataSource/>", path=str(tmp_path / "x"))
    assert code != 0
    assert time.monotonic() - started < 10


def test_ogr2ogr_writes_with_a_page_cache_larger_than_sqlites_default(tmp_path, monkeypatch):
    recorder = tmp_path / "ogr2ogr"
    recorder.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "arguments"}\n')
    recorder.chmod(0o755)
    monkeypatch.setattr(exports.shutil, "which", lambda _name: str(recorder))
    code, _message, _fed = exports._ogr2ogr(vrt="<OGRVRTDataSource/>", path=str(tmp_path / "x"))
    assert code == 0
    arguments = (tmp_path / "arguments").read_text().split()
    at = arguments.index("OGR_SQLITE_CACHE")
    assert arguments[at - 1] == "--config" and int(arguments[at + 1]) > 2
