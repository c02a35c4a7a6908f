"""Start the real ASGI application under uvicorn in a child process, on a free port.

Used by tests that must cross a real socket (one process serving HTTP, static files and
WebSocket; several workers sharing Redis; the browser tests).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def server_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.setdefault("SECRET_KEY", "live-server-tests-secret-key-" + "x" * 30)
    env.update(overrides)
    return env


class PreparedDatabases:
    """SpatiaLite databases migrated (and, for ``demo=True``, loaded with the demo city) once per
    test session, copied for every live server that needs one of its own.

    Five modules that serve the real app each migrated a file of their own, and three of them
    loaded the demo city too: 12 s and 11 s a time on a fast host, about three times that on a
    slow one. Migrations stay tested by pytest-django, which runs them for every test
    database, and ``load_demo`` by tests/cms, which runs it on one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def copy_to(self, database: Path, *, demo: bool = False) -> None:
        shutil.copy(self._demo() if demo else self._migrated(), database)

    def _migrated(self) -> Path:
        return self._made("migrated", None, ("migrate", "--no-input"))

    def _demo(self) -> Path:
        return self._made("demo", self._migrated(), ("load_demo",))

    def _made(self, name: str, start: Path | None, command: tuple[str, ...]) -> Path:
        done = self.folder / f"{name}.sqlite3"
        if not done.exists():
            # Made under another name and renamed when complete: a step that fails leaves
            # nothing a later fixture would take for a prepared database.
            building = self.folder / f"{name}.building.sqlite3"
            building.unlink(missing_ok=True)
            if start is not None:
                shutil.copy(start, building)
            env = server_env(DATABASE_URL=f"spatialite:///{building}", REDIS_URL="", DEBUG="0")
            manage(*command, env=env)
            building.rename(done)
        return done


# The WebSocket flags of the Makefile's ``serve`` target (held to it by
# tests/config/test_one_process_serves_everything.py).
SERVE_FLAGS = ("--ws-max-size", "65536", "--ws-per-message-deflate", "false")


@contextlib.contextmanager
def live_server(
    env: dict[str, str], *, workers: int = 1, timeout: float = 60, port: int | None = None
) -> Iterator[LiveServer]:
    """``port``: a given one, e.g. to start a server again where a page expects it."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *SERVE_FLAGS,
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.stdout.read()}")
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)  # noqa: S310 - our own server
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not answer /healthz in time") from None
                time.sleep(0.2)
        yield LiveServer(url=url, port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
