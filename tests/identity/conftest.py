"""Identity's fixtures: the SMS the console adapter kept; the app with its counters in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
import redis.asyncio as redis

from shahr.identity.gateways import SMS, ConsoleSms
from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings

if TYPE_CHECKING:
    from shahr.bootstrap import Container


@pytest.fixture
def sms(container: Container) -> ConsoleSms:
    """The console SMS adapter the app was wired with; it keeps every message it sent."""
    gateway = container.get(SMS)
    assert isinstance(gateway, ConsoleSms)
    return gateway


def _service_url(request: pytest.FixtureRequest, service: str) -> str:
    """`service_url` from tests/conftest.py, which is a pytest plugin rather than a package."""
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    return cast(str, root.service_url(service))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def counted_container(
    request: pytest.FixtureRequest, settings: Settings, clock: FixedClock
) -> AsyncIterator[Container]:
    """The app's parts with the sign-in counters in memory, or in Redis under a fresh city."""
    from shahr import bootstrap

    if request.param == "memory":
        chosen = settings
    else:
        city = f"t{uuid.uuid4().hex[:10]}"
        chosen = settings.model_copy(
            update={"redis_url": _service_url(request, "redis"), "city": city}
        )
    built = bootstrap.build(chosen, clock=clock)
    await built.start()
    yield built
    await built.stop()
    if chosen.redis_url:
        cleaner = redis.Redis.from_url(chosen.redis_url)
        try:
            keys = [key async for key in cleaner.scan_iter(match=f"shahr:{chosen.city}:*")]
            if keys:
                await cleaner.delete(*keys)
        finally:
            await cleaner.aclose()
