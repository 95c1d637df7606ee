"""The command centre in a browser, from a detection to the scene cleared: an operator at a
desk (Persian, then English) and a police unit on its phone, each in a browser of its own.

The detection is opened as the detector job opens one (core's `open_detected`), in this
test's process on the live server's database; the operator's page finds it at its next
read. Everything after it goes through the pages, and the operator's page follows the
unit's reports over Server-Sent Events without being reloaded.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from shahr.incidents.services import incidents
from shahr.kernel.clock import ShiftedClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings

from .conftest import PHONE, ConsoleLog, LiveServer

pytestmark = pytest.mark.browser

DESK = {"width": 1440, "height": 900}
PERSIAN_DIGIT = re.compile(r"[۱-۹]")


class NoBus:
    """The detection's event has nobody to reach in this process: the page reads it."""

    async def publish(self, event: object) -> None:
        return None


def _sign_in(page: Page, role: str) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", f"demo-{role}")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _context(browser: Browser, server: LiveServer, **options: Any) -> BrowserContext:
    return browser.new_context(
        base_url=server.url, locale="fa-IR", timezone_id="Asia/Tehran", **options
    )


@pytest.fixture
def desk(browser: Browser, live_server: LiveServer, console: ConsoleLog) -> Iterator[Page]:
    context = _context(browser, live_server, viewport=DESK)
    page = context.new_page()
    page.on("console", console.record)
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, console: ConsoleLog) -> Iterator[Page]:
    context = _context(
        browser, live_server, viewport=PHONE, device_scale_factor=2, is_mobile=True,
        has_touch=True, geolocation={"latitude": 35.7, "longitude": 51.4},
        permissions=["geolocation"],
    )  # fmt: skip
    page = context.new_page()
    page.on("console", console.record)
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    yield page
    context.close()


def _api(page: Page, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    answer = page.request.post(path, data=body, headers={"X-CSRF-Token": token})
    assert answer.ok, answer.text()
    result: dict[str, Any] = answer.json()
    return result


def _places(page: Page) -> tuple[str, list[float], list[float]]:
    """A demo segment for the incident (its start), and a junction about 400 m away for the
    unit: nearer than all but one or two of the demo's own units, so it is among those offered."""
    segments = [
        f
        for f in page.request.get("/api/v1/traffic/segments").json()["features"]
        if f["geometry"]["type"] == "LineString"
    ]
    there = segments[len(segments) // 2]
    incident = there["geometry"]["coordinates"][0]

    def metres(point: list[float]) -> float:
        dx = (point[0] - incident[0]) * 111_320 * math.cos(math.radians(incident[1]))
        return math.hypot(dx, (point[1] - incident[1]) * 110_540)

    unit = min(
        (f["geometry"]["coordinates"][0] for f in segments),
        key=lambda point: abs(metres(point) - 400),
    )
    return there["properties"]["id"], incident, unit


def _detect(server: LiveServer, segment_id: str, lon: float, lat: float) -> str:
    database_url = f"sqlite:///{server.var_dir.parent / 'shahr.db'}"

    async def run() -> str | None:
        database = Database(Settings(database_url=database_url).sqlalchemy_url)
        clock = ShiftedClock(server.clock_shift)
        try:
            return await incidents.open_detected(
                database, clock, NoBus(), segment_id=segment_id, lon=lon, lat=lat,  # type: ignore[arg-type]
                detected_at=clock.now(), method="speed_drop", score=0.91,
                evidence={"method": "speed_drop", "score": 0.91},
            )  # fmt: skip
        finally:
            await database.dispose()

    # Playwright's loop runs in this thread: the service runs on a loop of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        opened = pool.submit(asyncio.run, run()).result()
    assert opened is not None
    return opened


def test_an_incident_goes_from_detection_to_clearance_through_the_pages(
    browser: Browser,
    desk: Page,
    phone: Page,
    live_server: LiveServer,
    screenshots: Path,
    console: ConsoleLog,
) -> None:
    _sign_in(desk, "traffic_operator")
    desk.goto("/lang/fa?next=/staff/incidents")
    segment_id, (lon, lat), start = _places(desk)
    unit = _api(desk, "/api/v1/units", {"call_sign": "پ-۱۲", "kind": "patrol_car"})
    _api(desk, f"/api/v1/units/{unit['id']}/position", {"lon": start[0], "lat": start[1]})
    incident = _detect(live_server, segment_id, lon, lat)

    desk.goto("/staff/incidents")
    first = desk.locator(".queue-item").first
    expect(first).to_have_attribute("data-incident-id", incident)
    expect(first).to_have_attribute("data-status", "tentative")
    desk.click("#confirm-incident")
    offer = desk.locator(f'.recommendation[data-unit-id="{unit["id"]}"]')
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("دقیقه از راه معابر")
    expect(desk.locator("#command-map")).to_have_attribute("data-layers-loaded", "true")
    desk.screenshot(path=screenshots / "command-centre-desk-fa.png", full_page=True)
    offer.locator("button[type=submit]").click()
    expect(desk.locator(".assignments")).to_contain_text("پ-۱۲")
    expect(desk.locator("#live-state")).to_have_attribute("data-state", "on")

    _sign_in(phone, "police_unit")
    phone.goto(f"/lang/fa?next=/staff/unit?unit={unit['id']}")
    expect(phone.locator("#assignment")).to_be_visible()
    phone.click("#share-position")
    expect(phone.locator("#position-state")).to_have_attribute("data-kind", "ok")
    phone.click('[data-step="accept"]')
    expect(phone.locator('[data-step="arrived"]')).to_be_visible()
    expect(phone.locator("#position-state")).to_have_attribute("data-kind", "ok")
    phone.screenshot(path=screenshots / "unit-phone-fa.png", full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for step in ("arrived", "lanes-reopened", "cleared"):
        phone.click(f'[data-step="{step}"]')
    expect(phone.locator('[data-step="available"]')).to_be_visible()
    # The unit may look at the dashboard too: it fits the phone.
    phone.goto(f"/staff/incidents?incident={incident}")
    expect(phone.locator("#panel-status")).to_have_attribute("data-status", "cleared")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=screenshots / "command-centre-phone-fa.png", full_page=True)

    # The operator's page follows over SSE: no reload.
    expect(desk.locator("#panel-status")).to_have_attribute("data-status", "cleared")
    expect(desk.locator('[data-kpi="cleared"]')).to_have_text(PERSIAN_DIGIT)
    expect(desk.locator('[data-kpi="incident_clearance"]')).to_contain_text("دقیقه")
    assert desk.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
    desk.screenshot(path=screenshots / "command-centre-cleared-fa.png", full_page=True)

    desk.goto(f"/lang/en?next=/staff/incidents?incident={incident}")
    expect(desk.locator("#panel-status")).to_have_attribute("data-status", "cleared")
    expect(desk.locator('[data-mark="cleared"]')).to_contain_text(re.compile(r"\d"))
    desk.screenshot(path=screenshots / "command-centre-desk-en.png", full_page=True)

    # A phone that refuses its position is told how to allow it.
    refusing = _context(browser, live_server, viewport=PHONE, is_mobile=True)
    try:
        other = refusing.new_page()
        _sign_in(other, "police_unit")
        other.goto(f"/lang/fa?next=/staff/unit?unit={unit['id']}")
        other.click("#share-position")
        expect(other.locator("#position-state")).to_have_attribute("data-kind", "error")
        expect(other.locator("#position-state")).to_contain_text("اشتراک موقعیت خاموش است")
    finally:
        refusing.close()
    assert console.errors == []
