"""The settings module picks its backends from the environment and refuses bad values with a
one-line message naming the variable. Each case imports the real settings in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ConfigError, database_from_url, redis_from_url

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "host": settings.DATABASES["default"].get("HOST"),
    "pool": "pool" in settings.DATABASES["default"].get("OPTIONS", {}),
    "lock_timeout": settings.DATABASES["default"].get("OPTIONS", {}).get("timeout"),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_prefix": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "ws_origins": settings.WEBSOCKET_ALLOWED_ORIGINS,
    "secure_cookies": getattr(settings, "SESSION_COOKIE_SECURE", False),
    "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0),
}))
"""

BASE_ENV_DROP = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "SITE_URL",
    "ALLOWED_HOSTS",
    "SPATIALITE_LOCK_TIMEOUT",
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in BASE_ENV_DROP}
    environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_for(**env: str) -> dict:
    result = run_python(PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in BASE_ENV_DROP}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nothing_set_means_spatialite_file_and_in_memory_layer_with_debug_off():
    chosen = settings_for(SECRET_KEY="x" * 60)
    assert chosen["engine"] == "django.contrib.gis.db.backends.spatialite"
    assert chosen["name"] == str(ROOT / "db.sqlite3")
    assert chosen["layer"] == "channels.layers.InMemoryChannelLayer"
    assert chosen["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert chosen["debug"] is False
    assert chosen["secure_cookies"] is False


def test_database_and_redis_urls_switch_to_postgis_and_redis():
    chosen = settings_for(
        SECRET_KEY="x" * 60,
        DATABASE_URL="postgis://planner:s%40cret@db.internal:5433/civicmap",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert chosen["engine"] == "django.contrib.gis.db.backends.postgis"
    assert chosen["name"] == "civicmap"
    assert chosen["host"] == "db.internal"
    assert chosen["pool"] is True
    assert chosen["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert chosen["cache"] == "config.cache.SharedRedisCache"


def test_sites_on_different_redis_databases_do_not_hear_each_others_events():
    # Pub/sub channels are server-wide in Redis; the layer's prefix carries the database number.
    zero = settings_for(SECRET_KEY="x" * 60, REDIS_URL="redis://cache.internal:6379/0")
    two = settings_for(SECRET_KEY="x" * 60, REDIS_URL="redis://cache.internal:6379/2")
    assert zero["layer_prefix"] == "civicmap0."
    assert two["layer_prefix"] == "civicmap2."
    assert redis_from_url("redis://cache.internal:6379", name="REDIS_URL").db == 0
    assert redis_from_url("unix:///run/redis.sock?db=3", name="REDIS_URL").channel_prefix == (
        "civicmap3."
    )
    with pytest.raises(ConfigError, match="must be a number"):
        redis_from_url("unix:///run/redis.sock?db=x", name="REDIS_URL")


def test_spatialite_url_names_the_file():
    chosen = settings_for(SECRET_KEY="x" * 60, DATABASE_URL="spatialite:///srv/civic/data.sqlite3")
    assert chosen["engine"] == "django.contrib.gis.db.backends.spatialite"
    assert chosen["name"] == "/srv/civic/data.sqlite3"
    assert chosen["lock_timeout"] == 20


def test_the_spatialite_lock_wait_comes_from_the_environment():
    chosen = settings_for(SECRET_KEY="x" * 60, SPATIALITE_LOCK_TIMEOUT="7")
    assert chosen["lock_timeout"] == 7


def test_https_site_url_turns_on_secure_cookies_and_hsts_and_origin_list():
    chosen = settings_for(
        SECRET_KEY="x" * 60, SITE_URL="https://plans.example.org", ALLOWED_HOSTS="plans.example.org"
    )
    assert chosen["secure_cookies"] is True
    assert chosen["hsts"] >= 31_536_000
    assert "https://plans.example.org" in chosen["ws_origins"]


def test_wildcard_allowed_hosts_never_opens_websocket_origins_to_everyone():
    chosen = settings_for(
        SECRET_KEY="x" * 60, ALLOWED_HOSTS="*", SITE_URL="https://plans.example.org"
    )
    assert "*" not in chosen["ws_origins"]
    assert chosen["ws_origins"] == ["https://plans.example.org"]


def test_debug_off_without_secret_key_stops_with_one_line_naming_the_variable():
    result = manage("check")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("DATABASE_URL", "mysql://root@localhost/db", "unsupported scheme"),
        ("DATABASE_URL", "postgis://localhost:notaport/db", "malformed"),
        ("DATABASE_URL", "postgis://user@host:5432/", "names no database"),
        ("DATABASE_URL", "spatialite://relative.sqlite3", "absolute path"),
        ("REDIS_URL", "http://localhost:6379", "unsupported scheme"),
        ("REDIS_URL", "redis://:6379/0", "names no host"),
        ("REDIS_URL", "redis://localhost:six/0", "malformed"),
        ("BASEMAP_TILE_URL", "ftp://tiles/{z}/{x}/{y}.png", "http(s) URL template"),
    ],
)
def test_malformed_service_url_stops_with_a_message_not_a_traceback(variable, value, reason):
    result = manage("check", SECRET_KEY="x" * 60, **{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_asgi_module_refuses_to_start_with_a_bad_setting():
    result = run_python("import config.asgi", SECRET_KEY="x" * 60, REDIS_URL="nope://")
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr and "Traceback" not in result.stderr


def test_deploy_check_with_production_variables_reports_only_accepted_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k3y-" + "q8Zr7Lp2Xw9Vn4Tc6Hs1Jm5Bd0Fg3Ky" * 2,
        SITE_URL="https://plans.example.org",
        ALLOWED_HOSTS="plans.example.org",
        HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_database_url_helper_rejects_plain_sqlite():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        database_from_url("sqlite:///x.db", name="DATABASE_URL", default_path=ROOT / "x")


def test_prepared_statements_are_allowed_on_django_s_own_pool_and_not_without_it():
    url = "postgis://planner@db.internal:5432/civicmap"
    pooled = database_from_url(url, name="DATABASE_URL", default_path=ROOT / "x")
    unpooled = database_from_url(url, name="DATABASE_URL", default_path=ROOT / "x", pool=False)
    assert pooled["OPTIONS"]["prepare_threshold"] == 5
    # Without our pool an external pooler (PgBouncer) may stand between: Django's default.
    assert "prepare_threshold" not in unpooled["OPTIONS"]


def test_redis_url_helper_accepts_unix_socket_and_empty():
    assert redis_from_url("", name="REDIS_URL") is None
    assert redis_from_url("unix:///run/redis.sock", name="REDIS_URL").url.startswith("unix:")
