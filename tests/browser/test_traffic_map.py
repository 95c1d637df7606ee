"""The live traffic map on a phone: the demo's streets coloured by level of service from the
digital twin, updating by Server-Sent Events, the district cards, and the time slider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import PHONE, ConsoleLog

pytestmark = pytest.mark.browser

# The twin publishes the first minutes at once, then one interval a minute; a fresh server
# may still be loading its network when the page opens.
LIVE_TIMEOUT_MS = 150_000


def test_a_citizen_sees_live_traffic_by_district_in_persian(
    page: Page, screenshots: Path, console: ConsoleLog
) -> None:
    page.goto("/traffic")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#traffic-title")).to_have_text("ترافیک زنده")
    expect(page.locator("#traffic-map")).to_have_attribute("data-layers-loaded", "true")
    segments = int(page.get_attribute("#traffic-map", "data-segments-count") or 0)
    assert segments > 100, "the demo's road network is drawn"

    # States arrive over the live stream, and streets take a level-of-service colour: the
    # twin's detectors measure some, the rest are estimated from them.
    live_map = page.locator("#traffic-map")
    expect(live_map).to_have_attribute(
        "data-measured-count", re.compile(r"[1-9]\d*"), timeout=LIVE_TIMEOUT_MS
    )
    assert int(live_map.get_attribute("data-live-updates") or 0) >= 1
    assert int(live_map.get_attribute("data-estimated-count") or 0) > 0

    # District cards follow within a minute: a travel time index, in Persian digits.
    cards = page.locator("#district-cards .district-card")
    expect(page.locator("#district-cards .card-figure").first).to_be_visible(
        timeout=LIVE_TIMEOUT_MS
    )
    expect(page.locator("#traffic-summary")).to_contain_text("اندازه‌گیری")
    expect(cards.first.locator("h3")).to_contain_text("منطقه")
    assert re.search(r"[0-9]", cards.first.inner_text()) is None, "digits are Persian"

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots / "traffic-fa.png")
    page.screenshot(path=screenshots / "traffic-fa-full.png", full_page=True)

    # Three hours back on the slider: the label says so and the history answers.
    with page.expect_response(re.compile(r"/api/v1/traffic/history\?at=")) as answer:
        page.locator("#traffic-time").fill("-3")
        page.locator("#traffic-time").dispatch_event("change")
    assert answer.value.status == 200
    expect(page.locator("#traffic-time-label")).to_contain_text("۳")
    assert console.errors == []
