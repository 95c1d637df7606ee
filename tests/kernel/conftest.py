"""Each kernel port once per adapter: embedded always, real when its service is named.

Real adapters get a random city, topic prefix or key prefix per test and clean up after
themselves, so runs against a shared service never see each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import cast

import nats
import pytest
import redis.asyncio as redis

from shahr.kernel.cache import Cache, MemoryCache, RedisCache
from shahr.kernel.clock import FixedClock
from shahr.kernel.mqtt import DeviceBroker, InProcessBroker, MqttBroker
from shahr.kernel.stream import InProcessStream, JetStreamStream, Stream

Eventually = Callable[..., Awaitable[None]]
PassTime = Callable[[float], Awaitable[None]]


def service_url(request: pytest.FixtureRequest, service: str) -> str:
    """`service_url` from tests/conftest.py, which is a pytest plugin rather than a package."""
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    return cast(str, root.service_url(service))


async def _eventually(condition: Callable[[], bool], *, timeout_s: float = 5.0) -> None:
    """Poll until `condition()` holds, failing the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout_s} s")
        await asyncio.sleep(0.01)


@pytest.fixture
def eventually() -> Eventually:
    return _eventually


@pytest.fixture
def city() -> str:
    # Stream and consumer names derive from the city, so each test gets its own streams.
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.nats)])
async def stream(request: pytest.FixtureRequest, city: str) -> AsyncIterator[Stream]:
    if request.param == "embedded":
        embedded = InProcessStream(city=city)
        yield embedded
        await embedded.stop()
        return
    url = service_url(request, "nats")
    # Short delays keep redelivery tests quick; production keeps the defaults.
    jetstream = JetStreamStream(url, city=city, redeliver_delay_s=0.05, ack_wait_s=5.0)
    yield jetstream
    await jetstream.stop()
    nc = await nats.connect(url)
    try:
        jsm = nc.jsm()
        for name in jetstream.stream_names.values():
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await jsm.delete_stream(name)
    finally:
        await nc.close()


@pytest.fixture
def topic_prefix() -> str:
    return f"shahr-test/{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.mqtt)])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[DeviceBroker]:
    if request.param == "embedded":
        embedded = InProcessBroker()
        yield embedded
        await embedded.stop()
        return
    real = MqttBroker(service_url(request, "mqtt"), timeout_s=5.0)
    yield real
    await real.stop()


@pytest.fixture
async def real_broker(request: pytest.FixtureRequest) -> AsyncIterator[MqttBroker]:
    """Only the real adapter, for behaviour the in-process broker cannot show (lost sockets)."""
    real = MqttBroker(service_url(request, "mqtt"), timeout_s=5.0)
    yield real
    await real.stop()


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.redis)])
async def cache_and_time(
    request: pytest.FixtureRequest, clock: FixedClock
) -> AsyncIterator[tuple[Cache, PassTime]]:
    """A cache with a way to let time pass: the fixed clock for memory, the wall for Redis."""
    if request.param == "embedded":

        async def advance(seconds: float) -> None:
            clock.advance(timedelta(seconds=seconds))

        memory = MemoryCache(clock)
        yield memory, advance
        await memory.stop()
        return
    url = service_url(request, "redis")
    prefix = f"shahr-test:{uuid.uuid4().hex[:10]}:"
    real = RedisCache(url, prefix=prefix)
    yield real, asyncio.sleep
    await real.stop()
    cleaner = redis.Redis.from_url(url)
    try:
        keys = [key async for key in cleaner.scan_iter(match=prefix + "*")]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()
