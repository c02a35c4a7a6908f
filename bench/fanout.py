"""Fan-out latency of a comment: from the start of the POST to its receipt by N WebSocket
clients, beside the floor (the same uvicorn serving a bare ASGI app that writes the POST body to
every socket: no Django, no database, no channel layer), and comments stored per second.

    .venv/bin/python bench/fanout.py                      # in-memory layer, 1 worker, N=10,100
    .venv/bin/python bench/fanout.py --clients 10 100 1000 --events 20
    .venv/bin/python bench/fanout.py --redis redis://127.0.0.1:6379/5 --workers 2

The database is a temporary SpatiaLite file unless ``--database-url`` is given. Prints p50, p95,
p99 and max in milliseconds and how many deliveries were missed. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_server import free_port, manage, server_env  # noqa: E402

CREATE = (
    "from engage.services import discussion_create;"
    "print(discussion_create(title='bench', is_published=True).pk)"
)


def post(url: str, data: dict) -> int:
    request = urllib.request.Request(  # noqa: S310 - local server
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "no deliveries"
    samples = sorted(samples)

    def pick(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))] * 1000

    return (
        f"p50 {pick(0.50):7.1f}  p95 {pick(0.95):7.1f}  p99 {pick(0.99):7.1f}  "
        f"max {samples[-1] * 1000:7.1f} ms"
    )


async def fan_out(ws_url: str, post_url: str, clients: int, events: int, pace: float) -> tuple:
    sockets = []
    for _ in range(clients):
        sockets.append(
            await websockets.connect(
                ws_url, origin="http://127.0.0.1", max_queue=None, open_timeout=60
            )
        )
    started: dict[str, float] = {}
    latencies: list[float] = []

    async def reader(socket) -> None:
        try:
            async for text in socket:
                event = json.loads(text)
                marker = event.get("comment", {}).get("body", "")
                if marker in started:
                    latencies.append(time.perf_counter() - started[marker])
        except websockets.exceptions.ConnectionClosed:
            pass

    readers = [asyncio.create_task(reader(s)) for s in sockets]
    await asyncio.sleep(0.5)
    for index in range(events):
        marker = f"bench event {index}"
        started[marker] = time.perf_counter()
        await asyncio.to_thread(post, post_url, {"body": marker, "display_name": "bench"})
        await asyncio.sleep(pace)
    await asyncio.sleep(2.0)
    for socket in sockets:
        await socket.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return latencies, clients * events - len(latencies)


def posting_rate(post_url: str, total: int, in_flight: int) -> float:
    async def run() -> float:
        semaphore = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with semaphore:
                await asyncio.to_thread(post, post_url, {"body": f"rate {i}", "display_name": "b"})

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        return total / (time.perf_counter() - start)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.1, help="seconds between POSTs")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis", default="", help="REDIS_URL for the channel layer")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--posts", type=int, default=200, help="POSTs for the comments/s figure")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="fanout-"))
    env = server_env(
        DATABASE_URL=args.database_url or f"spatialite:///{folder}/db.sqlite3",
        REDIS_URL=args.redis,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="tests.engage.live_settings",
    )
    manage("migrate", "--no-input", env=env)
    out = subprocess_output(env)
    discussion = int(out.strip().splitlines()[-1])
    layer = "Redis pub/sub" if args.redis else "in-memory"
    print(f"fan-out, {layer} layer, {args.workers} worker(s), {args.events} events per run")

    with (
        uvicorn_server("bench.floor_app:app", env) as floor_url,
        uvicorn_server("config.asgi:application", env, workers=args.workers) as server_url,
    ):
        ws_url = server_url.replace("http", "ws", 1)
        for clients in args.clients:
            latencies, missed = asyncio.run(
                fan_out(
                    floor_url.replace("http", "ws", 1) + "/ws",
                    floor_url + "/post",
                    clients,
                    args.events,
                    args.pace,
                )
            )
            print(f"  N={clients:5d} floor (bare ASGI)  {percentiles(latencies)}  missed {missed}")
            latencies, missed = asyncio.run(
                fan_out(
                    f"{ws_url}/ws/discussions/{discussion}/",
                    f"{server_url}/api/engage/discussions/{discussion}/comments/",
                    clients,
                    args.events,
                    args.pace,
                )
            )
            print(f"  N={clients:5d} engage            {percentiles(latencies)}  missed {missed}")
        rate = posting_rate(
            f"{server_url}/api/engage/discussions/{discussion}/comments/", args.posts, 16
        )
        print(f"  comments stored per second (16 in flight, no live clients): {rate:.0f}")


def subprocess_output(env: dict) -> str:
    import subprocess

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


class uvicorn_server:  # noqa: N801 - a context manager
    """uvicorn on a free port, logging only warnings (tests.live_server pipes its output, which
    blocks the server once 1000 "connection open" lines fill the pipe)."""

    def __init__(self, app: str, env: dict, workers: int = 1) -> None:
        self.app, self.env, self.workers = app, env, workers

    def __enter__(self) -> str:
        import subprocess

        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--ws-max-size",
                "65536",
                "--no-access-log",
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
        )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)  # noqa: S310
                return url
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.app} did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


if __name__ == "__main__":
    main()
