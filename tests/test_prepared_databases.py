"""The prepared SpatiaLite databases that live-server tests copy (``tests/live_server.py``):
each copy is a database of its own, and a step that fails leaves nothing a later test would
take for a prepared database."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest

from tests import live_server
from tests.live_server import PreparedDatabases


def test_copies_of_a_prepared_database_do_not_see_each_others_writes(prepared_databases, tmp_path):
    first, second = tmp_path / "first.sqlite3", tmp_path / "second.sqlite3"
    prepared_databases.copy_to(first)
    prepared_databases.copy_to(second)
    with sqlite3.connect(first) as db:
        db.execute("CREATE TABLE written_by_the_first (x)")
    with sqlite3.connect(second) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "django_migrations" in tables
    assert "written_by_the_first" not in tables


def test_a_migration_that_fails_is_made_again_rather_than_copied_half_done(tmp_path, monkeypatch):
    calls: list[tuple[str, ...]] = []

    def manage(*args: str, env: dict[str, str]) -> None:
        calls.append(args)
        path = env["DATABASE_URL"].removeprefix("spatialite:///")
        with open(path, "w") as database:
            database.write(f"attempt {len(calls)}")
        if len(calls) == 1:
            raise subprocess.CalledProcessError(1, args)

    monkeypatch.setattr(live_server, "manage", manage)
    prepared = PreparedDatabases(tmp_path)
    with pytest.raises(subprocess.CalledProcessError):
        prepared.copy_to(tmp_path / "copy.sqlite3")
    assert not (tmp_path / "copy.sqlite3").exists()

    prepared.copy_to(tmp_path / "copy.sqlite3")
    assert (tmp_path / "copy.sqlite3").read_text() == "attempt 2"
    assert calls == [("migrate", "--no-input"), ("migrate", "--no-input")]
