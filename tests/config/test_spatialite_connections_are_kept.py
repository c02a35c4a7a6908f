"""The embedded database keeps its connections between requests: opening one loads
mod_spatialite and reads the schema (about 10 ms, measured), which was most of a WebSocket
connect and a third of a comment POST on SpatiaLite (bench/posting.py --quick: 37 against 66
comments/s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler

from config.env import SPATIALITE_CONN_MAX_AGE, database_from_url


def test_spatialite_urls_and_the_default_keep_connections_for_ten_minutes(tmp_path: Path):
    named = database_from_url(
        f"spatialite:///{tmp_path}/a.sqlite3", name="URL", default_path=tmp_path
    )
    default = database_from_url("", name="URL", default_path=tmp_path / "b.sqlite3")
    assert named["CONN_MAX_AGE"] == default["CONN_MAX_AGE"] == SPATIALITE_CONN_MAX_AGE == 600


@pytest.fixture
def spatialite_file(tmp_path, django_db_blocker):
    # A file of its own: Django never closes an in-memory SQLite connection (the tests'
    # database on the SpatiaLite run), so only a file shows what a server does.
    settings_dict = database_from_url(
        f"spatialite:///{tmp_path / 'db.sqlite3'}", name="URL", default_path=tmp_path
    )
    wrapper = ConnectionHandler({"default": settings_dict})["default"]
    with django_db_blocker.unblock():
        yield wrapper
        wrapper.close()


def test_a_spatialite_connection_stays_open_when_a_request_ends(spatialite_file):
    spatialite_file.ensure_connection()
    opened = spatialite_file.connection
    spatialite_file.close_if_unusable_or_obsolete()  # what Django runs as a request ends
    assert spatialite_file.connection is opened
    assert opened.execute("SELECT spatialite_version()").fetchone()[0]
