"""Real services and processes for the fault tests, started here and broken by the tests.

- ``private_redis``: a ``redis-server`` of our own on a free port (never the shared one), that a
  test kills with SIGKILL and starts again on the same port.
- ``fault_db``: a database of the backend the suite runs on, with one open, published
  discussion titled "Faults" (anonymous posting allowed), that a test can take down and bring
  back with a real process:

  - PostGIS: a PostgreSQL cluster of our own (``initdb`` under ``/usr/lib/postgresql/*/bin``, own
    port, own temporary folder; as the ``postgres`` user when the tests run as root), restored
    from a ``pg_dump`` of the test database. Down is ``pg_ctl stop -m immediate`` (as a crash);
    back is ``pg_ctl start``. The shared server on 5432 is only read, once, by ``pg_dump``.
  - SpatiaLite: a copy of the test database in a file. An embedded database has no server to
    stop; "down" for it is what makes the file unusable to every request: another process
    holding an exclusive lock on it (as a backup or maintenance job can), so every read and
    write waits for the lock and fails. Back is SIGKILLing that process: the OS releases its
    lock.

Both copies are made from the already migrated test database (migrating a fresh SpatiaLite
file costs about a minute on the shared machine). Nothing here skips silently in CI: a missing
``redis-server`` or PostgreSQL binary fails there.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.live_server import free_port, server_env

LIVE_SETTINGS = "tests.faults.live_settings"


def fault_env(database_url: str, **extra: str) -> dict[str, str]:
    return server_env(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE=LIVE_SETTINGS, **extra)


def wait_for_port(port: int, *, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}") from None
            time.sleep(0.1)


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        require_service("redis-server is not installed (apt-get install redis-server)")
    redis = PrivateRedis(free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


@contextlib.contextmanager
def faults_discussion(django_db_blocker) -> Iterator[None]:
    """The test database with the "Faults" discussion in it while the copy is made."""
    from engage.models import Discussion
    from tests.engage.conftest import open_discussion

    with django_db_blocker.unblock():
        discussion = open_discussion(title="Faults")
        try:
            yield
        finally:
            Discussion.objects.filter(pk=discussion.pk).delete()


@pytest.fixture(scope="session")
def spatialite_template(django_db_setup, django_db_blocker, tmp_path_factory) -> Path:
    from django.db import connection

    path = tmp_path_factory.mktemp("faults-spatialite") / "template.sqlite3"
    with faults_discussion(django_db_blocker):
        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
    return path


class SpatialiteFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"spatialite:///{path}"
        self.locker: subprocess.Popen | None = None

    def stored_bodies(self) -> list[str]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as db:
            return [row[0] for row in db.execute("SELECT body FROM engage_comment ORDER BY id")]

    def take_down(self) -> None:
        self.locker = subprocess.Popen(
            [sys.executable, "-c", LOCK_SCRIPT, str(self.path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.locker.stdout.readline().strip() == "locked"

    def bring_back(self) -> None:
        self.locker.kill()
        self.locker.wait(timeout=10)


# Hold an exclusive lock on the file until killed: nobody else may read or write meanwhile.
LOCK_SCRIPT = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("SELECT count(*) FROM engage_comment").fetchone()
print("locked", flush=True)
time.sleep(3600)
"""


class PrivatePostgres:
    """A PostgreSQL cluster in ``folder`` listening on 127.0.0.1:``port`` (trust auth)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.data = folder / "data"

    @property
    def url(self) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/civicmap"

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, timeout=120, **kwargs)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                 "-l", str(self.folder / "log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        """Stop at once, as a crash or a pulled plug would (no clean shutdown)."""
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def is_running(self) -> bool:
        status = subprocess.run(
            ["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0)
            + [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
        )
        return status.returncode == 0

    take_down = stop
    bring_back = start

    def stored_bodies(self) -> list[str]:
        return self.psql("SELECT body FROM engage_comment ORDER BY id").splitlines()

    def psql(self, sql: str) -> str:
        return self.run(
            str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", "civicmap", "-At", "-c", sql, text=True,
        ).stdout  # fmt: skip


@pytest.fixture(scope="session")
def private_postgres(django_db_setup, django_db_blocker) -> Iterator[PrivatePostgres]:
    from django.db import connection

    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        require_service("PostgreSQL server binaries are not installed")
    # Not under pytest's temporary folder: that one is private to root, and the cluster runs
    # as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="civicmap-faults-pg-"))
    folder.chmod(0o755)
    cluster = PrivatePostgres(folder, free_port())
    cluster.init()
    cluster.start()
    try:
        # The test database as migrated, plus the discussion, without migrating again.
        source = connection.settings_dict
        dump = folder / "test-database.dump"
        with faults_discussion(django_db_blocker):
            cluster.run(
                str(cluster.bin / "pg_dump"), "-h", source["HOST"] or "127.0.0.1",
                "-p", str(source["PORT"] or 5432), "-U", source["USER"] or "postgres",
                "-Fc", "-f", str(dump), source["NAME"],
                env={**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""},
            )  # fmt: skip
        cluster.run(str(cluster.bin / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port),
                    "-U", "postgres", "civicmap")  # fmt: skip
        cluster.run(str(cluster.bin / "pg_restore"), "-h", "127.0.0.1", "-p", str(cluster.port),
                    "-U", "postgres", "-d", "civicmap", "--no-owner", str(dump))  # fmt: skip
        yield cluster
    finally:
        if cluster.is_running():
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_db_source(request):
    """Made once per session, before any test's transaction: the discussion must be committed
    when the copy is taken."""
    from django.conf import settings

    if settings.DATABASE_IS_POSTGIS:
        return request.getfixturevalue("private_postgres")
    return request.getfixturevalue("spatialite_template")


@pytest.fixture
def fault_db(fault_db_source, tmp_path):
    """The suite's backend, ready to be taken down (see the module docstring). Tests using it
    need ``@pytest.mark.django_db``: that is what makes pytest-django create the test database
    this is copied from."""
    if isinstance(fault_db_source, PrivatePostgres):
        yield fault_db_source
        if not fault_db_source.is_running():
            fault_db_source.start()
        return
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(fault_db_source, path)
    database = SpatialiteFile(path)
    yield database
    if database.locker and database.locker.poll() is None:
        database.bring_back()
