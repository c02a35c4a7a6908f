"""The realistic scale for ``make bench``: the sample city (``load_demo``: layers, pages,
discussions) plus 100,000 pinned comments spread over the city's discussions, and two pages for
the page-rendering row: a planning topic with a map and exactly 200 comments, and a plain
Wagtail page with neither.

    DATABASE_URL=… .venv/bin/python bench/seed.py [--comments 100000]

Deterministic: one seeded RNG, so every run inserts the same rows. Comments are bulk-inserted
(``COPY`` on PostGIS, one ``executemany`` on SpatiaLite) rather than through ``comment_create``:
the services' per-comment work (lookup, broadcast) is what the posting benchmark measures, not
this. Prints one JSON line (``SEED {…}``) with what the benchmarks need.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPIC_SLUG = "bench-topic"
PLAIN_SLUG = "bench-plain"
TOPIC_COMMENTS = 200
SEED = 11
WORDS = (
    "homes shops light rail corner park trees bus lane crossing height parking alley noise "
    "sidewalk school library jobs density zoning bike trail river shade bench plaza market"
).split()


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    import django

    django.setup()


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 24))
    return " ".join(words).capitalize() + "."


def comment_rows(rng: random.Random, *, discussions: list, count: int, now: dt.datetime):
    """``count`` published, pinned comments as plain tuples, spread over ``discussions``
    (pins inside each plan area's bounding box, or the city's when a discussion has none)."""
    from geo_fixtures.demo_discussions import SAMPLE_CITY_BOUNDS

    boxes = [d.plan_area.extent if d.plan_area else SAMPLE_CITY_BOUNDS for d in discussions]
    for index in range(count):
        slot = index % len(discussions)
        west, south, east, north = boxes[slot]
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        created = now - dt.timedelta(seconds=count - index)
        yield (
            discussions[slot].pk,
            f"Resident {rng.randint(1, 5000)}",
            sentence(rng),
            f"SRID=4326;POINT({lon:.6f} {lat:.6f})",
            created,
        )


COLUMNS = [
    "discussion_id", "depth", "display_name", "body", "status", "geometry", "landuse",
    "zoning_code", "future_land_use_code", "ip_hash", "edit_token_hash", "created_at",
    "moderation_reason", "changed_at",
]  # fmt: skip


def bulk_insert(table: str, columns: list[str], rows, *, geometry: str | None = None) -> int:
    """Rows (tuples in ``columns`` order) into ``table`` at once: ``COPY`` on PostGIS, one
    ``executemany`` on SpatiaLite. The ``geometry`` column, if named, holds EWKT text. Returns
    the number of rows."""
    from django.db import connection

    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY's text format takes EWKT for geometry columns.
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join(
                "GeomFromEWKT(%s)" if column == geometry else "%s" for column in columns
            )
            # Datetimes as Django stores them in SQLite (UTC text without an offset).
            adapt = connection.ops.adapt_datetimefield_value
            batch = [
                tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows
            ]
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch
            )
            count = len(batch)
    return count


def insert_comments(rows) -> int:
    """Published pinned comments from :func:`comment_rows`; returns the number of rows. The
    columns not listed are nullable."""

    no_landuse = ("[]", "", "")  # landuse, zoning_code, future_land_use_code
    no_hashes = ("", "")  # ip_hash, edit_token_hash

    def row(discussion, name, body, ewkt, created) -> tuple:  # in COLUMNS' order
        return (discussion, 0, name, body, "published", ewkt, *no_landuse, *no_hashes, created,
                "", created)  # fmt: skip

    return bulk_insert("engage_comment", COLUMNS, (row(*r) for r in rows), geometry="geometry")


def ensure_bench_pages(log) -> tuple:
    """The topic page (text, a map of both layers, its discussion) and the plain page."""
    from cms.models import HomePage, PlanningTopicPage, TopicIndexPage
    from geo_fixtures.demo_pages import demo_layers, discussion_settings, map_block, text_block

    home = HomePage.objects.first()
    index = TopicIndexPage.objects.child_of(home).get(slug="topics")
    topic = PlanningTopicPage.objects.child_of(index).filter(slug=TOPIC_SLUG).first()
    if topic is None:
        text = "<p>" + " ".join(["The draft proposes more homes near frequent transit."] * 8)
        topic = index.add_child(
            instance=PlanningTopicPage(
                slug=TOPIC_SLUG,
                title="Benchmark topic",
                summary="A topic page with a map and 200 comments.",
                body=[text_block(text + "</p>"), map_block(demo_layers(), "Zoning")],
                **discussion_settings(),
            )
        )
        topic.save_revision().publish()
        topic.refresh_from_db()
        log(f"created {topic.url}")
    plain = TopicIndexPage.objects.child_of(home).filter(slug=PLAIN_SLUG).first()
    if plain is None:
        text = "<p>" + " ".join(["What the city is planning, topic by topic."] * 8) + "</p>"
        plain = home.add_child(
            instance=TopicIndexPage(slug=PLAIN_SLUG, title="Benchmark plain page", intro=text)
        )
        plain.save_revision().publish()
        log(f"created {plain.url}")
    return topic, plain


def seed(*, comments: int, log=print) -> dict:
    from django.db import transaction

    from engage.models import Comment, Discussion
    from geo_fixtures.demo import load_demo

    started = time.perf_counter()
    load_demo(lambda message: None)
    log(f"demo city loaded in {time.perf_counter() - started:.1f} s")
    topic, plain = ensure_bench_pages(log)
    rng = random.Random(SEED)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    others = list(Discussion.objects.exclude(pk=topic.discussion_id).order_by("pk"))
    with transaction.atomic():
        missing = TOPIC_COMMENTS - Comment.objects.filter(discussion=topic.discussion_id).count()
        if missing > 0:
            rows = comment_rows(rng, discussions=[topic.discussion], count=missing, now=now)
            insert_comments(rows)
        existing = Comment.objects.exclude(discussion=topic.discussion_id).count()
        started = time.perf_counter()
        if existing < comments:
            rows = comment_rows(rng, discussions=others, count=comments - existing, now=now)
            inserted = insert_comments(rows)
            log(f"{inserted} pinned comments inserted in {time.perf_counter() - started:.1f} s")
    return {
        "topic_url": topic.url,
        "plain_url": plain.url,
        "topic_comments": Comment.objects.filter(discussion=topic.discussion_id).count(),
        "comments": Comment.objects.count(),
        "discussions": [d.pk for d in others],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument(
        "--export-discussions",
        action="store_true",
        help="also the export benchmark's discussions of 10k and 100k comments (bench/exports.py)",
    )
    args = parser.parse_args()
    setup_django()
    summary = seed(comments=args.comments)
    if args.export_discussions:
        from bench import exports

        summary["export_discussions"] = exports.prepare(list(exports.SIZES), migrate=False)
    print("SEED " + json.dumps(summary))


if __name__ == "__main__":
    main()
