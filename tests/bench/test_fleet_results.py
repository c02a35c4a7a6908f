"""What the fleets saw, split and turned into bench/fanout.py's rows (no servers started)."""

from __future__ import annotations

from bench.fanout import Phase, breadth_row
from bench.harness import BenchEnv
from bench.live import FleetResult


def fleet(latencies_ms: list[float], event_ids: list[int]) -> FleetResult:
    return FleetResult(
        latencies_ms=latencies_ms,
        event_ids=event_ids,
        window_p99_ms=[],
        missed=0,
        duplicates=0,
        clients_missing_any=0,
        unexpected=0,
        connect_failures=0,
        disconnects=0,
        client_cpu_share=0.0,
        loop_lag_p99_ms=0.0,
    )


def test_a_fleets_latencies_split_into_the_wait_for_the_first_client_and_the_lag_behind_it():
    first, lags = fleet([12.0, 15.0, 20.0, 3.0, 4.0], [7, 7, 7, 8, 8]).split_at_first_client()
    assert first == [12.0, 3.0]
    assert lags == [0.0, 3.0, 8.0, 0.0, 1.0]


def test_the_split_row_sets_each_sides_lag_behind_the_first_client_beside_the_other():
    env = BenchEnv(backend="postgis", database_url="", redis_url=None, python="", quick=True)
    # Ours: every client 10 ms after the POST started, but 2 ms apart at most once the first
    # has it; the floor: 1 ms to the first, 6 ms across the clients.
    ours = Phase(fleet([10.0, 11.0, 12.0], [1, 1, 1]), [], 1, 0.0)
    floor = Phase(fleet([1.0, 4.0, 7.0], [5, 5, 5]), [], 1, 0.0)
    row = breadth_row(env, ours, floor, shape="3 clients", workers=2)
    assert (row.value, row.reference_value, row.ratio) == (2.0, 6.0, 0.333)
    assert (row.goal, row.met) == ("reported", True)
    assert "ours: p50 10.0, p99 10.0 ms from the start of its comment POST" in row.notes
    assert "floor: p50 1.0, p99 1.0 ms from its publisher's send" in row.notes
