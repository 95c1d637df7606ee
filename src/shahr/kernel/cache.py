"""The cache port and fixed-window rate limits, kept in memory or in Redis."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import redis.asyncio as redis

from shahr.kernel.clock import Clock
from shahr.kernel.settings import Settings


class Cache(Protocol):
    """Bytes by key with optional expiry, and an atomic counter for rate limits."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, *, ttl_s: float) -> int:
        """Add one atomically; a key created here (or found without expiry) gets `ttl_s`."""
        ...

    async def decr(self, key: str) -> None:
        """Take one back from a live counter, never below zero; a missing key stays missing."""
        ...

    async def ttl(self, key: str) -> float | None:
        """Seconds until the key expires; None when it is missing or never expires."""
        ...

    async def ping(self) -> None:
        """Raise if the cache is unreachable."""
        ...

    async def stop(self) -> None: ...


def _check_ttl(ttl_s: float | None) -> None:
    if ttl_s is not None and not ttl_s > 0:
        raise ValueError(f"a TTL must be positive, not {ttl_s}")


@dataclass
class _Entry:
    value: bytes
    expires_at: datetime | None


class MemoryCache:
    """The embedded cache: a dict whose expiry follows the injected clock."""

    # Expired entries are dropped when read, and all at once whenever the dict has doubled:
    # a flood of one-off keys (a rate limit per address, a count per made-up username)
    # would otherwise stay in memory long after it expired.
    _FIRST_SWEEP_AT = 1024

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._sweep_at = self._FIRST_SWEEP_AT

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return None if entry is None else entry.value

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        _check_ttl(ttl_s)
        self._entries[key] = _Entry(bytes(value), self._expiry(ttl_s))
        self._sweep_when_grown()

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def incr(self, key: str, *, ttl_s: float) -> int:
        # No await between reading and writing, so this is atomic within the event loop.
        _check_ttl(ttl_s)
        entry = self._live(key)
        if entry is None:
            entry = self._entries[key] = _Entry(b"0", self._expiry(ttl_s))
            self._sweep_when_grown()
        elif entry.expires_at is None:
            entry.expires_at = self._expiry(ttl_s)
        try:
            count = int(entry.value) + 1
        except ValueError:
            raise ValueError(f"{key!r} does not hold an integer") from None
        entry.value = str(count).encode()
        return count

    async def decr(self, key: str) -> None:
        entry = self._live(key)
        if entry is not None:
            entry.value = str(max(0, int(entry.value) - 1)).encode()

    async def ttl(self, key: str) -> float | None:
        entry = self._live(key)
        if entry is None or entry.expires_at is None:
            return None
        return (entry.expires_at - self._clock.now()).total_seconds()

    async def ping(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._entries)

    def _sweep_when_grown(self) -> None:
        if len(self._entries) < self._sweep_at:
            return
        now = self._clock.now()
        self._entries = {
            key: entry
            for key, entry in self._entries.items()
            if entry.expires_at is None or entry.expires_at > now
        }
        self._sweep_at = max(self._FIRST_SWEEP_AT, 2 * len(self._entries))

    def _expiry(self, ttl_s: float | None) -> datetime | None:
        return None if ttl_s is None else self._clock.now() + timedelta(seconds=ttl_s)

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        expires_at = None if entry is None else entry.expires_at
        if expires_at is not None and expires_at <= self._clock.now():
            del self._entries[key]
            return None
        return entry


# INCR and PEXPIRE in one script, so a crash between them cannot leave a counter that never
# expires and locks someone out for good.
_INCR_WITH_TTL = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""
# DECR on a missing key would create one without expiry; the window's TTL stays as it was.
_DECR_IF_LIVE = """
local count = tonumber(redis.call('GET', KEYS[1]))
if count and count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisCache:
    """The city-scale cache on Redis; every key is put under `prefix`."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "shahr:",
        max_connections: int = 50,
        pool_timeout_s: float = 5.0,
    ) -> None:
        self._prefix = prefix
        # A burst waits (at most `pool_timeout_s`) for a free connection instead of failing
        # at once or opening one connection per request. from_url does not connect.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=pool_timeout_s
        )
        self._redis: redis.Redis = redis.Redis.from_pool(pool)
        self._incr = self._redis.register_script(_INCR_WITH_TTL)
        self._decr = self._redis.register_script(_DECR_IF_LIVE)

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._key(key))
        # The client is built without decode_responses, so values come back as bytes.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        _check_ttl(ttl_s)
        await self._redis.set(self._key(key), value, px=_ms(ttl_s) if ttl_s is not None else None)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    async def incr(self, key: str, *, ttl_s: float) -> int:
        _check_ttl(ttl_s)
        count = await self._incr(keys=[self._key(key)], args=[_ms(ttl_s)])
        return int(count)

    async def decr(self, key: str) -> None:
        await self._decr(keys=[self._key(key)])

    async def ttl(self, key: str) -> float | None:
        remaining_ms = int(await self._redis.pttl(self._key(key)))
        # Redis answers -2 for a missing key and -1 for one without expiry.
        return None if remaining_ms < 0 else remaining_ms / 1000

    async def ping(self) -> None:
        await self._redis.ping()

    async def stop(self) -> None:
        await self._redis.aclose()

    def _key(self, key: str) -> str:
        return self._prefix + key


def _ms(seconds: float) -> int:
    # Round up: a TTL must never end before the caller asked.
    return max(1, math.ceil(seconds * 1000))


@dataclass(frozen=True)
class RateDecision:
    """Whether one more attempt is allowed, how many are left, and when to try again if not."""

    allowed: bool
    remaining: int
    retry_after_s: int


class RateLimiter:
    """Fixed-window limits: at most `limit` hits per key in each `window_s` window."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def hit(self, key: str, *, limit: int, window_s: int) -> RateDecision:
        if limit < 1 or window_s < 1:
            raise ValueError("a rate limit needs limit >= 1 and window_s >= 1")
        count = await self._cache.incr(f"rate:{key}", ttl_s=window_s)
        if count <= limit:
            return RateDecision(allowed=True, remaining=limit - count, retry_after_s=0)
        ttl = await self._cache.ttl(f"rate:{key}")
        # The window may close between the two calls; then one second is an honest answer.
        retry_after_s = max(1, math.ceil(ttl)) if ttl is not None else 1
        return RateDecision(allowed=False, remaining=0, retry_after_s=retry_after_s)

    async def give_back(self, key: str) -> None:
        """Uncount one allowed hit in the current window (the work it allowed did not happen)."""
        await self._cache.decr(f"rate:{key}")


def make_cache(settings: Settings, clock: Clock) -> Cache:
    """The cache the settings name: Redis when `SHAHR_REDIS_URL` is set, else in memory."""
    if settings.redis_url:
        return RedisCache(
            settings.redis_url,
            prefix=f"shahr:{settings.city}:",
            max_connections=settings.redis_max_connections,
            pool_timeout_s=settings.redis_pool_timeout_s,
        )
    return MemoryCache(clock)
