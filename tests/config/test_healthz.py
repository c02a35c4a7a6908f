"""``/healthz`` reports whether the database and the channel layer answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_answers_200_when_database_and_layer_are_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["engine"] in {"postgresql", "spatialite"}
    assert body["channel_layer"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_answers_200_on_redis(client, redis_url):
    layer = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [redis_url]},
    }
    with override_settings(CHANNEL_LAYERS={"default": layer}):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["channel_layer"]["backend"] == "RedisPubSubChannelLayer"


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_channel_layer_when_redis_is_down(client):
    layer = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
    }
    with override_settings(CHANNEL_LAYERS={"default": layer}):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["channel_layer"] == {
        "ok": False,
        "backend": "RedisPubSubChannelLayer",
        "error": "channel layer unreachable",
    }
    assert body["database"]["ok"] is True


PROBE = """
from django.test import Client
import json
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


@pytest.mark.parametrize(
    "database_url",
    ["postgis://nobody@127.0.0.1:1/nothing", "spatialite:///nonexistent-dir/for/sure.sqlite3"],
    ids=["postgis refused", "spatialite unopenable"],
)
def test_healthz_answers_503_with_a_clear_body_when_the_database_is_unreachable(database_url):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="testserver",
    )
    code = "import django; django.setup()\n" + PROBE
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["status"] == "error"
    assert answer["body"]["database"]["ok"] is False
    assert answer["body"]["database"]["error"] == "database unreachable"
    assert answer["body"]["channel_layer"]["ok"] is True
