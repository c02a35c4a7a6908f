"""Comments posted over HTTP to the real API at 200 a second for 60 s while 100 live clients
watch the discussion: throughput, POST latency (p99), and whether every acknowledged comment
was stored (read back from the database) and delivered to every live client; beside the floor
(``floor_app.py``: a minimal Django view that inserts one row and publishes on commit, with a
minimal consumer) under the same load, measured in the same run.

PostGIS: both on 2 uvicorn workers with a private Redis (``RedisPubSubChannelLayer``).
SpatiaLite: 1 worker each and the in-memory channel layer; SQLite takes one writer at a time.

    .venv/bin/python bench/posting.py --backend postgis \\
        --database-url postgis://postgres@127.0.0.1:5432/civicmap_load [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
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
    Posted,
    Uvicorn,
    create_discussions,
    paced_posts,
    phase_lengths,
    private_redis,
    server_environ,
    stored_comment_ids_of,
    summarise_errors,
)

RATE = 200.0  # comments a second, offered on schedule (open loop)
LIVE_CLIENTS = 100
CONNECTIONS = 64  # keep-alive HTTP connections of the load generator
# After each window, how long its live deliveries may still take before the next window
# starts: a server that answers POSTs and delivers their events later (Channels queues them
# per socket) would otherwise do that work in the other server's window.
DRAIN_LIMIT = 20.0


@dataclass
class Side:
    """One server's share of the run."""

    name: str
    url: str
    path: str
    discussion: int
    posted: list[Posted] = dataclasses.field(default_factory=list)
    windows: list[tuple[float, float, int]] = dataclasses.field(default_factory=list)
    fleet: FleetResult | None = None
    errors: list[str] = dataclasses.field(default_factory=list)
    warm_up_ids: set[int] = dataclasses.field(default_factory=set)
    not_stored: int = 0
    stored_not_acknowledged: int = 0
    live: Fleet | None = None  # its clients, while the run lasts
    drained_s: list[float] = dataclasses.field(default_factory=list)

    @property
    def acknowledged(self) -> list[Posted]:
        return [p for p in self.posted if p.status == 201]

    def rate(self) -> float:
        """Acknowledged comments over the time from each window's start to its last answer."""
        busy = sum(end - start for start, end, _ in self.windows)
        return len(self.acknowledged) / busy if busy else 0.0

    def window_rates(self) -> list[float]:
        return [count / (end - start) for start, end, count in self.windows if end > start]

    def p99(self) -> float:
        return percentile([p.latency_ms for p in self.posted if p.status != -1], 99)


def run(env: BenchEnv, *, rate: float = RATE, clients: int = LIVE_CLIENTS) -> list[Row]:
    # A server that cannot keep up holds a backlog at each window's end, and the window waits
    # for it (the next must not share the machine with it): two windows of 30 s a side wait
    # twice, where six of 10 s waited six times (about 40 s of make bench).
    seconds, window = phase_lengths(env, postgis_window=30.0)
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(private_redis()) if env.backend == "postgis" else None
        environ = server_environ(env, redis_url)
        workers = 2 if redis_url else 1
        ours_server = Uvicorn("config.asgi:application", environ, workers=workers)
        floor_server = Uvicorn("bench.floor_app:application", environ, workers=workers)
        # Both start while the discussions are made; each is waited for below.
        for starting in (ours_server, floor_server):
            starting.start()
            stack.callback(starting.__exit__)  # stopped however this ends
        ours_discussion, floor_discussion = create_discussions(environ, 2)
        server = stack.enter_context(ours_server)
        floor_server = stack.enter_context(floor_server)
        ours = Side(
            "ours",
            server.url,
            f"/api/engage/discussions/{ours_discussion}/comments/",
            ours_discussion,
        )
        floor = Side("floor", floor_server.url, f"/post/{floor_discussion}/", floor_discussion)
        ours_fleet = Fleet(f"{server.ws_url}/ws/discussions/{ours_discussion}/", clients)
        floor_fleet = Fleet(f"{floor_server.ws_url}/ws/{floor_discussion}/", clients).start()
        ours.live = ours_fleet = stack.enter_context(ours_fleet)
        floor.live = floor_fleet = stack.enter_context(floor_fleet)
        asyncio.run(_alternate(ours, floor, rate=rate, seconds=seconds, window=window))
        time.sleep(1)  # the last window waited for its deliveries; a moment for stragglers
        stored_of = stored_comment_ids_of(environ, [ours.discussion, floor.discussion])
        for side, fleet, process in (
            (ours, ours_fleet, server),
            (floor, floor_fleet, floor_server),
        ):
            acknowledged = {json.loads(p.body)["id"]: p.started for p in side.acknowledged}
            side.fleet = fleet.finish(acknowledged, window_s=2 * window)
            side.fleet.connect_failures += clients - fleet.connected - fleet.connect_failures
            stored = stored_of[side.discussion]
            side.not_stored = len(acknowledged.keys() - stored)
            side.stored_not_acknowledged = len(stored - acknowledged.keys() - side.warm_up_ids)
            side.errors += [f"POST answered {p.status}" for p in side.posted if p.status != 201]
            side.errors += process.errors()
    return rows(env, ours, floor, rate=rate, clients=clients, seconds=seconds, workers=workers)


async def _alternate(
    ours: Side, floor: Side, *, rate: float, seconds: float, window: float
) -> None:
    """Windows alternate between the two servers, so the noise of a shared machine falls on
    both alike; a short warm-up on each first (pooled connections, caches), not counted."""

    async def burst(side: Side, label: str, length: float) -> list[Posted]:
        return await paced_posts(
            side.url,
            side.path,
            rate=rate,
            seconds=length,
            payload=lambda i: {"body": f"posting {label} {i}", "display_name": "bench"},
            connections=CONNECTIONS,
            # A server that fell behind has most of the window's POSTs still queued at the
            # client: 2 s to start them, then the window ends (those not sent count against
            # the throughput goal, as "never sent").
            grace=2.0,
        )

    for side in (ours, floor):
        warm = await burst(side, "warm-up", 0.5)
        side.warm_up_ids = {json.loads(p.body)["id"] for p in warm if p.status == 201}
    done = 0.0
    while done < seconds:
        length = min(window, seconds - done)
        for side in (ours, floor):
            start = time.monotonic()
            posted = await burst(side, "event", length)
            end = max((p.finished for p in posted), default=start)
            side.windows.append((start, end, sum(p.status == 201 for p in posted)))
            side.posted += posted
            side.drained_s.append(await asyncio.to_thread(_wait_for_deliveries, side))
        done += length


def _wait_for_deliveries(side: Side) -> float:
    """Wait until every client of ``side`` has had each comment acknowledged so far (up to
    ``DRAIN_LIMIT``); the seconds waited. Not counted in the window's rate."""
    assert side.live is not None
    expected = (len(side.acknowledged) + len(side.warm_up_ids)) * side.live.connected
    started = time.monotonic()
    while side.live.received() < expected and time.monotonic() - started < DRAIN_LIMIT:
        time.sleep(0.1)
    return time.monotonic() - started


def rows(
    env: BenchEnv,
    ours: Side,
    floor: Side,
    *,
    rate: float,
    clients: int,
    seconds: float,
    workers: int,
) -> list[Row]:
    layer = "Redis pub/sub" if env.backend == "postgis" else "in-memory layer"
    shape = f"{rate:g}/s offered for {seconds:g} s, {clients} live clients"
    offered = len(ours.posted)

    def describe(side: Side) -> str:
        fleet = side.fleet
        assert fleet is not None
        lat = [p.latency_ms for p in side.posted if p.status != -1]
        live = fleet.latencies_ms
        return (
            f"{side.name}: {len(side.acknowledged)} of {len(side.posted)} acknowledged, "
            f"{side.rate():.0f}/s; POST p50 {percentile(lat, 50):.0f}, p99 "
            f"{percentile(lat, 99):.0f}, max {max(lat, default=0):.0f} ms; live delivery p50 "
            f"{percentile(live, 50):.0f}, p99 {percentile(live, 99):.0f} ms, missed "
            f"{fleet.missed}, duplicates {fleet.duplicates}, dropped sockets "
            f"{fleet.disconnects}; acknowledged not stored {side.not_stored}; errors "
            f"{summarise_errors(side.errors)}; clients used {fleet.client_cpu_share:.0%} of a core"
            f"; waited after its windows for the live deliveries: "
            f"{', '.join(f'{s:.1f}' for s in side.drained_s)} s"
        )

    notes = (
        f"{workers} worker(s) each, {layer}, {CONNECTIONS} keep-alive connections, latency "
        f"from when each POST was due. {describe(ours)}. {describe(floor)}. Windows alternate "
        "between ours and the floor, each starting once the last one's live deliveries are done "
        f"(at most {DRAIN_LIMIT:g} s); load generator and clients share the 2 cores."
    )
    spread = (
        f"per window: ours {_range(ours.window_rates(), '/s')}, "
        f"floor {_range(floor.window_rates(), '/s')}"
    )
    throughput = ratio_row(
        name=f"comments posted, {shape}",
        env=env,
        value=ours.rate(),
        unit="comments/s",
        reference="minimal insert + publish view",
        reference_value=floor.rate(),
        bound=None,
        samples=offered,
        spread=spread,
        higher_is_better=True,
        notes=notes,
    )
    all_answered = len(ours.acknowledged) == offered
    if env.backend == "postgis":  # reported on SpatiaLite (harness.postgis_goal)
        throughput = dataclasses.replace(
            throughput,
            goal=f"≥ {rate:g}/s sustained: all {offered} acknowledged at ≥ {0.98 * rate:g}/s",
            met=all_answered and ours.rate() >= 0.98 * rate,
        )
    latency = ratio_row(
        name=f"comment POST p99, {shape}",
        env=env,
        value=ours.p99(),
        unit="ms",
        reference="minimal insert + publish view",
        reference_value=floor.p99(),
        bound=None,
        samples=offered,
        spread=f"p99 per window: ours {_range(_window_p99(ours), ' ms')}, "
        f"floor {_range(_window_p99(floor), ' ms')}",
    )
    if env.backend == "postgis":
        latency = dataclasses.replace(latency, goal="≤ 250 ms", met=ours.p99() <= 250)
    assert ours.fleet is not None and floor.fleet is not None
    # Only what was acknowledged can be lost; POSTs never answered or never sent (the server
    # fell behind) show in the throughput row, whose goal they fail.
    lost = ours.not_stored + ours.fleet.missed + ours.fleet.duplicates + ours.fleet.connect_failures
    floor_lost = floor.not_stored + floor.fleet.missed + floor.fleet.duplicates
    integrity = zero_goal_row(
        name=f"comments acknowledged but not stored or not delivered live, {shape}",
        env=env,
        value=lost,
        unit="comments or deliveries",
        reference="minimal insert + publish view",
        reference_value=floor_lost,
        goal="0",
        samples=len(ours.acknowledged) * clients,
        spread=f"clients missing any: ours {ours.fleet.clients_missing_any}, "
        f"floor {floor.fleet.clients_missing_any}",
        notes=f"stored checked against the database; {len(ours.acknowledged)} acknowledged of "
        f"{offered} offered; stored but never acknowledged: ours {ours.stored_not_acknowledged}",
    )
    return [throughput, latency, integrity]


def _window_p99(side: Side) -> list[float]:
    values = []
    for start, end, _ in side.windows:
        inside = [p.latency_ms for p in side.posted if start <= p.due <= end and p.status != -1]
        if inside:
            values.append(percentile(inside, 99))
    return values


def _range(values: list[float], unit: str) -> str:
    return f"{min(values):.0f}–{max(values):.0f}{unit}" if values else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgis", "spatialite"], default="postgis")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--clients", type=int, default=LIVE_CLIENTS)
    args = parser.parse_args()
    env = BenchEnv(
        backend=args.backend,
        database_url=args.database_url,
        redis_url=None,
        python=sys.executable,
        quick=args.quick,
    )
    for row in run(env, rate=args.rate, clients=args.clients):
        print(json.dumps(row.__dict__, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
