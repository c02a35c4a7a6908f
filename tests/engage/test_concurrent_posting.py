"""Many residents posting at once to the embedded set-up (one uvicorn process, SpatiaLite):
every POST is stored and answered 201, none fails with "database is locked"."""

from __future__ import annotations

import concurrent.futures
import json
import urllib.error
import urllib.request

import pytest

from tests.live_server import live_server, manage, server_env

CREATE_DISCUSSION = (
    "from engage.services import discussion_create;"
    "print(discussion_create(title='Busy', is_published=True).pk)"
)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, prepared_databases):
    folder = tmp_path_factory.mktemp("concurrent")
    env = server_env(
        DATABASE_URL=f"spatialite:///{folder}/db.sqlite3",
        REDIS_URL="",
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="tests.engage.live_settings",  # rate limits lifted
    )
    prepared_databases.copy_to(folder / "db.sqlite3")
    manage("shell", "-c", CREATE_DISCUSSION, env=env)
    with live_server(env) as server:
        yield server


def post(url: str, index: int) -> int:
    data = json.dumps({"body": f"comment {index}", "display_name": "Busy"}).encode()
    request = urllib.request.Request(  # noqa: S310 - our own test server
        url, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_sixty_comments_posted_sixteen_at_a_time_are_all_stored(embedded):
    url = f"{embedded.url}/api/engage/discussions/1/comments/"
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: post(url, i), range(60)))
    assert statuses == [201] * 60
    with urllib.request.urlopen(url + "?limit=200", timeout=10) as response:  # noqa: S310
        assert len(json.loads(response.read())["items"]) == 60
