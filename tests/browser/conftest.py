"""Browser tests: Playwright for Python driving Debian's Chromium against the real app.

`live_server` runs `shahr serve --demo` in a subprocess on a free port, with its own var
folder and SQLite database (the SMS outbox, for one, is `<var_dir>/sms-outbox.jsonl`).
`page` is a phone: 390x844, Persian, Tehran time, a new browser context for each test.

Streets are booked only in working hours (06:00-22:00 Tehran time, not on Fridays or
holidays). So that the journeys run whenever CI does, the server and the browser both run
the city's clock shifted to the next working morning when the real one is outside them
(`SHAHR_CLOCK_SHIFT_S`; no shift in working hours).

Chromium is `SHAHR_TEST_CHROMIUM`, or Debian's `/usr/bin/chromium`; Playwright's own
browser download is never used. Without Chromium the suite is skipped, unless
`SHAHR_TEST_REQUIRE_SERVICES=1` (CI), which makes it a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from shahr.kernel.clock import TEHRAN
from shahr.parking.domain import ZoneRules, day_off
from shahr.parking.services import shipped_holidays

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = PROJECT_DIR / "screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
SERVER_START_TIMEOUT_S = 180
# The longest journey books an hour from now and extends it by half an hour; the street
# must still be open when it ends.
JOURNEY_NEEDS = timedelta(hours=2)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder needs Chromium: mark it, so `-m "not browser"` leaves it out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def _missing(reason: str) -> None:
    if os.environ.get("SHAHR_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} and SHAHR_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The Chromium to drive: `SHAHR_TEST_CHROMIUM` if set (it must exist), else Debian's."""
    configured = os.environ.get("SHAHR_TEST_CHROMIUM")
    if configured:
        if not Path(configured).exists():
            pytest.fail(f"SHAHR_TEST_CHROMIUM={configured} does not exist")
        return configured
    if not Path(DEFAULT_CHROMIUM).exists():
        _missing(
            f"browser suite not run: SHAHR_TEST_CHROMIUM is not set, {DEFAULT_CHROMIUM} is missing"
        )
    return DEFAULT_CHROMIUM


# --- the app, for real, in its own process ------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    """The running demo app: its base URL and the var folder it writes to."""

    url: str
    var_dir: Path
    log_path: Path = field(repr=False)
    clock_shift: timedelta = timedelta(0)

    def now(self) -> datetime:
        """The server's now, in Tehran."""
        return (datetime.now(UTC) + self.clock_shift).astimezone(TEHRAN)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _shahr_command() -> list[str]:
    script = Path(sys.executable).parent / "shahr"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shahr"]


def shift_into_working_hours(now: datetime) -> timedelta:
    """Nothing when a journey can be booked from `now`, else the way to 09:00 of the next
    working day in Tehran."""
    rules, holidays = ZoneRules(), shipped_holidays()
    local = now.astimezone(TEHRAN)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    opens = midnight + timedelta(minutes=rules.opens_min)
    closes = midnight + timedelta(minutes=rules.closes_min)
    if not day_off(local.date(), rules, holidays) and opens <= local <= closes - JOURNEY_NEEDS:
        return timedelta(0)
    day = local.date() if local < opens else local.date() + timedelta(days=1)
    while day_off(day, rules, holidays):
        day += timedelta(days=1)
    morning = datetime.combine(day, time_of_day(9, 0), tzinfo=TEHRAN)
    return timedelta(seconds=round((morning - local).total_seconds()))


def _server_environment(var_dir: Path, database: Path, shift: timedelta) -> dict[str, str]:
    # The live server is the embedded shape only: no variable of the developer's own setup
    # (a PostgreSQL URL, a broker) may leak into it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAHR_")}
    env.update(
        SHAHR_VAR_DIR=str(var_dir),
        SHAHR_DATABASE_URL=f"sqlite:///{database}",
        SHAHR_COOKIE_SECURE="0",
        SHAHR_CLOCK_SHIFT_S=str(int(shift.total_seconds())),
        # Every browser of the suite signs in from 127.0.0.1, one server for the session.
        SHAHR_OTP_REQUESTS_PER_ADDRESS="1000",
        SHAHR_OTP_VERIFIES_PER_ADDRESS="1000",
        SHAHR_STAFF_SIGN_INS_PER_ADDRESS="1000",
        SHAHR_STAFF_SIGN_INS_PER_ADDRESS_AND_USERNAME="1000",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], server: LiveServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"shahr serve --demo exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(
        f"shahr serve --demo gave no /healthz in {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}"
    )


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, chromium_executable: str
) -> Iterator[LiveServer]:
    """`shahr serve --demo` on a free port, with a var folder and SQLite file of its own."""
    root = tmp_path_factory.mktemp("live-server")
    var_dir = root / "var"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    shift = shift_into_working_hours(datetime.now(UTC))
    server = LiveServer(url, var_dir, root / "server.log", shift)
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  # our own command line, no shell
            [*_shahr_command(), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=_server_environment(var_dir, root / "shahr.db", shift),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(url, process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- the browser ---------------------------------------------------------------------------


# Playwright's sync API marks its event loop as running in the main thread between calls,
# and pytest-asyncio cannot start a loop of its own while it is. So the driver and the browser
# live as long as this folder's tests, not the session: they are gone (and the loop closed)
# before the async tests of the folders after it run. Tests here are plain `def` tests.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright  # only browser runs load it

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright, chromium_executable: str) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@dataclass
class ConsoleLog:
    """What the page said on its console: errors, CSP refusals, uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, console: ConsoleLog) -> Iterator[Page]:
    """A phone in Tehran: 390x844, Persian, Asia/Tehran, cookies of its own; paths are the app's."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fa-IR",
        timezone_id="Asia/Tehran",
    )
    if live_server.clock_shift:
        # Time flows from there as usual; the page and the server agree on "now".
        context.clock.install(time=datetime.now(UTC) + live_server.clock_shift)
    opened = context.new_page()
    opened.on("console", console.record)
    opened.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    yield opened
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where browser tests save what they saw (gitignored), to look at after a run."""
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    return SCREENSHOT_DIR
