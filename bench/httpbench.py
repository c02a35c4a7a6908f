"""What the HTTP rows share: uvicorn servers started the way ``make serve`` starts ours, and
one sequential keep-alive client (``http.client``) used for ours and for the floor alike."""

from __future__ import annotations

import contextlib
import http.client
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchEnv, Row, percentile, ratio_row, spread_of

ROOT = Path(__file__).resolve().parents[1]
# The flags of the Makefile's ``serve`` target, one worker; access logs off for both apps.
UVICORN_FLAGS = (
    "--workers", "1", "--ws-max-size", "65536", "--ws-per-message-deflate", "false",
    "--lifespan", "off", "--proxy-headers",
    "--no-server-header", "--no-access-log",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen

    def client(self) -> Client:
        return Client(self.port)


class Client:
    """Sequential requests on one keep-alive connection; the body is read in full."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        try:
            self.connection.request("GET", path, headers=headers or {})
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # uvicorn closes a connection idle for 5 s (while another server was measured):
            # open a new one, as a browser would.
            self.connection.close()
            self.connection.request("GET", path, headers=headers or {})
            response = self.connection.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), body

    def timed(self, paths: Sequence[str], samples: int) -> list[float]:
        """``samples`` requests cycling over ``paths``: milliseconds from send to last byte."""
        times = []
        for index in range(samples):
            path = paths[index % len(paths)]
            start = time.perf_counter()
            status, _, _ = self.get(path)
            times.append((time.perf_counter() - start) * 1000)
            if status not in (200, 204):
                raise RuntimeError(f"{path}: HTTP {status}")
        return times

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def uvicorn(name: str, app: str, env: BenchEnv, **extra_env: str) -> Iterator[Server]:
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name.replace(' ', '-')}-", suffix=".log")
    process = subprocess.Popen(
        [env.python, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
        + list(UVICORN_FLAGS),
        cwd=ROOT,
        env={**env.environ, **extra_env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {Path(log.name).read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen in time")
            time.sleep(0.2)
        yield Server(name, port, process)
    except Exception:
        print(f"{name} server log (last lines):\n{Path(log.name).read_text()[-3000:]}")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


CHUNKS = 5


def _rotated(paths: Sequence[str], start: int) -> list[str]:
    start %= len(paths)
    return [*paths[start:], *paths[:start]]


def compare(
    *,
    name: str,
    env: BenchEnv,
    ours: tuple[Client, Sequence[str]],
    floor: tuple[Client, Sequence[str]],
    floor_name: str,
    samples: int,
    repetitions: int,
    bound: float | None,
    warmup: int = 3,
    notes: str = "",
) -> Row:
    """p50 of ours beside p50 of the floor; the spread is ours' p50 per repetition.

    Within a repetition the two take turns in runs of ``samples // CHUNKS`` requests (at
    least one), so that a burst of load elsewhere on the machine, which can last a whole
    repetition of quick requests, falls on both alike: a GeoJSON row whose repetitions ran
    ours then the floor whole moved from 0.83x to 1.33x between two runs of the same code."""
    ours_all, floor_all, ours_p50s, floor_p50s = [], [], [], []
    for client, paths in (ours, floor):
        client.timed(paths, warmup)
    run = max(1, samples // CHUNKS)
    for _ in range(repetitions):
        mine: list[float] = []
        theirs: list[float] = []
        while len(mine) < samples:
            count = min(run, samples - len(mine))
            # Each run starts where the last one left off, so every path is asked in turn.
            mine += ours[0].timed(_rotated(ours[1], len(mine)), count)
            theirs += floor[0].timed(_rotated(floor[1], len(theirs)), count)
        ours_all += mine
        floor_all += theirs
        ours_p50s.append(statistics.median(mine))
        floor_p50s.append(statistics.median(theirs))
    spread = (
        f"{spread_of(ours_p50s, 'ms')}; floor {min(floor_p50s):.3g}–{max(floor_p50s):.3g} ms; "
        f"our p95 {percentile(ours_all, 95):.3g} ms"
    )
    return ratio_row(
        name=name,
        env=env,
        value=statistics.median(ours_all),
        unit="ms",
        reference=floor_name,
        reference_value=statistics.median(floor_all),
        bound=bound,
        samples=len(ours_all),
        spread=spread,
        notes=notes,
    )
