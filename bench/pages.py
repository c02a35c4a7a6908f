"""Page rendering over real HTTP: the planning topic with a map and 200 comments (seeded by
``bench/seed.py``) beside a Wagtail page with no map or thread, both served by our app."""

from __future__ import annotations

from bench.harness import BenchEnv, Row, postgis_goal
from bench.httpbench import compare, uvicorn
from bench.seed import PLAIN_SLUG, TOPIC_COMMENTS, TOPIC_SLUG


def run(env: BenchEnv) -> list[Row]:
    samples = 8 if env.quick else 30
    with uvicorn("ours", "config.asgi:application", env) as ours:
        # Two connections so each page keeps its own keep-alive socket, as the tile rows do.
        topic, plain = ours.client(), ours.client()
        return [
            compare(
                name=f"topic page with map and {TOPIC_COMMENTS} comments",
                env=env,
                ours=(topic, [f"/topics/{TOPIC_SLUG}/"]),
                floor=(plain, [f"/{PLAIN_SLUG}/"]),
                floor_name="Wagtail page with no map or thread",
                samples=samples,
                repetitions=3,
                bound=postgis_goal(env, 2),
            )
        ]
