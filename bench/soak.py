"""The load test (``make soak``): 1000 WebSocket clients on one discussion and a steady
posting rate for 5 minutes, our server on 2 uvicorn workers with PostGIS and a private Redis.

It passes when there were no errors (every POST answered 201, no server error logged, no
socket dropped or refused), nothing was lost (every client's received set equals the
comments stored in the database, each once) and worker memory stayed flat (resident memory in
the last minute within 5 % of the second minute). Prints the figures and writes
``bench/results/soak.json``; exit status 1 when it did not pass.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/civicmap_load make soak
    .venv/bin/python bench/soak.py --database-url … [--minutes 5] [--rate 10] [--clients 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import RESULTS, BenchEnv, percentile  # noqa: E402
from bench.live import (  # noqa: E402
    Fleet,
    Uvicorn,
    cpu_seconds,
    create_discussion,
    django_shell,
    paced_posts,
    private_redis,
    rss_mb,
    server_environ,
    stored_comment_ids,
    summarise_errors,
)

FLAT = 0.05  # allowed growth of a worker's resident memory from minute 2 to the last minute


class Sampler(threading.Thread):
    """Resident memory and CPU of each worker every ``every`` seconds."""

    def __init__(self, pids: list[int], every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, dict[int, float], dict[int, float]]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopping.is_set():
            try:
                memory = {pid: rss_mb(pid) for pid in self.pids}
                cpu = {pid: cpu_seconds(pid) for pid in self.pids}
            except OSError:  # a worker died: the report shows the gap
                memory, cpu = {}, {}
            self.samples.append((time.monotonic() - start, memory, cpu))
            self.stopping.wait(self.every)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def soak(env: BenchEnv, *, minutes: float, rate: float, clients: int, workers: int) -> dict:
    seconds = minutes * 60
    with private_redis() as redis_url:
        environ = server_environ(env, redis_url)
        django_shell(environ, "from django.core.management import call_command;"
                     "call_command('migrate', verbosity=0); print('ok')")  # fmt: skip
        discussion = create_discussion(environ)
        with (
            Uvicorn("config.asgi:application", environ, workers=workers) as server,
            Fleet(f"{server.ws_url}/ws/discussions/{discussion}/", clients) as fleet,
        ):
            sampler = Sampler(server.worker_pids())
            sampler.start()
            posted = asyncio.run(
                paced_posts(
                    server.url,
                    f"/api/engage/discussions/{discussion}/comments/",
                    rate=rate,
                    seconds=seconds,
                    payload=lambda i: {"body": f"soak {i}", "display_name": "soak"},
                    connections=16,
                )
            )
            time.sleep(5)  # the last events' way to every client
            sampler.stop()
            acknowledged = {json.loads(p.body)["id"]: p.started for p in posted if p.status == 201}
            stored = stored_comment_ids(environ, discussion)
            # Stored without an answer (a timed-out POST) must still reach every client.
            expected = {key: acknowledged.get(key, float("nan")) for key in stored}
            seen = fleet.finish(expected, window_s=60)
            seen.connect_failures += clients - fleet.connected - fleet.connect_failures
            server_errors = server.errors()
    errors = [f"POST answered {p.status}" for p in posted if p.status != 201] + server_errors
    post_ms = [p.latency_ms for p in posted if p.status != -1]
    return {
        "command": "make soak",
        "clients": clients,
        "workers": workers,
        "minutes": minutes,
        "rate_offered": rate,
        "posts": len(posted),
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "acknowledged_not_stored": len(acknowledged.keys() - stored),
        "stored_not_acknowledged": len(stored - acknowledged.keys()),
        "deliveries_expected": len(stored) * clients,
        "deliveries_received": len(stored) * clients - seen.missed,
        "missed": seen.missed,
        "duplicates": seen.duplicates,
        "unexpected": seen.unexpected,
        "clients_missing_any": seen.clients_missing_any,
        "sockets_dropped": seen.disconnects,
        "connect_failures": seen.connect_failures,
        "errors": summarise_errors(errors),
        "error_count": len(errors),
        "post_p50_ms": round(percentile(post_ms, 50), 1),
        "post_p99_ms": round(percentile(post_ms, 99), 1),
        "delivery_p50_ms": round(percentile(seen.latencies_ms, 50), 1),
        "delivery_p99_ms": round(percentile(seen.latencies_ms, 99), 1),
        "delivery_max_ms": round(max(seen.latencies_ms, default=0), 1),
        "delivery_p99_per_minute_ms": [round(v, 1) for v in seen.window_p99_ms],
        "client_cpu_share": round(seen.client_cpu_share, 2),
        "client_loop_lag_p99_ms": round(seen.loop_lag_p99_ms, 1),
        "memory": memory_report(sampler.samples, seconds),
    }


def memory_report(samples: list, seconds: float) -> dict:
    """Per worker: resident memory at the start, in minute 2, in the last minute and at the
    peak, and its CPU use over the run (share of one core)."""
    report = {}
    pids = sorted({pid for _, memory, _ in samples for pid in memory})
    for pid in pids:
        series = [(t, memory[pid]) for t, memory, _ in samples if pid in memory]
        second_minute = [mb for t, mb in series if 60 <= t < 120] or [series[0][1]]
        last_minute = [mb for t, mb in series if t >= max(seconds - 60, 0)] or [series[-1][1]]
        cpu = [(t, c[pid]) for t, _, c in samples if pid in c]
        early, late = statistics.median(second_minute), statistics.median(last_minute)
        report[str(pid)] = {
            "rss_start_mb": round(series[0][1], 1),
            "rss_minute_2_mb": round(early, 1),
            "rss_last_minute_mb": round(late, 1),
            "rss_peak_mb": round(max(mb for _, mb in series), 1),
            "growth": round(late / early - 1, 3),
            "flat": late <= early * (1 + FLAT),
            "cpu_share": round((cpu[-1][1] - cpu[0][1]) / (cpu[-1][0] - cpu[0][0]), 2)
            if len(cpu) > 1
            else None,
        }
    return report


def passed(report: dict) -> bool:
    return (
        report["error_count"] == 0
        and report["missed"] == 0
        and report["duplicates"] == 0
        and report["unexpected"] == 0
        and report["sockets_dropped"] == 0
        and report["connect_failures"] == 0
        and report["acknowledged_not_stored"] == 0
        and all(worker["flat"] for worker in report["memory"].values())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=10, help="comments a second")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgis://", "postgres://", "postgresql://")):
        raise SystemExit("soak: --database-url must be a PostGIS database (postgis://…)")
    env = BenchEnv(
        backend="postgis", database_url=args.database_url, redis_url=None, python=sys.executable
    )
    report = soak(
        env, minutes=args.minutes, rate=args.rate, clients=args.clients, workers=args.workers
    )
    report["passed"] = passed(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print("soak:", "passed" if report["passed"] else "FAILED")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
