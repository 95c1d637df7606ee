"""Shared fixtures: fixed clocks, and the real services named by `SHAHR_TEST_*` variables.

A suite marked `postgres`, `nats`, `mqtt` or `redis` runs against the service its variable
names. Without the variable it is skipped with the reason, unless
`SHAHR_TEST_REQUIRE_SERVICES=1` (set by CI), which turns a missing service into a failure.

Under pytest-xdist (`make test` runs a worker per CPU) each worker has a PostgreSQL database of its
own (`<the named database>_gw0`, made and dropped here) and the Redis database numbered
after the named one plus the worker's index (`/10` gives gw0 `/10`, gw1 `/11`). NATS and MQTT
tests already name their streams, consumers, topics and client ids after a random city or
prefix per test, so workers share those brokers safely.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse, urlunparse

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


def xdist_worker() -> str | None:
    """This process's pytest-xdist worker (`gw0`, `gw1`, ...), or None when run alone."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def for_this_worker(service: str, url: str) -> str:
    """The service's URL as this worker uses it: its own PostgreSQL database and Redis db."""
    worker = xdist_worker()
    if worker is None:
        return url
    parsed = urlparse(url)
    if service == "postgres":
        return urlunparse(parsed._replace(path=f"{parsed.path}_{worker}"))
    if service == "redis":
        index = int(worker.removeprefix("gw"))
        return urlunparse(parsed._replace(path=f"/{int(parsed.path.strip('/') or 0) + index}"))
    return url


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
    return for_this_worker(service, url)


# --- which tests a worker runs together (`make test` runs `--dist loadgroup`) ---

TESTS_DIR = Path(__file__).resolve().parent
# A parameter that splits a file into units of work, each with its own costly set-up: the
# contract tests build and seed one app per database.
SPLITTING_PARAMETERS = ("contract_database",)


def _of_a_sub_folder(function: Callable[..., object]) -> bool:
    defined_in = Path(inspect.getfile(function)).resolve()
    return TESTS_DIR in defined_in.parents and defined_in.parent != TESTS_DIR


def worker_group(item: pytest.Item) -> str:
    """The unit of work one xdist worker takes whole: a file, as `--dist loadfile` would, so
    a module's fixtures are made once. A session fixture of a sub-folder (a SUMO run) is made
    by one worker only: its tests are one unit, per parameter."""
    if Path(str(item.path)).relative_to(TESTS_DIR).parts[0] == "browser":
        # One live server and one Chromium; Playwright's loop closes only between folders.
        return "browser"
    params = item.callspec.params if hasattr(item, "callspec") else {}
    definitions = item._fixtureinfo.name2fixturedefs  # pytest has no public way
    for name in sorted(item.fixturenames):
        made = definitions.get(name)
        if made and made[-1].scope == "session" and _of_a_sub_folder(made[-1].func):
            return f"{name}[{params[name]}]" if name in params else name
    file = item.nodeid.split("::")[0]
    return file + "".join(f"[{params[n]}]" for n in SPLITTING_PARAMETERS if n in params)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if xdist_worker() is None:
        return
    for item in items:
        item.add_marker(pytest.mark.xdist_group(worker_group(item)))


# A test's measured figures, printed at the end of the run: under xdist a worker's own
# output never reaches the terminal, but its reports' user properties do.
FIGURES = "figures"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tables = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
        for name, value in report.user_properties
        if name == FIGURES
    ]
    if tables:
        terminalreporter.section("figures measured by the tests")
        for table in tables:
            terminalreporter.write_line(f"{table}\n")


@pytest.fixture
def show_figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Print a table of measured figures at the end of the run (with any number of workers)."""
    return lambda table: request.node.user_properties.append((FIGURES, table))


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


def _in_a_thread_of_its_own(statement: str, url: str) -> None:
    """Run one statement outside any running event loop (fixtures may be asked from one)."""
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def postgres_migrated() -> Iterator[str]:
    """The named PostgreSQL database, migrated; under xdist, a new one for this worker."""
    url = service_url("postgres")
    worker_database = xdist_worker() is not None
    if worker_database:
        # Made from the named database's server, on a connection to the named database.
        named = os.environ[SERVICE_VARIABLES["postgres"]]
        name = urlparse(url).path.lstrip("/")
        _in_a_thread_of_its_own(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', named)
        _in_a_thread_of_its_own(f'CREATE DATABASE "{name}"', named)
    migrate(url)
    yield url
    if worker_database:
        _in_a_thread_of_its_own(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', named)


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
