"""A worker killed (SIGKILL) in the middle of a stream of posts loses no acknowledged comment:
every comment that got a 201 is in the database, whole; the server's other worker keeps
answering, and a server started again on the same database serves it.

uvicorn runs two workers under its supervisor; the test kills one worker process while three
clients keep posting, so requests are cut off mid-flight.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.faults.client import comments_after, discussion_id, post_comment
from tests.faults.conftest import fault_env
from tests.live_server import live_server

pytestmark = pytest.mark.django_db  # the test database is what the server's copy comes from


def worker_pids(supervisor: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn children, not its resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_no_acknowledged_comment_is_lost_when_a_worker_is_killed_mid_stream(fault_db):
    env = fault_env(fault_db.url)
    run = uuid.uuid4().hex[:8]  # the PostgreSQL copy is shared by the session's fault tests
    answers: list[tuple[str, int | None]] = []
    with live_server(env, workers=2) as server:
        discussion = discussion_id(server.url)
        stop = threading.Event()

        def keep_posting(writer: int) -> None:
            n = 0
            while not stop.is_set():
                body = f"{run} stream {writer}-{n}"
                n += 1
                try:
                    status = post_comment(server.url, discussion, body, timeout=10)[0]
                except OSError:  # the connection was cut: no answer, nothing acknowledged
                    status = None
                answers.append((body, status))

        writers = [threading.Thread(target=keep_posting, args=(w,)) for w in range(3)]
        for writer in writers:
            writer.start()
        while sum(status == 201 for _, status in answers) < 8:
            time.sleep(0.02)
        victim = worker_pids(server.process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = len(answers)
        deadline = time.monotonic() + 15
        while sum(status == 201 for _, status in answers[killed_at:]) < 8:
            assert time.monotonic() < deadline, "the server stopped answering"
            time.sleep(0.05)
        stop.set()
        for writer in writers:
            writer.join(30)

    assert {status for _, status in answers} <= {201, 503, None}  # never a 500
    stored = fault_db.stored_bodies()
    acknowledged = [body for body, status in answers if status == 201]
    assert set(acknowledged) <= set(stored)
    mine = [body for body in stored if body.startswith(run)]
    assert len(mine) == len(set(mine))  # nothing stored twice
    assert set(mine) <= {body for body, _ in answers}  # and only what was sent, whole

    with live_server(env) as again:  # a fresh server finds a consistent database
        status, _, text = post_comment(again.url, discussion, f"{run} after the restart")
        assert status == 201, text
        published = {c["body"] for c in comments_after(again.url, discussion, 0)}
        assert set(acknowledged) <= published
