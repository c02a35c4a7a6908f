"""Django's Redis cache, with one client per process and counters that cost one round trip.

Django keeps a cache object per asyncio context, and under ASGI every request runs in a context
of its own: with the stock ``RedisCache`` each request built a new client, a new connection pool
and a new TCP connection to Redis, and every cache call constructed another ``redis.Redis``
(redis-py fills a table of ~170 response callbacks each time). ``SharedRedisCache`` keeps one
client per server list and options for the whole process; the pool behind it is thread-safe.
Measured in the README's "Performance" section (the comment POST).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

# Count each counter in order and stop at the first one past its limit, so a client refused
# by its own limit does not use up a shared (per-discussion) one. ARGV: window, limit per key.
_COUNT_IN_ORDER = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[2 * i - 1]) end
  counts[i] = n
  if n > tonumber(ARGV[2 * i]) then break end
end
return counts
"""


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._count_script = None

    def get_client(self, key: str | None = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client

    def count_in_order(self, counters: Sequence[tuple[str, int, int]]) -> list[int]:
        client = self.get_client(write=True)
        if self._count_script is None:
            self._count_script = client.register_script(_COUNT_IN_ORDER)
        args = [value for _, window, limit in counters for value in (window, limit)]
        return [int(n) for n in self._count_script(keys=[k for k, _, _ in counters], args=args)]


class SharedRedisCache(RedisCache):
    _clients: ClassVar[dict[tuple, _ReusingClient]] = {}
    _lock = threading.Lock()

    @cached_property
    def _cache(self) -> _ReusingClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = _ReusingClient(self._servers, **self._options)
        return client

    def count_in_order(self, counters: Sequence[tuple[str, int, int]]) -> list[int]:
        """Add one to each ``(key, window seconds, limit)`` counter in order, in one round trip,
        stopping after the first one past its limit; a counter expires ``window`` seconds after
        its first hit. Returns the counts reached (fewer than ``counters`` if it stopped)."""
        return self._cache.count_in_order(
            [(self.make_and_validate_key(key), window, limit) for key, window, limit in counters]
        )
