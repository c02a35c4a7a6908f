"""The Redis cache keeps one connection pool per process, however many request contexts make
cache objects, and counts rate-limit hits in one round trip (``config.cache``)."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from django.test import override_settings

from config.cache import SharedRedisCache
from engage import services
from engage.models import Comment
from tests.engage.conftest import release_thread_connections  # noqa: F401 - shared fixture
from tests.landuse.test_tile_fast_path import call

pytestmark = pytest.mark.redis


def connections_to(redis_url: str) -> int:
    return len(redis.Redis.from_url(redis_url).client_list())


def fresh_cache(redis_url: str, prefix: str) -> SharedRedisCache:
    # What Django does for every request under ASGI: a new cache object from the settings.
    return SharedRedisCache(redis_url, {"KEY_PREFIX": prefix})


def test_cache_objects_made_for_each_request_share_one_connection(redis_url):
    prefix = f"shared-{uuid.uuid4().hex}"
    fresh_cache(redis_url, prefix).set("warm", 1)
    before = connections_to(redis_url)
    for n in range(30):
        cache = fresh_cache(redis_url, prefix)
        cache.set(f"key-{n}", n)
        assert cache.get(f"key-{n}") == n
    assert connections_to(redis_url) <= before


def test_counting_stops_at_the_first_counter_past_its_limit(redis_url):
    cache = fresh_cache(redis_url, f"count-{uuid.uuid4().hex}")
    counters = [("client", 60, 2), ("discussion", 60, 100)]
    assert cache.count_in_order(counters) == [1, 1]
    assert cache.count_in_order(counters) == [2, 2]
    # The client is past its own limit: the shared counter is not touched.
    assert cache.count_in_order(counters) == [3]
    assert cache.count_in_order([("discussion", 60, 100)]) == [3]
    ttl = redis.Redis.from_url(redis_url).ttl(cache.make_and_validate_key("client"))
    assert 0 < ttl <= 60


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("release_thread_connections")
async def test_comments_posted_through_the_asgi_app_open_no_new_redis_connections(redis_url):
    from asgiref.sync import sync_to_async

    from config.asgi import application

    discussion = await sync_to_async(services.discussion_create)(
        title="Connections", is_published=True
    )
    caches = {
        "default": {
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"asgi-{uuid.uuid4().hex}",
        }
    }
    path = f"/api/engage/discussions/{discussion.pk}/comments/"

    async def post(n: int) -> int:
        body = json.dumps({"body": f"comment {n}", "display_name": "Ann"}).encode()
        status, _, _ = await call(
            application,
            path,
            method="POST",
            headers=[(b"content-type", b"application/json")],
            body=body,
        )
        return status

    limits = {"comment": (1000, 60), "discussion_comment": (1000, 60)}
    with override_settings(CACHES=caches, ENGAGE_RATE_LIMITS=limits):
        assert await post(0) == 201
        before = connections_to(redis_url)
        for n in range(1, 21):
            assert await post(n) == 201
        after = connections_to(redis_url)
    assert after <= before
    assert await sync_to_async(Comment.objects.filter(discussion=discussion).count)() == 21
