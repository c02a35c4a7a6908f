"""``make bench``: for each backend, a fresh database at the realistic scale, then every
benchmark script's ``run(env)``; writes ``bench/results/latest.json`` and ``latest.md`` and
prints the table.

    .venv/bin/python bench/run.py [--backend postgis|spatialite|both] [--quick] [--only NAME …]

PostGIS: the database ``civicmap_bench`` is dropped and created again (``BENCH_DATABASE_URL``
names another; never point it at a database you want to keep), with Redis at
``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/2``). SpatiaLite: a new file in a
temporary folder, and the in-memory channel layer.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    BENCH_RATE_LIMITS,
    BenchEnv,
    Row,
    markdown_table,
    write_results,
)

# Ours first, then the scripts other work adds; a script without ``run`` yet is skipped.
SCRIPTS = ["bench.tiles", "bench.pages", "bench.exports", "bench.fanout", "bench.posting"]
DEFAULT_POSTGIS = "postgis://postgres@127.0.0.1:5432/civicmap_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/2"


def recreate_postgis(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = parts._replace(scheme="postgresql").geturl()
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def prepare(
    backend: str, *, quick: bool, reuse: bool = False, scripts: list[str] | tuple[str, ...] = ()
) -> BenchEnv:
    """A fresh, migrated, seeded database for ``backend`` (``reuse``: PostGIS as it is)."""
    environ = dict(os.environ)
    environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    environ["ENGAGE_RATE_LIMITS"] = BENCH_RATE_LIMITS
    if backend == "postgis":
        database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGIS)
        redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
        environ["REDIS_URL"] = redis_url
        if reuse:
            environ["DATABASE_URL"] = database_url
            return BenchEnv(backend, database_url, redis_url, sys.executable, environ, quick)
        recreate_postgis(database_url)
    else:
        folder = tempfile.mkdtemp(prefix="civicmap-bench-")
        database_url = f"spatialite:///{folder}/bench.sqlite3"
        redis_url = None
        environ.pop("REDIS_URL", None)
    environ["DATABASE_URL"] = database_url
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=environ,
        check=True,
    )
    print(f"[{backend}] migrated in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    # The export benchmark's discussions of exactly 10k and 100k comments are made by the
    # same process (one Django start-up less), beside the other backend's set-up rather than
    # inside the export benchmark's time.
    exports_too = "bench.exports" in scripts
    seeded = subprocess.run(
        [sys.executable, "bench/seed.py", *(["--export-discussions"] if exports_too else [])],
        cwd=ROOT,
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    )
    summary = next(
        json.loads(line.removeprefix("SEED "))
        for line in seeded.stdout.splitlines()
        if line.startswith("SEED ")
    )
    print(f"[{backend}] seeded in {time.perf_counter() - started:.0f} s: {summary}", flush=True)
    env = BenchEnv(
        backend=backend,
        database_url=database_url,
        redis_url=redis_url,
        python=sys.executable,
        environ=environ,
        quick=quick,
    )
    if exports_too:
        from bench import exports

        exports.remember_discussions(env, summary["export_discussions"])
    return env


def collect_static() -> None:
    """Once for both backends: the files do not depend on the database."""
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=environ,
        check=True,
    )


def run_scripts(env: BenchEnv, names: list[str]) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            print(f"[{env.backend}] warning: {name} not found ({exc}); skipped", flush=True)
            continue
        except Exception:  # noqa: BLE001 - a script that does not import loses only its rows
            print(f"[{env.backend}] {name} failed to import:\n{traceback.format_exc()}", flush=True)
            continue
        run = getattr(module, "run", None)
        if run is None or list(inspect.signature(run).parameters)[:1] != ["env"]:
            print(f"[{env.backend}] warning: {name} has no run(env) yet; skipped", flush=True)
            continue
        started = time.perf_counter()
        try:
            new = run(env)
        except Exception:  # noqa: BLE001 - one broken script must not lose the others' rows
            print(f"[{env.backend}] {name} failed:\n{traceback.format_exc()}", flush=True)
            continue
        print(f"[{env.backend}] {name}: {len(new)} rows in {time.perf_counter() - started:.0f} s")
        rows += new
    return rows


def machine() -> str:
    cpus = os.cpu_count()
    return (
        f"{cpus} cores ({platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgis", "spatialite", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke run")
    parser.add_argument("--only", nargs="+", metavar="MODULE", help="e.g. bench.tiles")
    parser.add_argument(
        "--reuse", action="store_true", help="PostGIS: keep the seeded database (development)"
    )
    args = parser.parse_args()
    backends = ["postgis", "spatialite"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    # Both databases are made at once, and the static files collected meanwhile (setting up
    # measures nothing, and each step mostly waits on one process); the benchmarks then run
    # one backend after the other.
    with ThreadPoolExecutor(max_workers=len(backends) + 1) as pool:
        static = pool.submit(collect_static)
        envs = list(
            pool.map(
                lambda b: prepare(
                    b, quick=args.quick, reuse=args.reuse, scripts=args.only or SCRIPTS
                ),
                backends,
            )
        )
        static.result()
    rows: list[Row] = []
    for env in envs:
        rows += run_scripts(env, args.only or SCRIPTS)
    command = "bench/run.py " + shlex.join(sys.argv[1:]) if len(sys.argv) > 1 else "make bench"
    write_results(rows, machine=machine(), command=command.strip())
    print(markdown_table(rows, machine=machine(), command=command.strip()))
    print(f"{len(rows)} rows in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
