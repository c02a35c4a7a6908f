"""Browser tests: one prepared SpatiaLite database per session (migrate, load_demo, a topic page
with its own discussion, collectstatic), copied for each live server so tests do not see each
other's comments; Debian's chromium driven by Playwright; every request outside the live server
recorded, so a test can assert there was none."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.live_server import ROOT, LiveServer, live_server, manage, server_env

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


@dataclass
class Prepared:
    folder: Path
    env: dict[str, str]
    page_path: str
    discussion: int


@dataclass
class Site:
    server: LiveServer
    env: dict[str, str]
    page_path: str
    discussion: int
    outside: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def page_url(self) -> str:
        return self.server.url + self.page_path

    def shell(self, code: str) -> str:
        """Run Python in the server's environment (its database), e.g. a moderator's action."""
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.stdout


def _env(folder: Path, **overrides: str) -> dict[str, str]:
    settings = {
        "DATABASE_URL": f"spatialite:///{folder}/db.sqlite3",
        "STATIC_ROOT": str(folder / "static"),
        "REDIS_URL": "",
        "DEBUG": "0",
        "BASEMAP_TILE_URL": "",
        # The real settings without rate limits: every resident posts from 127.0.0.1.
        "DJANGO_SETTINGS_MODULE": "tests.engage.live_settings",
    }
    return server_env(**{**settings, **overrides})


@pytest.fixture(scope="session")
def prepared(tmp_path_factory, prepared_databases) -> Prepared:
    if not shutil.which(CHROMIUM):
        require_service("Debian's chromium is not installed")
    # E2E_PREPARED=<folder> keeps the migrated database between runs while developing (static
    # files are collected again every time); by default each session starts from scratch.
    kept = os.environ.get("E2E_PREPARED")
    folder = Path(kept) if kept else tmp_path_factory.mktemp("e2e-prepared")
    folder.mkdir(parents=True, exist_ok=True)
    env = _env(folder)
    seed_file = folder / "seed.json"
    if not (kept and seed_file.exists()):
        prepared_databases.copy_to(folder / "db.sqlite3", demo=True)
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", "from tests.e2e.seed import run; run()"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        seed_file.write_text(out.strip().splitlines()[-1])
    manage("collectstatic", "--no-input", env=env)
    seeded = json.loads(seed_file.read_text())
    return Prepared(
        folder=folder, env=env, page_path=seeded["url"], discussion=seeded["discussion"]
    )


@contextlib.contextmanager
def start_site(
    prepared: Prepared,
    folder: Path,
    *,
    port: int | None = None,
    keep_database: bool = False,
    **overrides: str,
) -> Iterator[Site]:
    """A live server on a copy of the prepared database in ``folder`` (``keep_database``: the
    copy already there, e.g. to start the server again after stopping it)."""
    if not keep_database:
        shutil.copy(prepared.folder / "db.sqlite3", folder / "db.sqlite3")
    env = _env(folder, STATIC_ROOT=str(prepared.folder / "static"), **overrides)
    with live_server(env, port=port) as server:
        yield Site(
            server=server, env=env, page_path=prepared.page_path, discussion=prepared.discussion
        )


@pytest.fixture
def site(prepared, tmp_path) -> Iterator[Site]:
    with start_site(prepared, tmp_path) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        require_service("Debian's chromium is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


def open_page(browser, site: Site, **context_options):
    """A fresh browser context (its own cookies and storage: another resident) on the topic
    page, with outside requests and page errors recorded."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(site.url)
            or request.url.startswith(site.server.ws_url)
            or request.url.startswith("data:")
            else site.outside.append(request.url)
        ),
    )
    page.goto(site.page_url)
    page.wait_for_selector("section#feedback-map[data-live='live']")
    return page


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
