"""The GeoPackage made by ``ogr2ogr`` reading PostgreSQL itself (``write_gpkg_from_database``
through ``postgresql_source_for_gdal``) against the one made from the rows piped through us
(``write_gpkg``): the same layer (but a stored carriage return, which only the pipe turns into
a line feed), values written in by psycopg, whatever GDAL's session time zone, no password on
ogr2ogr's command line or in its VRT, and the cases where the rows must go through us.

GDAL reads through a connection of its own, which sees committed rows only: these tests are
transactional (their rows committed), but those about the tests' own transaction."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from psycopg.conninfo import conninfo_to_dict

from engage import exports, selectors
from engage.models import Comment, Discussion, ExportRecord
from tests.engage.export_helpers import (
    BODY,
    TITLE,
    content_of,
    export_url,
    feedback_discussion,
    layer_of,
    moderated_back_and_forth,
)

pytestmark = pytest.mark.postgis
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Text that would close a quoted literal or a connection-string value, a backslash that would
# escape the quote after it, a placeholder, XML (the statement travels in the VRT), a line end
# and control characters, characters beyond ASCII (no NUL: PostgreSQL text cannot hold one).
HOSTILE = (
    "x'); DROP TABLE engage_comment; -- \\' \\\\ \"q\" 50%s %% "
    "a\nb\tc\x07d\x1b </SrcSQL> &amp; é中\u202e\U0001f600"
)


def gpkg_both_ways(tmp_path, discussion, personal_data=False, **filters) -> tuple[dict, dict]:
    """The same export written by GDAL from PostgreSQL and through the pipe."""
    chosen = selectors.FeedbackFilters(**filters)
    direct, piped = str(tmp_path / "direct.gpkg"), str(tmp_path / "piped.gpkg")
    counted = exports.write_gpkg_from_database(
        discussion=discussion, filters=chosen, personal_data=personal_data, path=direct
    )
    assert counted is not None, "GDAL did not read the database itself"
    form = exports.form_of("gpkg")
    columns, batches = selectors.feedback_export_batches(
        discussion=discussion, filters=chosen, personal_data=personal_data, form=form
    )
    assert counted == exports.write_gpkg(
        batches=batches, columns=columns, path=piped, lines=form.endswith("-csv")
    )
    return layer_of(direct), layer_of(piped)


def rows_by_id(layer: dict) -> dict[int, dict]:
    names = [name for name, _type in layer["columns"] if name != "geom"]
    return {row["id"]: row for row in (dict(zip(names, r, strict=True)) for r in layer["rows"])}


class OgrCalls:
    """``subprocess.Popen`` in engage.exports, recording each ogr2ogr's arguments, added
    environment and VRT text (read as it starts: the file is removed afterwards)."""

    def __init__(self, monkeypatch):
        self.calls: list[dict] = []
        real = subprocess.Popen

        def popen(command, *args, **kwargs):
            source = next(arg for arg in command if arg.endswith(".vrt"))
            with open(source, encoding="utf-8") as handle:
                vrt = handle.read()
            self.calls.append({"argv": list(command), "env": kwargs.get("env"), "vrt": vrt})
            return real(command, *args, **kwargs)

        monkeypatch.setattr(exports.subprocess, "Popen", popen)


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
        {"category": "'); DROP TABLE engage_comment; --"},
        {"zoning_code": HOSTILE},
        {"future_land_use_code": "back\\slash\\"},
    ],
    ids=[
        "all", "status-and-category", "dates", "bbox", "flagged", "quote-in-a-filter",
        "statement-in-a-filter", "hostile-text-matching-a-comment", "backslashes",
    ],
)  # fmt: skip
def test_gdal_reading_postgresql_writes_the_same_layer_as_the_pipe(tmp_path, filters):
    discussion, ids = feedback_discussion()
    Discussion.objects.filter(pk=discussion.pk).update(title=TITLE)
    Comment.objects.filter(pk=ids["point"]).update(
        body=BODY, zoning_code=HOSTILE, future_land_use_code="back\\slash\\"
    )
    Comment.objects.filter(pk=ids["area"]).update(body=HOSTILE)
    discussion.refresh_from_db()
    direct, piped = gpkg_both_ways(tmp_path, discussion, **filters)
    assert direct["columns"] == piped["columns"]
    assert direct["geometry"] == piped["geometry"] == [("geom", "GEOMETRY", 4326)]
    assert direct["rows"] == piped["rows"]
    assert direct["blobs"] == piped["blobs"]  # the same geometries, to the last digit
    types = dict(direct["columns"])
    assert (types["id"], types["created_at"], types["body"]) == ("MEDIUMINT", "DATETIME", "TEXT")
    by_id = rows_by_id(direct)
    if not filters:
        assert len(by_id) == 4
        point = by_id[ids["point"]]
        assert point["discussion"] == TITLE and point["body"] == BODY
        assert point["zoning_code"] == HOSTILE and point["flags"] == 1 and point["agree"] == 2
        assert by_id[ids["area"]]["body"] == HOSTILE
        assert by_id[ids["reply"]]["category"] is None  # empty text is NULL, as in the pipe
    if "zoning_code" in filters or "future_land_use_code" in filters:
        assert set(by_id) == {ids["point"]}


@committed
def test_a_carriage_return_stored_in_the_database_stays_one_where_the_pipe_made_it_a_line_feed(
    tmp_path,
):
    # Text entered through the app has none (validation turns CR into LF); a land-use code
    # from an imported layer might. GDAL's CSV reader turns CR and CR LF in a quoted field into
    # LF; read from the database, the text is kept as stored. The filter on it (written into
    # the statement, carried in the VRT's XML as a character reference) finds it both ways.
    discussion, ids = feedback_discussion()
    stored = "C\r\nR\rX"
    Comment.objects.filter(pk=ids["point"]).update(zoning_code=stored)
    direct, piped = gpkg_both_ways(tmp_path, discussion, zoning_code=stored)
    [read] = rows_by_id(direct).values()
    [through_us] = rows_by_id(piped).values()
    assert read["zoning_code"] == stored
    assert through_us["zoning_code"] == "C\nR\nX"
    assert {**read, "zoning_code": None} == {**through_us, "zoning_code": None}
    assert direct["blobs"] == piped["blobs"]


@committed
def test_with_personal_data_gdal_reading_postgresql_writes_the_same_layer_as_the_pipe(tmp_path):
    discussion, ids = feedback_discussion()
    Comment.objects.filter(pk=ids["point"]).update(ip_hash="ab" * 32)
    direct, piped = gpkg_both_ways(tmp_path, discussion, personal_data=True)
    assert direct["columns"] == piped["columns"]
    assert direct["rows"] == piped["rows"]
    by_id = rows_by_id(direct)
    assert by_id[ids["reply"]]["author_email"] == "writer@example.org"
    assert by_id[ids["point"]]["ip_hash"] == "ab" * 32
    assert by_id[ids["point"]]["author_email"] is None  # anonymous: empty text, NULL


@committed
@pytest.mark.parametrize("filters", [{}, {"flagged": True}], ids=["all", "flagged"])
def test_counts_and_last_decisions_read_by_gdal_match_the_pipe(tmp_path, filters):
    # A disagree, a dismissed flag (counted, no longer open), a comment hidden, restored and
    # hidden again, by a moderator whose name would break out of a quoted literal.
    discussion, ids = feedback_discussion()
    staff = moderated_back_and_forth(ids, moderator_last_name="'); -- \\", reason="Spam 'again' \\")
    direct, piped = gpkg_both_ways(tmp_path, discussion, **filters)
    assert direct["columns"] == piped["columns"]
    assert direct["rows"] == piped["rows"]
    by_id = rows_by_id(direct)
    if filters:  # the area's only flag is dismissed: not open any more
        assert set(by_id) == {ids["point"]}
        return
    who = staff.get_full_name()
    assert by_id[ids["hidden"]]["moderation_decision"] == f"hide by {who}"
    assert by_id[ids["hidden"]]["moderation_reason"] == "Spam 'again' \\"
    assert by_id[ids["area"]]["moderation_decision"] == f"dismiss_flags by {who}"
    assert (by_id[ids["area"]]["flags"], by_id[ids["area"]]["disagree"]) == (1, 1)
    assert by_id[ids["reply"]]["moderation_decision"] is None


@committed
def test_the_export_view_lets_gdal_read_postgresql_when_it_can(
    tmp_path, monkeypatch, moderator_client
):
    discussion, _ids = feedback_discussion()

    def not_this_way(**_arguments):
        raise AssertionError("the rows went through the pipe")

    monkeypatch.setattr(exports, "write_gpkg", not_this_way)
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    assert len(layer_of(str(path))["rows"]) == 4
    assert ExportRecord.objects.get().row_count == 4


@committed
def test_gdal_reads_postgresql_only_outside_a_transaction():
    assert exports.database_source_for_gdal() is not None
    with transaction.atomic():  # uncommitted rows would be missing from GDAL's read
        assert exports.database_source_for_gdal() is None
    connection.set_autocommit(False)  # a transaction Django opened without atomic()
    try:
        assert exports.database_source_for_gdal() is None
    finally:
        connection.rollback()
        connection.set_autocommit(True)


@pytest.mark.django_db
def test_inside_the_tests_transaction_the_export_goes_through_the_pipe(tmp_path, monkeypatch):
    discussion, _ids = feedback_discussion()  # uncommitted: GDAL's connection would miss them

    def never(**_arguments):
        raise AssertionError("ogr2ogr was asked to read the database")

    monkeypatch.setattr(exports, "_database_vrt", never)
    assert exports.database_source_for_gdal() is None
    path = str(tmp_path / "direct.gpkg")
    assert (
        exports.write_gpkg_from_database(
            discussion=discussion,
            filters=selectors.FeedbackFilters(),
            personal_data=False,
            path=path,
        )
        is None
    )


@committed
def test_when_gdal_cannot_reach_the_database_the_rows_go_through_us_and_nothing_is_left(
    tmp_path, monkeypatch, moderator_client
):
    discussion, _ids = feedback_discussion()
    with monkeypatch.context() as patched:  # Django's own connection is open already
        patched.setitem(connection.settings_dict, "NAME", "no such ' database \\")
        unreachable = exports.database_source_for_gdal()
        target = tmp_path / "direct.gpkg"
        assert (
            exports.write_gpkg_from_database(
                discussion=discussion,
                filters=selectors.FeedbackFilters(),
                personal_data=False,
                path=str(target),
            )
            is None
        )
        assert not target.exists()
    monkeypatch.setattr(exports, "database_source_for_gdal", lambda: unreachable)
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    assert len(layer_of(str(path))["rows"]) == 4
    assert ExportRecord.objects.get().row_count == 4


@committed
def test_the_password_reaches_ogr2ogr_in_its_environment_never_in_its_arguments_or_vrt(
    tmp_path, monkeypatch
):
    discussion, _ids = feedback_discussion()
    password = "s3cret pass'word\\"  # the server trusts this host: any password connects
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", password)
    options = {
        **connection.settings_dict["OPTIONS"],
        "sslmode": "prefer",
        "fallback_application_name": "civic map's \\ export",
    }
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    ogr = OgrCalls(monkeypatch)
    count = exports.write_gpkg_from_database(
        discussion=discussion,
        filters=selectors.FeedbackFilters(),
        personal_data=False,
        path=str(tmp_path / "direct.gpkg"),
    )
    assert count == 4
    [call] = ogr.calls
    assert not any("s3cret" in argument for argument in call["argv"])
    assert "s3cret" not in call["vrt"]
    assert call["env"]["PGPASSWORD"] == password
    assert call["env"]["PGSSLMODE"] == "prefer"


@committed
def test_the_layer_read_by_gdal_does_not_depend_on_its_sessions_time_zone(tmp_path, monkeypatch):
    # Django sets UTC on its own connections; GDAL's gets the server's default, or what
    # OPTIONS["options"] says (passed as PGOPTIONS). Times and date filters are absolute.
    discussion, _ids = feedback_discussion()
    options = {**connection.settings_dict["OPTIONS"], "options": "-c TimeZone=Pacific/Chatham"}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert exports.database_source_for_gdal()[1]["PGOPTIONS"] == options["options"]
    today = date.today()
    direct, piped = gpkg_both_ways(tmp_path, discussion, since=today, until=today)
    assert direct["rows"] == piped["rows"] and len(direct["rows"]) == 4


@committed
def test_the_connection_string_reads_back_as_djangos_settings(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "NAME", "it's a \\ name with spaces")
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "hidden")
    name, environ = exports.database_source_for_gdal()
    assert name.startswith("PG:")
    settings = connection.settings_dict
    assert conninfo_to_dict(name.removeprefix("PG:")) == {
        "dbname": settings["NAME"],
        "host": settings["HOST"],
        "port": str(settings["PORT"]),
        "user": settings["USER"],
    }
    assert environ["PGPASSWORD"] == "hidden"


@pytest.mark.django_db
def test_the_postgresql_statement_for_gdal_reads_the_rows_its_parameters_read():
    discussion, ids = feedback_discussion()
    Discussion.objects.filter(pk=discussion.pk).update(title=TITLE)
    Comment.objects.filter(pk=ids["point"]).update(zoning_code=HOSTILE)
    discussion.refresh_from_db()
    filters = selectors.FeedbackFilters(
        zoning_code=HOSTILE, bbox=(-105.0, 39.0, -104.0, 40.0), since=date.today()
    )
    names, sql = selectors.feedback_export_statement(
        discussion=discussion, filters=filters, personal_data=False, form="map-gdal"
    )
    assert names[-1] == "geometry"
    _names, bound, params = selectors.feedback_export_query(
        discussion=discussion, filters=filters, personal_data=False, form="map-gdal"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)  # as GDAL runs it: no parameters
        written_in = cursor.fetchall()
        cursor.execute(bound, params)
        assert written_in == cursor.fetchall()
    assert [row[0] for row in written_in] == [ids["point"]]
    assert written_in[0][names.index("discussion")] == TITLE


@pytest.mark.django_db
def test_a_filter_postgresql_cannot_hold_leaves_the_export_to_the_pipe():
    discussion = Discussion.objects.create(title="t")
    filters = selectors.FeedbackFilters(category="nul\x00byte")
    assert (
        selectors.feedback_export_statement(
            discussion=discussion, filters=filters, personal_data=False, form="map-gdal"
        )
        is None
    )
