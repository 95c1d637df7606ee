"""The cache contract, run against the in-memory cache and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from shahr.kernel.cache import Cache, MemoryCache, RateDecision, RateLimiter, RedisCache, make_cache
from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings

PassTime = Callable[[float], Awaitable[None]]


async def test_a_value_set_can_be_read_back_and_deleted(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, _ = cache_and_time
    assert await cache.get("otp:989121234567") is None
    await cache.set("otp:989121234567", b"\x00483920")
    assert await cache.get("otp:989121234567") == b"\x00483920"
    await cache.delete("otp:989121234567")
    assert await cache.get("otp:989121234567") is None
    await cache.delete("otp:989121234567")  # deleting a missing key is not an error


async def test_a_value_with_a_ttl_expires_and_reports_its_time_left(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, pass_time = cache_and_time
    await cache.set("tile:7/84/51", b"png", ttl_s=0.5)
    remaining = await cache.ttl("tile:7/84/51")
    assert remaining is not None
    assert 0.3 < remaining <= 0.5
    await pass_time(0.6)
    assert await cache.get("tile:7/84/51") is None
    assert await cache.ttl("tile:7/84/51") is None


async def test_a_value_without_a_ttl_has_no_expiry(cache_and_time: tuple[Cache, PassTime]) -> None:
    cache, _ = cache_and_time
    await cache.set("tariffs", b"{}")
    assert await cache.ttl("tariffs") is None
    assert await cache.ttl("never-set") is None


async def test_concurrent_increments_are_all_counted(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, _ = cache_and_time
    counts = await asyncio.gather(*(cache.incr("hits", ttl_s=60) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))
    assert await cache.get("hits") == b"50"


async def test_a_counter_taken_back_keeps_its_expiry_and_never_goes_below_zero(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, _ = cache_and_time
    await cache.incr("tries", ttl_s=60)
    await cache.incr("tries", ttl_s=60)
    await cache.decr("tries")
    assert await cache.get("tries") == b"1"
    await cache.decr("tries")
    await cache.decr("tries")
    assert await cache.get("tries") == b"0"
    ttl = await cache.ttl("tries")
    assert ttl is not None
    assert 0 < ttl <= 60


async def test_taking_back_from_a_counter_that_is_gone_does_not_create_it(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, pass_time = cache_and_time
    await cache.incr("tries", ttl_s=0.2)
    await pass_time(0.3)
    await cache.decr("tries")
    assert await cache.get("tries") is None
    # So the next window starts at one, not in credit.
    assert await cache.incr("tries", ttl_s=60) == 1


async def test_the_counter_ttl_is_set_at_creation_and_not_extended(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, pass_time = cache_and_time
    assert await cache.incr("window", ttl_s=0.6) == 1
    await pass_time(0.3)
    assert await cache.incr("window", ttl_s=0.6) == 2
    remaining = await cache.ttl("window")
    assert remaining is not None
    assert remaining <= 0.31
    await pass_time(0.4)
    assert await cache.incr("window", ttl_s=0.6) == 1


async def test_a_non_positive_ttl_is_refused(cache_and_time: tuple[Cache, PassTime]) -> None:
    cache, _ = cache_and_time
    with pytest.raises(ValueError, match="positive"):
        await cache.set("k", b"v", ttl_s=0)
    with pytest.raises(ValueError, match="positive"):
        await cache.incr("k", ttl_s=-1)


async def test_the_rate_limiter_allows_the_limit_then_refuses_until_the_window_ends(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, pass_time = cache_and_time
    limiter = RateLimiter(cache)
    decisions = [await limiter.hit("otp:989121234567", limit=3, window_s=2) for _ in range(3)]
    assert decisions == [
        RateDecision(allowed=True, remaining=2, retry_after_s=0),
        RateDecision(allowed=True, remaining=1, retry_after_s=0),
        RateDecision(allowed=True, remaining=0, retry_after_s=0),
    ]
    assert await limiter.hit("otp:989121234567", limit=3, window_s=2) == RateDecision(
        allowed=False, remaining=0, retry_after_s=2
    )
    await pass_time(1.05)
    refused = await limiter.hit("otp:989121234567", limit=3, window_s=2)
    assert refused == RateDecision(allowed=False, remaining=0, retry_after_s=1)
    await pass_time(1.0)
    allowed = await limiter.hit("otp:989121234567", limit=3, window_s=2)
    assert allowed == RateDecision(allowed=True, remaining=2, retry_after_s=0)


async def test_a_hit_given_back_is_allowed_again_in_the_same_window_and_no_more(
    cache_and_time: tuple[Cache, PassTime],
) -> None:
    cache, pass_time = cache_and_time
    limiter = RateLimiter(cache)
    assert (await limiter.hit("otp:989121234567", limit=1, window_s=2)).allowed
    await limiter.give_back("otp:989121234567")
    assert (await limiter.hit("otp:989121234567", limit=1, window_s=2)).allowed
    assert not (await limiter.hit("otp:989121234567", limit=1, window_s=2)).allowed
    # Giving back never leaves a counter behind the window, nor one below zero.
    await pass_time(2.05)
    await limiter.give_back("otp:989121234567")
    await limiter.give_back("otp:989121234567")
    assert await cache.get("rate:otp:989121234567") is None
    assert (await limiter.hit("otp:989121234567", limit=1, window_s=2)).allowed
    assert not (await limiter.hit("otp:989121234567", limit=1, window_s=2)).allowed


async def test_rate_limits_are_kept_per_key(cache_and_time: tuple[Cache, PassTime]) -> None:
    cache, _ = cache_and_time
    limiter = RateLimiter(cache)
    assert (await limiter.hit("ip:10.0.0.1", limit=1, window_s=60)).allowed
    assert not (await limiter.hit("ip:10.0.0.1", limit=1, window_s=60)).allowed
    assert (await limiter.hit("ip:10.0.0.2", limit=1, window_s=60)).allowed


def test_settings_without_a_redis_url_give_the_memory_cache(clock: FixedClock) -> None:
    assert isinstance(make_cache(Settings(redis_url=None), clock), MemoryCache)


async def test_settings_with_a_redis_url_give_redis_without_connecting(clock: FixedClock) -> None:
    # Port 9 (discard) has nothing listening: building the cache must not try to connect.
    cache = make_cache(Settings(redis_url="redis://127.0.0.1:9/0"), clock)
    assert isinstance(cache, RedisCache)
    await cache.stop()


@pytest.mark.redis
async def test_a_burst_on_a_small_redis_pool_waits_for_a_connection_instead_of_failing(
    request: pytest.FixtureRequest,
) -> None:
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    url = root.service_url("redis")
    prefix = f"shahr-test:{uuid.uuid4().hex[:10]}:"
    cache = RedisCache(url, prefix=prefix, max_connections=2, pool_timeout_s=30)
    try:
        counts = await asyncio.gather(*(cache.incr("burst", ttl_s=60) for _ in range(200)))
        assert sorted(counts) == list(range(1, 201))
    finally:
        await cache.delete("burst")
        await cache.stop()


async def test_the_memory_cache_lets_go_of_a_flood_of_expired_keys(clock: FixedClock) -> None:
    cache = MemoryCache(clock)
    for n in range(5000):
        await cache.incr(f"rate:10.0.{n // 250}.{n % 250}", ttl_s=60)
    clock.advance(timedelta(seconds=61))

    for n in range(5000):
        await cache.incr(f"rate:made-up-{n}", ttl_s=60)

    # The first flood has expired and is gone, not merely unreadable.
    assert len(cache) <= 5000
