"""Shared fixtures: fixed clocks, and the real services named by `SHAHR_TEST_*` variables.

A suite marked `postgres`, `nats`, `mqtt` or `redis` runs against the service its variable
names. Without the variable it is skipped with the reason, unless
`SHAHR_TEST_REQUIRE_SERVICES=1` (set by CI), which turns a missing service into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings

if TYPE_CHECKING:
    from shahr.bootstrap import Container

# No per-example deadline: these machines are shared and noisy, and speed is measured in
# bench/, not asserted in tests. CI derandomises so a run can be repeated exactly.
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

SERVICE_VARIABLES = {
    "postgres": "SHAHR_TEST_DATABASE_URL",
    "nats": "SHAHR_TEST_NATS_URL",
    "mqtt": "SHAHR_TEST_MQTT_URL",
    "redis": "SHAHR_TEST_REDIS_URL",
}

# Thursday 5 Azar 1405, 10:00 in Tehran: a working day inside parking hours.
A_TEHRAN_MORNING = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)


def services_required() -> bool:
    return os.environ.get("SHAHR_TEST_REQUIRE_SERVICES") == "1"


def service_url(service: str) -> str:
    """The URL of a real service for this test, or skip (fail under CI) with the reason."""
    variable = SERVICE_VARIABLES[service]
    url = os.environ.get(variable)
    if not url:
        reason = f"{service} suite not run: {variable} is not set"
        if services_required():
            pytest.fail(reason + " and SHAHR_TEST_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), 2).close()
    except OSError as error:
        reason = f"{service} at {url} is not reachable: {error}"
        if services_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(A_TEHRAN_MORNING)


# --- the database, migrated by Alembic, on SQLite (always) and PostgreSQL (when named) ---

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def migrate(url: str) -> None:
    from shahr.startup import upgrade_database

    upgrade_database(Settings(database_url=url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run; each test gets a copy (fast, isolated)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    url = service_url("postgres")
    migrate(url)
    return url


async def _truncate_all(url: str) -> None:
    from sqlalchemy import text

    from shahr.bootstrap import load_all_tables
    from shahr.kernel.db import Database

    tables = [t.name for t in load_all_tables().sorted_tables]
    if not tables:
        return
    database = Database(Settings(database_url=url).sqlalchemy_url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        await database.dispose()


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database: a copy of the SQLite template, or PostgreSQL truncated."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "shahr.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    else:
        url: str = request.getfixturevalue("postgres_migrated")
        await _truncate_all(url)
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
        demo=True,
        run_jobs=False,  # tests run jobs explicitly, at the fixed clock's time
        run_simulators=False,  # no simulated meters or SUMO twin beside the tests
    )


@pytest.fixture
async def container(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    from shahr import bootstrap

    built = bootstrap.build(settings, clock=clock)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client over the ASGI app (https, so Secure cookies round-trip)."""
    from shahr.web import create_app

    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http
