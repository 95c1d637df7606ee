"""A service that stops answering is a 503 with Retry-After, and readyz names it; the app
recovers by itself when it comes back, and starts without it, serving "not ready".

The outage is real: PostgreSQL and Redis are reached through a TCP proxy the test cuts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI

from shahr import bootstrap
from shahr.kernel.clock import FixedClock
from shahr.kernel.logs import JsonFormatter
from shahr.kernel.settings import Settings
from shahr.web import create_app

from .cuttable import CuttableLink

STATES = "/api/v1/traffic/states"
SECRET = "test-secret-key-not-for-production"


def _root_service_url(request: pytest.FixtureRequest, service: str) -> str:
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    return cast(str, root.service_url(service))


async def _link_to(url: str) -> tuple[CuttableLink, str]:
    parts = urlsplit(url)
    link = CuttableLink(parts.hostname or "127.0.0.1", parts.port or 0)
    await link.start()
    netloc = f"{parts.username}@" if parts.username else ""
    return link, urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{link.port}"))


def _settings(tmp_path: Path, database_url: str, redis_url: str | None = None) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        var_dir=tmp_path / "var",
        secret_key=SECRET,  # type: ignore[arg-type]
        run_jobs=False,
        run_simulators=False,
    )


@pytest.fixture
async def links(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[CuttableLink, CuttableLink, Settings]]:
    database_url = cast(str, request.getfixturevalue("postgres_migrated"))
    database, proxied_database = await _link_to(database_url)
    cache, proxied_cache = await _link_to(_root_service_url(request, "redis"))
    yield database, cache, _settings(tmp_path, proxied_database, proxied_cache)
    await database.cut()
    await cache.cut()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


def _assert_unavailable(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503
    assert problem["detail"] == detail
    assert problem["retry_after_s"] == 5


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_database_outage_is_a_503_and_the_app_recovers_when_it_returns(
    links: tuple[CuttableLink, CuttableLink, Settings], clock: FixedClock
) -> None:
    database, _cache, settings = links
    container = bootstrap.build(settings, clock=clock)
    await container.start()
    english = {"accept-language": "en"}
    async with _client(create_app(container)) as http:
        assert (await http.get(STATES)).status_code == 200

        await database.cut()
        for _ in range(2):  # the pooled connection that dropped, then a new one refused
            _assert_unavailable(
                await http.get(STATES, headers=english),
                "The database is not answering. Try again in a few seconds.",
            )
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("failing: ")
        assert ready.json()["checks"]["cache"] == "ok"

        await database.restore()
        assert (await http.get(STATES)).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
    await container.stop()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_cache_outage_is_a_503_naming_the_cache(
    links: tuple[CuttableLink, CuttableLink, Settings], clock: FixedClock
) -> None:
    _database, cache, settings = links
    container = bootstrap.build(settings, clock=clock)
    await container.start()
    async with _client(create_app(container)) as http:
        await cache.cut()
        response = await http.post(
            "/api/v1/identity/otp/request",
            json={"phone": "09121234567"},
            headers={"accept-language": "en"},
        )
        _assert_unavailable(response, "The cache is not answering. Try again in a few seconds.")
        ready = await http.get("/readyz")
        assert ready.json()["checks"]["cache"].startswith("failing: ")
        assert ready.json()["checks"]["database"] == "ok"

        await cache.restore()
        assert (await http.get("/readyz")).status_code == 200
    await container.stop()


async def _ready_within(http: httpx.AsyncClient, seconds: float) -> httpx.Response:
    """Readiness, asked until it is ready or `seconds` have passed (the retry runs beside)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        response = await http.get("/readyz")
        if response.status_code == 200 or loop.time() > deadline:
            return response
        await asyncio.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.redis
async def test_the_app_starts_without_its_database_and_is_ready_once_it_answers(
    links: tuple[CuttableLink, CuttableLink, Settings],
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database, _cache, settings = links
    await database.cut()
    app = create_app(bootstrap.build(settings, clock=clock))
    async with app.router.lifespan_context(app), _client(app) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not ready"
        assert ready.json()["checks"]["startup"] == "waiting for the database"
        assert ready.json()["checks"]["database"].startswith("failing: ")
        _assert_unavailable(
            await http.get(STATES, headers={"accept-language": "en"}),
            "The database is not answering. Try again in a few seconds.",
        )

        await database.restore()
        assert (await _ready_within(http, 60)).status_code == 200
        assert (await http.get(STATES)).status_code == 200
    said = [r for r in caplog.records if r.name == "shahr.startup" and r.levelno == logging.ERROR]
    assert len(said) == 1
    assert said[0].exc_info is None
    assert said[0].getMessage().startswith("not ready: the database is not answering")


async def test_a_database_never_migrated_is_one_line_naming_the_command(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty.db"
    app = create_app(bootstrap.build(_settings(tmp_path, f"sqlite:///{empty}"), clock=clock))
    async with app.router.lifespan_context(app), _client(app) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == (
            "failing: the database has no tables yet: run `shahr db upgrade`"
        )
        assert (await http.get(STATES)).status_code == 503
    said = [JsonFormatter().format(r) for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1
    assert "not ready: the database has no tables yet: run `shahr db upgrade`" in said[0]
    assert "Traceback" not in said[0]
