"""CPU per comment POST in process: ours (``config.asgi``) beside the posting floor
(``floor_app.py``), sequential POSTs through each ASGI application called directly (no HTTP
server, no load generator, no live clients), each side in a process of its own, in turns.
What the posting benchmark's throughput cannot separate: the cost of one POST to the server.

    DATABASE_URL=postgis://… REDIS_URL=redis://… .venv/bin/python bench/post_cpu.py \\
        [--posts 1000] [--rounds 2] [--bare] [--lean]

A third side, ``bare`` (PostGIS only), is the same work without Django: an ASGI app that
reads the body, inserts the row with psycopg on one kept connection and publishes the event
through Channels' Redis layer. It is not a floor of ours (it has no sessions, CSRF, auth,
validation or rate limits); it shows how much of the posting floor is Django's request path
and ORM.

A fourth side, ``lean`` (``--lean``), is a what-if for the decision the README describes: our
own services for an anonymous JSON POST (rate limit, discussion read, validation, insert,
publish on commit, the answer) called in one thread hop from a bare ASGI app, without Django's
request handler, middleware or ninja. It checks nothing else (no Host, no session, no body
limit), so it is a measurement of what such a route could save, not a route.

``--gap MS`` leaves the process idle that long before each POST, as the fan-out benchmark's 10
POSTs a second do (only the POSTs are timed). On some hosts a process that has been idle runs
several times slower for its first milliseconds (threads and caches gone cold): back to back
is the cost under load, the gap the latency an occasional comment sees.

Rate limits are lifted as ``make bench`` lifts them. Profile one side with
``py-spy record --gil -- .venv/bin/python bench/post_cpu.py --child ours 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import BENCH_RATE_LIMITS  # noqa: E402

WARM_UP = 50


INSERT = (
    "INSERT INTO engage_comment (discussion_id, depth, display_name, body, status, landuse,"
    " zoning_code, future_land_use_code, ip_hash, edit_token_hash, moderation_reason,"
    " created_at, changed_at) VALUES (%s, 0, %s, %s, 'published', '[]', '', '', '', '', '',"
    " now(), now()) RETURNING id, created_at"
)


async def _body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _created(send, answer: bytes) -> None:
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(answer)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": answer})


def bare_application(database_url: str, redis_url: str):
    """``POST /post/<discussion>/`` without Django: the row, then the event on the layer."""
    import psycopg
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from bench.floor_app import EVENT, event_text, group

    conninfo = urlsplit(database_url)._replace(scheme="postgresql").geturl()
    layer = RedisPubSubChannelLayer(hosts=[redis_url])
    kept: list = []

    async def application(scope: dict, receive, send) -> None:
        data = json.loads(await _body(receive))
        discussion = int(scope["path"].split("/")[2])
        if not kept:
            kept.append(await psycopg.AsyncConnection.connect(conninfo, autocommit=True))
        cursor = await kept[0].execute(
            INSERT, (discussion, data.get("display_name") or "", data["body"])
        )
        key, created = await cursor.fetchone()
        text = event_text(discussion, key, data["body"], data.get("display_name") or "", created)
        await layer.group_send(group(discussion), {"type": EVENT, "text": text})
        await _created(send, json.dumps({"id": key}).encode())

    return application


def lean_application():
    """``POST /api/engage/discussions/<id>/comments/`` (anonymous, JSON) through our services
    in one thread hop, without Django's request path."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import sync_to_async
    from django.db import close_old_connections

    from engage import selectors, services
    from engage.rules import Participant
    from engage.schemas import comment_out

    def respond(discussion_id: int, body: bytes) -> bytes:
        close_old_connections()
        data = json.loads(body)
        who = Participant(user=None, key="", ip_hash=services.ip_hash("127.0.0.1"))
        services.throttle(action="comment", participant=who, discussion_id=discussion_id)
        discussion = selectors.discussion_for_posting(discussion_id=discussion_id)
        comment, token = services.comment_create(
            discussion=discussion, participant=who, body=data.get("body"),
            display_name=data.get("display_name"),
        )  # fmt: skip
        answer = {**comment_out(comment, for_author=True), "edit_token": token}
        close_old_connections()
        return json.dumps(answer, default=str).encode()

    # One kept thread, as config.handler lends each request one.
    hop = sync_to_async(respond, thread_sensitive=False, executor=ThreadPoolExecutor(1))

    async def application(scope: dict, receive, send) -> None:
        answer = await hop(int(scope["path"].split("/")[4]), await _body(receive))
        await _created(send, answer)

    return application


def child(side: str, posts: int, gap_ms: float = 0.0) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if side == "floor":
        from bench.floor_app import application
    elif side == "bare":
        application = bare_application(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    elif side == "ours":
        from config.asgi import application
    import django

    django.setup()
    if side == "lean":
        application = lean_application()
    from engage.services import discussion_create

    discussion = discussion_create(title="bench post cpu", is_published=True).pk
    if side in ("ours", "lean"):
        path = f"/api/engage/discussions/{discussion}/comments/"
    else:
        path = f"/post/{discussion}/"

    async def post(index: int) -> int:
        body = json.dumps({"body": f"post cpu {index}", "display_name": "bench"}).encode()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }  # fmt: skip
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client stays until the answer
            return {}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await application(scope, receive, send)
        return status

    async def main() -> dict:
        for index in range(WARM_UP):
            await post(index)
        wall, cpu, statuses = 0.0, 0.0, set()
        for index in range(posts):
            if gap_ms:
                await asyncio.sleep(gap_ms / 1000)
            began, began_cpu = time.perf_counter(), time.process_time()
            statuses.add(await post(WARM_UP + index))
            wall += time.perf_counter() - began
            cpu += time.process_time() - began_cpu
        if statuses - {200, 201}:
            raise SystemExit(f"{side}: POST answered {sorted(statuses)}")
        return {"cpu_ms": cpu / posts * 1000, "wall_ms": wall / posts * 1000}

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bare", action="store_true", help="also the same work without Django")
    parser.add_argument(
        "--lean", action="store_true", help="also our services without Django's request path"
    )
    parser.add_argument(
        "--gap", type=float, default=0.0, metavar="MS", help="idle time before each POST"
    )
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "POSTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.gap)))
        return
    environ = {**os.environ, "ENGAGE_RATE_LIMITS": BENCH_RATE_LIMITS, "DEBUG": "0"}
    environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    figures: dict[str, list[dict]] = {"ours": [], "floor": []}
    if args.bare:
        if not os.environ.get("DATABASE_URL", "").startswith("postgis://"):
            parser.error("--bare needs DATABASE_URL=postgis://… and REDIS_URL")
        figures["bare"] = []
    if args.lean:
        figures["lean"] = []
    for _ in range(args.rounds):
        for side in figures:
            done = subprocess.run(
                [sys.executable, __file__, "--child", side, str(args.posts), "--gap",
                 str(args.gap)],
                cwd=ROOT, env=environ, check=True, capture_output=True, text=True,
            )  # fmt: skip
            figures[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
    for side, runs in figures.items():
        cpu = ", ".join(f"{run['cpu_ms']:.2f}" for run in runs)
        wall = ", ".join(f"{run['wall_ms']:.2f}" for run in runs)
        gap = f", {args.gap:g} ms idle before each" if args.gap else ""
        print(f"{side:5}: CPU per POST {cpu} ms; wall {wall} ms ({args.posts} POSTs a round{gap})")
    ours = min(run["cpu_ms"] for run in figures["ours"])
    floor = min(run["cpu_ms"] for run in figures["floor"])
    print(f"ratio of the lowest CPU per POST, ours / floor: {ours / floor:.2f}×")
    if "bare" in figures:
        bare = min(run["cpu_ms"] for run in figures["bare"])
        print(f"the same work without Django (lowest): {bare:.2f} ms; Django's share of the "
              f"floor: {floor - bare:.2f} ms")  # fmt: skip
    if "lean" in figures:
        lean = min(run["cpu_ms"] for run in figures["lean"])
        print(f"our services without Django's request path (lowest): {lean:.2f} ms, "
              f"{ours - lean:.2f} ms under ours")  # fmt: skip


if __name__ == "__main__":
    main()
