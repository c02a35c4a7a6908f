"""The embedded database waits its configured time for a lock, mod_spatialite loaded or not."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.contrib.gis.db.backends.spatialite.base import DatabaseWrapper
from django.db.utils import ConnectionHandler

from config.env import SPATIALITE_OPTIONS, database_from_url


@pytest.fixture
def spatialite(tmp_path, django_db_blocker):
    # Its own file, beside (never instead of) the test database of either backend.
    handler = ConnectionHandler(
        {
            "default": database_from_url(
                f"spatialite:///{tmp_path / 'db.sqlite3'}",
                name="URL",
                default_path=tmp_path / "unused.sqlite3",
            )
        }
    )
    wrapper: DatabaseWrapper = handler["default"]
    with django_db_blocker.unblock():
        wrapper.ensure_connection()
        yield wrapper
        wrapper.close()


def test_a_spatialite_connection_waits_the_configured_time_for_a_lock(spatialite):
    (wait,) = spatialite.connection.execute("PRAGMA busy_timeout").fetchone()
    assert wait == SPATIALITE_OPTIONS["timeout"] * 1000
    assert spatialite.connection.execute("SELECT spatialite_version()").fetchone()[0]


def test_a_writer_queued_behind_a_lock_longer_than_five_seconds_is_not_refused(spatialite):
    # mod_spatialite's own default wait is 5 s: a 6 s lock used to fail "database is locked".
    path = spatialite.settings_dict["NAME"]
    spatialite.connection.execute("CREATE TABLE t (x INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(6.0, lambda: holder.execute("COMMIT"))
    released.start()
    try:
        spatialite.connection.execute("INSERT INTO t VALUES (1)")
    finally:
        released.join()
        holder.close()
    assert spatialite.connection.execute("SELECT count(*) FROM t").fetchone() == (1,)
