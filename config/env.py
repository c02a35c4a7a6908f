"""Typed readers for environment variables.

Every reader fails with :class:`ConfigError` naming the variable, so a bad deployment stops
with one line instead of a traceback deep inside Django.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A setting read from the environment is missing or malformed."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rates(name: str, *, allowed: set[str]) -> dict[str, tuple[int, int]]:
    """``action=requests/seconds`` pairs separated by commas, e.g. ``comment=5/60,export=20/600``;
    the actions not named keep the application's defaults."""
    rates: dict[str, tuple[int, int]] = {}
    for item in env_list(name):
        action, _, rate = item.partition("=")
        count, _, seconds = rate.partition("/")
        action = action.strip()
        if action not in allowed:
            raise ConfigError(
                f"{name}: unknown action {action!r}; known: {', '.join(sorted(allowed))}"
            )
        if not (count.strip().isdigit() and seconds.strip().isdigit() and int(seconds) > 0):
            raise ConfigError(f"{name}: {item!r} must look like {action}=<requests>/<seconds>")
        rates[action] = (int(count), int(seconds))
    return rates


_POSTGIS_SCHEMES = {"postgis", "postgres", "postgresql"}
# psycopg's own default: a statement is prepared after this many runs on one connection.
PREPARE_THRESHOLD = 5


# Concurrent writers under ASGI (one thread per request): a deferred transaction that reads
# before it writes fails at once with "database is locked"; BEGIN IMMEDIATE waits its turn
# (up to ``timeout`` seconds) instead. tests/engage/test_concurrent_posting.py shows the case.
# mod_spatialite resets the wait when it loads; config/apps.py sets it again.
SPATIALITE_OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 20}
# Opening a SpatiaLite connection loads mod_spatialite and reads the schema, about 10 ms:
# Django's default of a connection per request made it most of a WebSocket connect (1000 took
# 15 s, 3 s kept) and a third of a comment POST. Request threads are kept (config/handler.py),
# so a kept connection is used again; one in a thread that ends is closed with it.
SPATIALITE_CONN_MAX_AGE = 600


def database_from_url(url: str, *, name: str, default_path: Path, pool: bool = True) -> dict:
    """Turn ``DATABASE_URL`` into a Django ``DATABASES['default']`` entry.

    Only spatial backends are accepted: a plain ``sqlite://`` or ``mysql://`` would start and
    then fail on the first geometry column, far from the cause.
    """
    if not url:
        return {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": str(default_path),
            "CONN_MAX_AGE": SPATIALITE_CONN_MAX_AGE,
            "OPTIONS": dict(SPATIALITE_OPTIONS),
        }
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name} is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == "spatialite":
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/") or path == "/":
            raise ConfigError(
                f"{name} must be spatialite:///absolute/path.sqlite3 (three slashes, absolute path)"
            )
        return {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": path,
            "CONN_MAX_AGE": SPATIALITE_CONN_MAX_AGE,
            "OPTIONS": dict(SPATIALITE_OPTIONS),
        }
    if scheme in _POSTGIS_SCHEMES:
        database = unquote(parts.path.lstrip("/"))
        if not database or "/" in database:
            raise ConfigError(f"{name} names no database: expected postgis://user@host:5432/dbname")
        if not parts.hostname and "host" not in parse_qs(parts.query):
            raise ConfigError(f"{name} names no host: expected postgis://user@host:5432/dbname")
        options: dict = {}
        for key, values in parse_qs(parts.query).items():
            if key == "host":
                continue
            options[key] = values[-1]
        if pool:
            # Django's psycopg pool: without it every ASGI request opens a new connection.
            options["pool"] = {"min_size": 1, "max_size": 10, "timeout": 10}
            # Django turns psycopg's prepared statements off (None) for the sake of external
            # poolers such as PgBouncer; with its own pool each connection is PostgreSQL's,
            # so they may stay on. Django's cursors bind client-side and never prepare: only
            # a statement run with prepare=True on a server-binding cursor is: the vector tile
            # and the point lookup, whose planning was over a third of their time in PostgreSQL
            # (landuse.selectors).
            options.setdefault("prepare_threshold", PREPARE_THRESHOLD)
        return {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parse_qs(parts.query).get("host", [parts.hostname or ""])[-1],
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 0,
            "OPTIONS": options,
        }
    raise ConfigError(
        f"{name} has unsupported scheme {parts.scheme or '(none)'!r}: "
        "use postgis://user:password@host:port/dbname or spatialite:///absolute/path.sqlite3"
    )


@dataclass(frozen=True)
class RedisUrl:
    url: str
    db: int = 0

    @property
    def channel_prefix(self) -> str:
        """Redis keeps keys per database number but pub/sub channels are server-wide; naming
        the channel layer's channels after the database number gives two sites (or a staging
        copy, or two test runs) on one Redis the separation their database numbers promise."""
        return f"civicmap{self.db}."


def redis_from_url(url: str, *, name: str) -> RedisUrl | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError as exc:
        raise ConfigError(f"{name} is malformed: {exc}") from None
    if parts.scheme in {"redis", "rediss"}:
        if not parts.hostname:
            raise ConfigError(f"{name} names no host: expected redis://host:6379/0")
        db = parts.path.lstrip("/")
        if db and not db.isdigit():
            raise ConfigError(f"{name} database must be a number, not {db!r}")
        return RedisUrl(url, db=int(db or 0))
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(f"{name} names no socket path: expected unix:///path/to/redis.sock")
        db = parse_qs(parts.query).get("db", ["0"])[0]
        if not db.isdigit():
            raise ConfigError(f"{name} database must be a number, not {db!r}")
        return RedisUrl(url, db=int(db))
    raise ConfigError(
        f"{name} has unsupported scheme {parts.scheme or '(none)'!r}: use redis://host:6379/0"
    )
