"""What the live benchmarks (``fanout.py``, ``posting.py``, ``soak.py``) share: a private
Redis, servers under uvicorn, a keep-alive HTTP client, and fleets of WebSocket clients in
child processes.

The clients run in their own processes (two by default) because one asyncio loop on this
2-core machine cannot read 1000 sockets without becoming part of the latency it measures.
Each fleet reports its own CPU use and event-loop lag beside the figures, so a reader can see
how much of a number is the client; it is the same client for our server and for the floor
(``wsclient.py``: it does as little as it can while the servers are measured).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import BenchEnv, percentile  # noqa: E402
from tests.live_server import free_port  # noqa: E402

ORIGIN = "http://127.0.0.1"
# All comments come from one address, so the per-client rate limits are lifted (only that).
SETTINGS = "tests.engage.live_settings"


# --- Processes ------------------------------------------------------------------------------


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A throw-away redis-server on a free port: the shared one carries other people's
    pub/sub traffic (channels are global across database numbers) and their load."""
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def phase_lengths(env: BenchEnv, *, postgis_window: float) -> tuple[float, float]:
    """(seconds a side, window) of a live phase: the issue's 60 s a side on PostGIS, in
    windows of ``postgis_window`` taken in turns; SpatiaLite is reported only, one window of
    5 s a side (10 s cost make bench 10 s more a script); ``--quick``: 10 s in 5-s windows."""
    if env.quick:
        return 10.0, 5.0
    if env.backend != "postgis":
        return 5.0, 5.0
    return 60.0, postgis_window


def server_environ(env: BenchEnv, redis_url: str | None) -> dict[str, str]:
    environ = {**os.environ, **env.environ}
    environ.update(
        DATABASE_URL=env.database_url,
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DEBUG="0",
        LOG_LEVEL="WARNING",
    )
    environ.setdefault("SECRET_KEY", "bench-secret-key-" + "x" * 40)
    if redis_url:
        environ["REDIS_URL"] = redis_url
    else:
        environ.pop("REDIS_URL", None)
    return environ


def django_shell(environ: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=environ, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def create_discussions(environ: dict[str, str], count: int) -> list[int]:
    """``count`` fresh published, post-moderated discussions open to anonymous posting, so
    the benchmark's comments are the only ones in each (one Django start-up for all)."""
    return json.loads(
        django_shell(
            environ,
            "import json; from engage.services import discussion_create;"
            "print(json.dumps([discussion_create(title='bench', is_published=True).pk"
            f" for _ in range({int(count)})]))",
        )
    )


def create_discussion(environ: dict[str, str]) -> int:
    return create_discussions(environ, 1)[0]


def stored_comment_ids_of(environ: dict[str, str], discussions: list[int]) -> dict[int, set[int]]:
    """The truth: every published comment of each discussion, read from the database (with
    its own driver: a Django start-up for one query cost make bench 3 s each time)."""
    ids = [int(d) for d in discussions]
    url = environ["DATABASE_URL"]
    found: dict[int, set[int]] = {d: set() for d in ids}
    query = (
        "SELECT discussion_id, id FROM engage_comment WHERE status = 'published' "
        "AND discussion_id IN ({})"
    )
    if url.startswith("spatialite://"):
        path = unquote(urlsplit(url).path)
        with contextlib.closing(sqlite3.connect(path)) as connection:
            rows = connection.execute(query.format(", ".join("?" * len(ids))), ids).fetchall()
    else:
        import psycopg

        address = urlsplit(url)._replace(scheme="postgresql").geturl()
        with psycopg.connect(address) as connection:
            rows = connection.execute(query.format(", ".join(["%s"] * len(ids))), ids).fetchall()
    for discussion, comment in rows:
        found[discussion].add(comment)
    return found


def stored_comment_ids(environ: dict[str, str], discussion: int) -> set[int]:
    return stored_comment_ids_of(environ, [discussion])[discussion]


class Uvicorn:
    """uvicorn on a free port with logging at warnings only (a pipe full of 1000
    "connection open" lines would block the server)."""

    def __init__(self, app: str, environ: dict[str, str], *, workers: int = 1) -> None:
        self.app, self.environ, self.workers = app, environ, workers
        self.process: subprocess.Popen | None = None

    def start(self) -> Uvicorn:
        """Start the server without waiting for it (``with`` waits): two servers started
        one after the other start at the same time."""
        if self.process is not None:
            return self
        self.port = free_port()
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers),
             "--ws-max-size", "65536", "--ws-per-message-deflate", "false",
             "--lifespan", "off", "--no-access-log",
             "--log-level", "warning"],  # fmt: skip
            cwd=ROOT, env=self.environ, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __enter__(self) -> Uvicorn:
        self.start()
        assert self.process is not None
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited: {self.errors()}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.app} did not start") from None
                time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.log.closed:
            return  # never started, or already stopped
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def worker_pids(self) -> list[int]:
        """The worker processes (uvicorn's master forks them), or the server itself."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(p) for p in children.read_text().split()] if children.exists() else []
        # multiprocessing's resource tracker is a child too; it is not a worker.
        workers = [p for p in pids if "resource_tracker" not in _cmdline(p)]
        return workers or [self.process.pid]

    def errors(self) -> list[str]:
        """Server log lines that are errors (logging is at warnings and above)."""
        self.log.flush()
        self.log.seek(0)
        return [
            line.rstrip()
            for line in self.log
            if "ERROR" in line or "Traceback" in line or "Exception" in line
        ]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def summarise_errors(errors: list[str]) -> str:
    """ "3× POST answered 0; 1× …": each kind of error once, with its count."""
    if not errors:
        return "none"
    counts: dict[str, int] = {}
    for error in errors:
        counts[error[:120]] = counts.get(error[:120], 0) + 1
    return "; ".join(f"{count}× {text}" for text, count in counts.items())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- A keep-alive HTTP/1.1 client -----------------------------------------------------------


class HttpConnection:
    """One keep-alive connection with a few dozen lines of asyncio: cheaper per request than
    a general client, so the load generator takes less of the two cores it shares."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, payload: object) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(payload).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.writer.write(head.encode() + body)
            return await self._response()
        except (OSError, asyncio.IncompleteReadError):
            await self.close()
            raise

    async def _response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                body += (await self.reader.readexactly(size + 2))[:-2]
                if size == 0:
                    return status, body
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


# --- WebSocket client fleets ----------------------------------------------------------------


@dataclass
class FleetResult:
    """What the clients saw: latencies of first receipts (ms), and per client the ids
    missed and the ids received twice; plus the fleet's own cost."""

    latencies_ms: list[float]
    event_ids: list[int]  # the event of each latency, in the same order
    window_p99_ms: list[float]
    missed: int
    duplicates: int
    clients_missing_any: int
    unexpected: int
    connect_failures: int
    disconnects: int
    client_cpu_share: float  # of one core, summed over the fleet's processes
    loop_lag_p99_ms: float

    def split_at_first_client(self) -> tuple[list[float], list[float]]:
        """Each event's wait for the first client to have it (ms), and each receipt's lag
        behind that first client (ms): the way to the fan-out, and the fan-out's own breadth
        (its writes to every socket, and the clients' turn to read)."""
        first: dict[int, float] = {}
        for ms, key in zip(self.latencies_ms, self.event_ids, strict=True):
            if ms < first.get(key, math.inf):
                first[key] = ms
        lags = [ms - first[key] for ms, key in zip(self.latencies_ms, self.event_ids, strict=True)]
        return list(first.values()), lags


def _fleet_main(connection, url: str, count: int, pace_connects: int) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_fleet(connection, url, count, pace_connects))


async def _fleet(connection, url: str, count: int, pace_connects: int) -> None:
    from bench.wsclient import connect as ws_connect

    # What each client read and when, parsed only after the run: parsing the JSON as it came
    # was nearly half of the clients' CPU while the servers were measured (README).
    arrivals: list[list[tuple[float, bytes]]] = [[] for _ in range(count)]
    disconnects = 0
    loop = asyncio.get_running_loop()

    def on_message_of(index: int) -> Callable[[bytes, float], None]:
        mine = arrivals[index]
        return lambda payload, now: mine.append((now, payload))

    async def watch(client) -> None:
        nonlocal disconnects
        await client.closed
        if not stopping:
            disconnects += 1

    stopping = False
    sockets, failures = [], 0
    gate = asyncio.Semaphore(pace_connects)

    async def connect(index: int):
        nonlocal failures
        async with gate:
            try:
                client = await ws_connect(
                    url, origin=ORIGIN, on_message=on_message_of(index), clock=time.monotonic
                )
            except Exception:
                failures += 1
                return None
            return index, client

    watchers = []  # kept: the loop holds tasks only weakly
    opened_indexes = []
    for opened in await asyncio.gather(*(connect(i) for i in range(count))):
        if opened:
            opened_indexes.append(opened[0])
            sockets.append(opened[1])
            watchers.append(loop.create_task(watch(opened[1])))
    connection.send(("ready", len(sockets), failures))

    # Event-loop lag: how late a 20 ms timer fires while the fleet is reading.
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            start = loop.time()
            await asyncio.sleep(0.02)
            lags.append((loop.time() - start - 0.02) * 1000)

    tick = loop.create_task(ticker())
    cpu0, wall0 = time.process_time(), time.monotonic()
    while True:  # ("count",): how many events arrived so far; ("stop", sent): the end
        command = await loop.run_in_executor(None, connection.recv)
        if command[0] != "count":
            break
        connection.send(sum(len(arrivals[index]) for index in opened_indexes))
    _, sent = command
    cpu_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    stopping = True
    tick.cancel()
    await asyncio.gather(*(client.close() for client in sockets), return_exceptions=True)

    latencies, starts, ids = array.array("d"), array.array("d"), array.array("q")
    missed = unexpected = missing_clients = duplicates = 0
    for index in opened_indexes:
        mine: dict[int, float] = {}
        for now, payload in arrivals[index]:
            key = json.loads(payload)["comment"]["id"]
            if key in mine:
                duplicates += 1
            else:
                mine[key] = now
        arrivals[index] = []
        absent = len(sent.keys() - mine.keys())
        missed += absent
        missing_clients += bool(absent)
        for key, at in mine.items():
            start = sent.get(key)
            if start is None:
                unexpected += 1
                continue
            if start != start:  # NaN: stored, but its POST was never answered
                continue
            latencies.append((at - start) * 1000)
            starts.append(start)
            ids.append(key)
    connection.send(
        (
            latencies.tobytes(),
            starts.tobytes(),
            ids.tobytes(),
            missed,
            duplicates,
            missing_clients,
            unexpected,
            failures,
            disconnects,
            cpu_share,
            percentile(lags, 99) if lags else 0.0,
        )
    )


class Fleet:
    """``count`` WebSocket clients on ``url`` spread over ``processes`` child processes.
    Each message must be ``{"comment": {"id": …}, …}``; the id is what is counted."""

    def __init__(self, url: str, count: int, *, processes: int = 2) -> None:
        self.url, self.count, self.processes = url, count, processes
        self.children: list = []

    def start(self) -> Fleet:
        """Start the clients' processes without waiting for them to connect (``with``
        waits): two fleets started one after the other connect at the same time."""
        if self.children:
            return self
        context = multiprocessing.get_context("spawn")
        self.children = []
        share, rest = divmod(self.count, self.processes)
        for index in range(self.processes):
            parent, child = context.Pipe()
            size = share + (1 if index < rest else 0)
            process = context.Process(target=_fleet_main, args=(child, self.url, size, 25))
            process.start()
            self.children.append((process, parent))
        return self

    def __enter__(self) -> Fleet:
        self.start()
        self.connected = self.connect_failures = 0
        for _, parent in self.children:
            _, opened, failed = parent.recv()
            self.connected += opened
            self.connect_failures += failed
        return self

    def received(self) -> int:
        """Events received so far, summed over the clients (each id counted once a client)."""
        for _, parent in self.children:
            parent.send(("count",))
        return sum(parent.recv() for _, parent in self.children)

    def finish(self, sent: dict[int, float], window_s: float = 10.0) -> FleetResult:
        """Stop reading; ``sent`` maps every id the clients should have had to the moment its
        publication started. Latencies are also grouped by ``window_s`` of publication time,
        so the spread over windows says how steady the run was."""
        for _, parent in self.children:
            parent.send(("stop", sent))
        parts = [parent.recv() for _, parent in self.children]
        latencies, starts, ids = array.array("d"), array.array("d"), array.array("q")
        for part in parts:
            latencies.frombytes(part[0])
            starts.frombytes(part[1])
            ids.frombytes(part[2])
        first = min(sent.values(), default=0.0)
        by_window: dict[int, list[float]] = {}
        for ms, start in zip(latencies, starts, strict=True):
            by_window.setdefault(int((start - first) // window_s), []).append(ms)
        windows = [percentile(by_window[w], 99) for w in sorted(by_window)]
        return FleetResult(
            latencies_ms=list(latencies),
            event_ids=list(ids),
            window_p99_ms=windows,
            missed=sum(p[3] for p in parts),
            duplicates=sum(p[4] for p in parts),
            clients_missing_any=sum(p[5] for p in parts),
            unexpected=sum(p[6] for p in parts),
            connect_failures=sum(p[7] for p in parts),
            disconnects=sum(p[8] for p in parts),
            client_cpu_share=sum(p[9] for p in parts),
            loop_lag_p99_ms=max(p[10] for p in parts),
        )

    def __exit__(self, *exc: object) -> None:
        for process, _ in self.children:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


# --- Paced posting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """One POST: when it was due, when it went out, when its answer came (monotonic
    seconds); ``status`` 0 is a connection error or a 30 s timeout, -1 "never sent" (the
    client gave up on requests still queued ``grace`` seconds after the phase ended)."""

    due: float
    started: float
    finished: float
    status: int
    body: bytes

    @property
    def latency_ms(self) -> float:
        # From when it was due, not when it went out: a server that falls behind makes the
        # client queue, and that wait is the server's (no coordinated omission).
        return (self.finished - self.due) * 1000


async def paced_posts(
    url: str,
    path: str,
    *,
    rate: float,
    seconds: float,
    payload: Callable[[int], dict],
    connections: int,
    grace: float = 5.0,
) -> list[Posted]:
    """POST ``payload(i)`` at ``rate`` a second for ``seconds`` (open loop: requests go out on
    schedule whether or not earlier ones were answered), over ``connections`` keep-alive
    connections; a request still waiting for a connection ``grace`` seconds after the phase
    is not sent (status -1)."""
    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(HttpConnection(url))
    results: list[Posted] = []
    start = time.monotonic() + 0.2
    give_up = start + seconds + grace

    async def one(index: int, due: float) -> None:
        connection = await pool.get()
        began = time.monotonic()
        try:
            if began > give_up:
                results.append(Posted(due, began, began, -1, b""))
                return
            try:
                status, body = await asyncio.wait_for(
                    connection.request("POST", path, payload(index)), 30
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                await connection.close()
                status, body = 0, b""
            results.append(Posted(due, began, time.monotonic(), status, body))
        finally:
            pool.put_nowait(connection)

    tasks = []
    index = 0
    while (due := start + index / rate) < start + seconds:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
        index += 1
    await asyncio.gather(*tasks)
    while not pool.empty():
        await pool.get_nowait().close()
    return results
