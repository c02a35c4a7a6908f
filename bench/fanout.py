"""One event to 1000 live WebSocket clients, 10 events a second for 60 s: delivery latency
(from the start of the comment POST to receipt by each client), misses and duplicates per
client, beside the floor (a bare ``websockets`` broadcast server, ``floor_ws.py``, sending an
event of the same size to the same 1000 clients at the same rate), measured in the same run.
A reported row splits each latency at the event's first client (``breadth_row``).

PostGIS: our server on 2 uvicorn workers with a private Redis (``RedisPubSubChannelLayer``).
SpatiaLite: 1 worker and the in-memory channel layer (which cannot cross processes).

    .venv/bin/python bench/fanout.py --backend postgis \\
        --database-url postgis://postgres@127.0.0.1:5432/civicmap_load [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import BenchEnv, Row, percentile, ratio_row, zero_goal_row  # noqa: E402
from bench.live import (  # noqa: E402
    Fleet,
    FleetResult,
    Uvicorn,
    cpu_seconds,
    create_discussion,
    paced_posts,
    phase_lengths,
    private_redis,
    server_environ,
    summarise_errors,
)
from tests.live_server import free_port  # noqa: E402

CLIENTS = 1000
RATE = 10.0  # events a second


@dataclass
class Phase:
    fleet: FleetResult
    errors: list[str]  # failed POSTs or publishes, and error lines in the server log
    events: int
    cpu_seconds: float  # of the server's processes over the run (ours: POSTs included)

    def cpu_us_per_delivery(self) -> float:
        delivered = len(self.fleet.latencies_ms)
        return self.cpu_seconds / delivered * 1e6 if delivered else float("inf")


def run(env: BenchEnv, *, clients: int = CLIENTS) -> list[Row]:
    seconds, window = phase_lengths(env, postgis_window=10.0)
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(private_redis()) if env.backend == "postgis" else None
        environ = server_environ(env, redis_url)
        workers = 2 if redis_url else 1
        # Our server starts while the discussion is made (measure waits for it).
        server = Uvicorn("config.asgi:application", environ, workers=workers).start()
        stack.callback(server.__exit__)  # stopped however this ends
        discussion = create_discussion(environ)
        ours, floor = measure(server, discussion, clients, seconds, window)
    return rows(env, ours, floor, clients=clients, seconds=seconds, window=window, workers=workers)


def measure(
    server: Uvicorn,
    discussion: int,
    clients: int,
    seconds: float,
    window: float,
) -> tuple[Phase, Phase]:
    """Both servers run side by side with their 1000 clients each connected throughout;
    windows of ``window`` seconds alternate between them (ours, floor, ours, …), so the
    noise of a shared machine falls on both alike rather than on whichever ran second."""
    floor_port = free_port()
    floor_process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "floor_ws.py"), "--port", str(floor_port)],
        cwd=ROOT,
    )
    try:
        _wait_for_port(floor_port)
        # The floor's clients connect while our server starts.
        floor_clients = Fleet(f"ws://127.0.0.1:{floor_port}/listen", clients).start()
        with (
            server,
            Fleet(f"{server.ws_url}/ws/discussions/{discussion}/", clients) as ours_fleet,
            floor_clients as floor_fleet,
        ):
            pids = server.worker_pids()
            ours_cpu = sum(cpu_seconds(pid) for pid in pids)
            floor_cpu = cpu_seconds(floor_process.pid)
            ours_sent, floor_sent, failures = asyncio.run(
                _alternate(server.url, discussion, floor_port, seconds, window)
            )
            _settle([ours_fleet, floor_fleet])  # the last events' way to every client
            ours_cpu = sum(cpu_seconds(pid) for pid in pids) - ours_cpu
            floor_cpu = cpu_seconds(floor_process.pid) - floor_cpu
            ours = Phase(
                ours_fleet.finish(ours_sent, window_s=2 * window),
                failures["ours"] + server.errors(),
                len(ours_sent),
                ours_cpu,
            )
            floor = Phase(
                floor_fleet.finish(floor_sent, window_s=2 * window),
                failures["floor"],
                len(floor_sent),
                floor_cpu,
            )
            for phase, fleet in ((ours, ours_fleet), (floor, floor_fleet)):
                phase.fleet.connect_failures += clients - fleet.connected - fleet.connect_failures
    finally:
        floor_process.terminate()
        floor_process.wait(timeout=10)
    return ours, floor


async def _alternate(
    url: str, discussion: int, floor_port: int, seconds: float, window: float
) -> tuple[dict[int, float], dict[int, float], dict[str, list[str]]]:
    import websockets

    path = f"/api/engage/discussions/{discussion}/comments/"
    ours_sent: dict[int, float] = {}
    floor_sent: dict[int, float] = {}
    failures: dict[str, list[str]] = {"ours": [], "floor": []}
    sample: dict = {}

    async def ours_window(label: str, length: float, record: bool) -> None:
        posted = await paced_posts(
            url,
            path,
            rate=RATE,
            seconds=length,
            payload=lambda i: {"body": f"fan-out {label} {i}", "display_name": "bench"},
            connections=16,
        )
        for post in posted:
            if post.status != 201:
                failures["ours"].append(f"POST answered {post.status}")
            elif record:
                comment = json.loads(post.body)
                ours_sent[comment["id"]] = post.started
                sample.update(comment)

    # Warm-up (not counted): pooled database connections, caches, a sample event whose size
    # the floor's events copy.
    await ours_window("warm-up", 2.0, record=False)
    posted = await paced_posts(
        url, path, rate=RATE, seconds=0.1, payload=lambda i: {"body": "x", "display_name": "b"},
        connections=1,
    )  # fmt: skip
    sample.update(json.loads(posted[0].body))
    sample.pop("edit_token", None)
    event = {"type": "comment.created", "discussion": discussion, "comment": sample}

    async with websockets.connect(
        f"ws://127.0.0.1:{floor_port}/publish", max_size=65536, ping_interval=None
    ) as publisher:
        next_id = 0

        async def floor_window(length: float, record: bool) -> None:
            nonlocal next_id
            start = time.monotonic()
            index = 0
            while (due := start + index / RATE) < start + length:
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_id += 1
                key = next_id if record else -next_id  # warm-up ids are not counted
                text = json.dumps(
                    {**event, "comment": {**sample, "id": key}}, separators=(",", ":")
                )
                began = time.monotonic()
                try:
                    await publisher.send(text)
                except websockets.ConnectionClosed:
                    failures["floor"].append("publisher connection closed")
                    return
                if record:
                    floor_sent[key] = began
                index += 1

        await floor_window(2.0, record=False)
        done = 0.0
        while done < seconds:
            length = min(window, seconds - done)
            await ours_window("event", length, record=True)
            await floor_window(length, record=True)
            done += length
    return ours_sent, floor_sent, failures


def _settle(fleets: list[Fleet], *, quiet: float = 0.5, limit: float = 3.0) -> None:
    """Wait until the clients have received nothing new for ``quiet`` seconds (the last
    events have arrived: events are 0.1 s apart and p99 is tens of ms), at most ``limit``."""
    started = last_change = time.monotonic()
    counts = [fleet.received() for fleet in fleets]
    while time.monotonic() - last_change < quiet and time.monotonic() - started < limit:
        time.sleep(0.1)
        now = [fleet.received() for fleet in fleets]
        if now != counts:
            counts, last_change = now, time.monotonic()


def _wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("floor_ws did not start") from None
            time.sleep(0.1)


def rows(
    env: BenchEnv,
    ours: Phase,
    floor: Phase,
    *,
    clients: int,
    seconds: float,
    window: float,
    workers: int,
) -> list[Row]:
    layer = "Redis pub/sub" if env.backend == "postgis" else "in-memory layer"
    ours_p99 = percentile(ours.fleet.latencies_ms, 99)
    floor_p99 = percentile(floor.fleet.latencies_ms, 99)

    def describe(label: str, fleet: FleetResult) -> str:
        lat = fleet.latencies_ms
        return (
            f"{label}: p50 {percentile(lat, 50):.0f}, p95 {percentile(lat, 95):.0f}, "
            f"p99 {percentile(lat, 99):.0f}, max {max(lat, default=0):.0f} ms, "
            f"missed {fleet.missed}, duplicates {fleet.duplicates}, "
            f"dropped sockets {fleet.disconnects}, failed connects {fleet.connect_failures}; "
            f"clients used {fleet.client_cpu_share:.0%} of a core, "
            f"their loop lag p99 {fleet.loop_lag_p99_ms:.0f} ms"
        )

    def windows(fleet: FleetResult) -> str:
        values = fleet.window_p99_ms
        return f"{min(values):.0f}–{max(values):.0f} ms" if values else "none"

    shape = f"{clients} clients, {RATE:g} events/s, {seconds:g} s"
    notes = (
        f"{workers} worker(s), {layer}. {describe('ours', ours.fleet)}. "
        f"{describe('floor', floor.fleet)}. Errors: ours {summarise_errors(ours.errors)}, floor "
        f"{summarise_errors(floor.errors)}. Windows of {window:g} s alternate between ours and the "
        "floor. The clients (2 processes each) share the 2 cores with the servers; their cost "
        "is the same for both."
    )
    latency = ratio_row(
        name=f"fan-out p99, {shape}",
        env=env,
        value=ours_p99,
        unit="ms",
        reference="bare websockets broadcast",
        reference_value=floor_p99,
        bound=2 if env.backend == "postgis" else None,
        samples=len(ours.fleet.latencies_ms),
        spread=f"p99 per 10 s window: ours {windows(ours.fleet)}, floor {windows(floor.fleet)}",
        notes=notes,
    )
    # Failed POSTs are not events; they are listed in the latency row's notes.
    lost = ours.fleet.missed + ours.fleet.duplicates + ours.fleet.connect_failures
    floor_lost = floor.fleet.missed + floor.fleet.duplicates + floor.fleet.connect_failures
    delivery = zero_goal_row(
        name=f"fan-out missed + duplicated deliveries, {shape}",
        env=env,
        value=lost,
        unit="deliveries",
        reference="bare websockets broadcast",
        reference_value=floor_lost,
        goal="0 per client",
        samples=clients,
        spread=f"clients missing any event: ours {ours.fleet.clients_missing_any}, "
        f"floor {floor.fleet.clients_missing_any}",
        notes=f"expected {clients} × {ours.events} deliveries (floor {clients} × {floor.events});"
        " failed connects count as lost",
    )
    cpu = ratio_row(
        name=f"fan-out server CPU per delivered event, {shape}",
        env=env,
        value=ours.cpu_us_per_delivery(),
        unit="µs",
        reference="bare websockets broadcast",
        reference_value=floor.cpu_us_per_delivery(),
        bound=None,
        samples=len(ours.fleet.latencies_ms),
        spread=f"server CPU over the run: ours {ours.cpu_seconds:.1f} s, "
        f"floor {floor.cpu_seconds:.1f} s",
        notes="CPU time of the server processes (user + system) over the whole run divided by "
        "the deliveries; ours includes handling the POSTs and writing the rows. Less "
        "sensitive than latency to the other load on a shared machine.",
    )
    return [latency, breadth_row(env, ours, floor, shape=shape, workers=workers), delivery, cpu]


def breadth_row(env: BenchEnv, ours: Phase, floor: Phase, *, shape: str, workers: int) -> Row:
    """The latency above in two parts: each event's wait for its first client, and each
    receipt's lag behind that first client. The second is the fan-out proper, the same work
    on both sides; the first holds what differs (ours: the comment POST up to its publish,
    Redis, a worker's wake; the floor: its publisher's send and the server's wake)."""
    ours_first, ours_lag = ours.fleet.split_at_first_client()
    floor_first, floor_lag = floor.fleet.split_at_first_client()

    def first(label: str, waits: list[float], start: str) -> str:
        return (
            f"{label}: p50 {percentile(waits, 50):.1f}, p99 {percentile(waits, 99):.1f} ms "
            f"from {start}"
        )

    floor_start = "its publisher's send"
    return ratio_row(
        name=f"fan-out p99 behind each event's first client, {shape}",
        env=env,
        value=percentile(ours_lag, 99),
        unit="ms",
        reference="bare websockets broadcast",
        reference_value=percentile(floor_lag, 99),
        bound=None,
        samples=len(ours_lag),
        spread=f"p50: ours {percentile(ours_lag, 50):.1f} ms, floor "
        f"{percentile(floor_lag, 50):.1f} ms",
        notes=(
            "The fan-out row above, from the first client's receipt of each event on: the "
            f"writes to every socket ({workers} worker(s) of ours; one process for the floor) "
            "and the clients' turn to read. Each event's wait for its first client, "
            f"{first('ours', ours_first, 'the start of its comment POST')}; "
            f"{first('floor', floor_first, floor_start)}. Reported, no goal: the "
            "issue's goal is on the row above."
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgis", "spatialite"], default="postgis")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    args = parser.parse_args()
    env = BenchEnv(
        backend=args.backend,
        database_url=args.database_url,
        redis_url=None,
        python=sys.executable,
        quick=args.quick,
    )
    for row in run(env, clients=args.clients):
        print(json.dumps(row.__dict__, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
