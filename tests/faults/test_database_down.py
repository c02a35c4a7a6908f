"""The database down: every request that needs it answers 503 with a clear body (JSON for the
API, a short page for HTML) and ``Retry-After``; nothing half-written is left; once the
database is back, posting works again without restarting the application.

"Down" is real: PostgreSQL of the test's own stopped with ``pg_ctl stop -m immediate``, or the
SpatiaLite file locked by another process (``tests/faults/conftest.py`` says why).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from tests.faults.client import discussion_id, post_comment, request
from tests.faults.conftest import fault_env
from tests.live_server import live_server

pytestmark = pytest.mark.django_db  # the test database is what the server's copy comes from

# SpatiaLite: how long a request waits for the locked file before its 503 (the default, 20 s,
# is longer than these clients wait); PostGIS ignores it.
LOCK_WAIT = "3"


def post_until_accepted(url: str, discussion: int, body: str, *, within: float = 20) -> dict:
    """What a client does with a 503: try again a little later."""
    deadline = time.monotonic() + within
    while True:
        status, _, text = post_comment(url, discussion, body)
        if status == 201:
            return json.loads(text)
        assert status == 503, text
        assert time.monotonic() < deadline, "posting never worked again"
        time.sleep(0.5)


def test_a_post_while_the_database_is_down_is_a_clear_503_and_stores_nothing(fault_db):
    run = uuid.uuid4().hex[:8]  # the PostgreSQL copy is shared by the session's fault tests
    with live_server(fault_env(fault_db.url, SPATIALITE_LOCK_TIMEOUT=LOCK_WAIT)) as server:
        discussion = discussion_id(server.url)
        assert post_comment(server.url, discussion, f"{run} before")[0] == 201

        fault_db.take_down()
        status, headers, text = post_comment(server.url, discussion, f"{run} while down")
        assert status == 503
        assert headers["Content-Type"] == "application/json"
        assert int(headers["Retry-After"]) > 0
        assert json.loads(text)["errors"][0]["field"] == "database"
        assert "unavailable" in json.loads(text)["errors"][0]["message"]

        search = server.url + "/search/?query=park"
        status, headers, text = request("GET", search, accept="text/html")
        assert status == 503
        assert headers["Content-Type"].startswith("text/html")
        assert "Temporarily unavailable" in text and "Traceback" not in text

        fault_db.bring_back()
        post_until_accepted(server.url, discussion, f"{run} after")
    bodies = fault_db.stored_bodies()
    assert f"{run} while down" not in bodies
    assert bodies.index(f"{run} before") < bodies.index(f"{run} after")


def test_posts_in_flight_when_the_database_goes_down_are_stored_whole_or_not_at_all(fault_db):
    run = uuid.uuid4().hex[:8]  # the PostgreSQL copy is shared by the session's fault tests
    with live_server(fault_env(fault_db.url, SPATIALITE_LOCK_TIMEOUT=LOCK_WAIT)) as server:
        discussion = discussion_id(server.url)
        answers: list[tuple[str, int]] = []
        stop = threading.Event()

        def keep_posting(writer: int) -> None:
            n = 0
            while not stop.is_set():
                body = f"{run} stream {writer}-{n}"
                n += 1
                answers.append((body, post_comment(server.url, discussion, body)[0]))

        writers = [threading.Thread(target=keep_posting, args=(w,)) for w in range(3)]
        for writer in writers:
            writer.start()
        while sum(status == 201 for _, status in answers) < 10:
            time.sleep(0.05)
        fault_db.take_down()
        deadline = time.monotonic() + 20
        while not any(status == 503 for _, status in answers):  # the outage is seen
            assert time.monotonic() < deadline, "no request noticed the database was down"
            time.sleep(0.1)
        fault_db.bring_back()
        post_until_accepted(server.url, discussion, f"{run} after the outage")
        stop.set()
        for writer in writers:
            writer.join(30)

    assert {status for _, status in answers} <= {201, 503}  # never a 500
    stored = set(fault_db.stored_bodies())
    acknowledged = {body for body, status in answers if status == 201}
    assert acknowledged <= stored
    # A comment refused with 503 was rolled back, unless it had committed just before the
    # connection broke (then it is stored whole, as the stored text shows).
    attempted = {body for body, _ in answers}
    assert {b for b in stored if b.startswith(f"{run} stream ")} <= attempted
