"""What every benchmark script shares: the row it reports, the environment it runs in, and the
statistics it reports with. ``bench/run.py`` (``make bench``) prepares one database per backend,
then calls each script's ``run(env) -> list[Row]`` and writes ``bench/results/latest.json`` and a
Markdown table.

A row holds our figure and the floor measured in the same run, so the ratio is what a reader
compares with the goal; absolute figures move with the machine, ratios much less.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


# One bench client exports and posts far more than a person may: the benchmarks lift those
# limits (the limits themselves are tested in tests/engage; here we measure the work behind them).
BENCH_RATE_LIMITS = ",".join(
    f"{action}=1000000/60" for action in ("export", "comment", "discussion_comment")
)


@dataclass(frozen=True)
class BenchEnv:
    """Where a script runs: ``backend`` is ``"postgis"`` or ``"spatialite"``; ``environ`` holds
    ``DATABASE_URL``, ``REDIS_URL`` (PostGIS only), ``SECRET_KEY`` and
    ``DJANGO_SETTINGS_MODULE`` for any subprocess (uvicorn workers, ``ogr2ogr``) the script
    starts; ``python`` is the virtualenv's interpreter; ``quick`` asks for fewer samples (a
    smoke run, never for the README figures)."""

    backend: str
    database_url: str
    redis_url: str | None
    python: str
    environ: dict[str, str] = field(default_factory=dict)
    quick: bool = False


@dataclass(frozen=True)
class Row:
    """One measured figure beside its floor. ``ratio`` is ``value / reference_value`` for
    times and memory (lower is better) and ``reference_value / value`` for throughputs, so a
    ratio above the goal's bound is always the bad direction. ``spread`` says how much the
    figure moved over repetitions (for example "p50 of 3 runs: 4.1–4.6 ms")."""

    name: str
    backend: str
    value: float
    unit: str
    reference: str
    reference_value: float
    ratio: float
    goal: str
    met: bool
    samples: int
    spread: str
    notes: str = ""


def percentile(samples: Iterable[float], q: float) -> float:
    """Nearest-rank percentile; ``q`` in 0..100."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def p50(samples: Iterable[float]) -> float:
    return statistics.median(list(samples))


def spread_of(per_repetition: list[float], unit: str, label: str = "p50") -> str:
    """Say how a figure moved: "p50 over 3 repetitions: 4.10–4.62 ms"."""
    low, high = min(per_repetition), max(per_repetition)
    return f"{label} over {len(per_repetition)} repetitions: {low:.3g}–{high:.3g} {unit}"


def ratio_row(
    *,
    name: str,
    env: BenchEnv,
    value: float,
    unit: str,
    reference: str,
    reference_value: float,
    bound: float | None,
    samples: int,
    spread: str,
    higher_is_better: bool = False,
    notes: str = "",
) -> Row:
    """A row whose goal is "ratio ≤ bound" (``bound=None``: reported, no goal)."""
    if higher_is_better:
        ratio = reference_value / value if value else math.inf
    else:
        ratio = value / reference_value if reference_value else math.inf
    goal = f"≤ {bound:g}× floor" if bound is not None else "reported"
    met = True if bound is None else ratio <= bound
    return Row(
        name=name,
        backend=env.backend,
        value=round(value, 3),
        unit=unit,
        reference=reference,
        reference_value=round(reference_value, 3),
        ratio=round(ratio, 3),
        goal=goal,
        met=met,
        samples=samples,
        spread=spread,
        notes=notes,
    )


def postgis_goal(env: BenchEnv, bound: float | None) -> float | None:
    """The issue states its goals on PostGIS; on SpatiaLite every row is "reported with its
    ratio", but for tiles, GeoJSON and the lookup (within 2x, set by their script)."""
    return bound if env.backend == "postgis" else None


def zero_goal_row(
    *,
    name: str,
    env: BenchEnv,
    value: float,
    unit: str,
    reference: str,
    reference_value: float,
    goal: str,
    samples: int,
    spread: str,
    notes: str = "",
) -> Row:
    """A row whose goal is "none at all" (lost, missed or duplicated events): met only at 0;
    the ratio is against the floor's count (at least 1, so a clean floor still divides)."""
    return Row(
        name=name,
        backend=env.backend,
        value=value,
        unit=unit,
        reference=reference,
        reference_value=reference_value,
        ratio=0.0 if value == 0 else float(value) / max(reference_value, 1),
        goal=goal,
        met=value == 0,
        samples=samples,
        spread=spread,
        notes=notes,
    )


def timed_ms(function: Callable[[], object]) -> float:
    import time

    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def write_results(rows: list[Row], *, machine: str, command: str) -> tuple[Path, Path]:
    """Write ``latest.json`` (the rows) and ``latest.md`` (the table the README carries)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / "latest.json"
    json_path.write_text(json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False))
    md_path = RESULTS / "latest.md"
    md_path.write_text(markdown_table(rows, machine=machine, command=command))
    return json_path, md_path


def markdown_table(rows: list[Row], *, machine: str, command: str) -> str:
    lines = [
        f"Made by `{command}` on {machine}.",
        "",
        "| what | backend | ours | floor (same run) | ratio | goal | met "
        "| samples, spread | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.backend} | {row.value:g} {row.unit} "
            f"| {row.reference}: {row.reference_value:g} {row.unit} | {row.ratio:.2f}× "
            f"| {row.goal} | {'yes' if row.met else '**no**'} | {row.samples}; {row.spread} "
            f"| {row.notes} |"
        )
    return "\n".join(lines) + "\n"
