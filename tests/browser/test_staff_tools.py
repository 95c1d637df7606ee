"""The staff tools on a phone, in Persian and English: each demo staff member signs in and
opens their tool, which fits 390px with nothing cut off and says nothing on the console."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import PHONE, ConsoleLog

pytestmark = pytest.mark.browser

TOOLS = [
    ("parking_operator", "/staff/parking/meters", "#meter-board .meter-line"),
    ("parking_operator", "/staff/parking/meters/1", "#meter-bays .bay-card"),
    ("traffic_operator", "/staff/traffic/detectors", "#detector-map.map-ready"),
    ("traffic_operator", "/staff/traffic/inventory", ".inventory-line"),
    ("traffic_operator", "/staff/traffic/cameras", "#add summary"),
    ("admin", "/staff/admin/accounts", ".account-line"),
]


def sign_in_as_demo_staff(page: Page, role: str) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", f"demo-{role}")
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize(("role", "path", "shown"), TOOLS)
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_each_staff_tool_opens_for_its_role_and_fits_a_phone(
    page: Page,
    screenshots: Path,
    console: ConsoleLog,
    role: str,
    path: str,
    shown: str,
    lang: str,
) -> None:
    sign_in_as_demo_staff(page, role)
    page.goto(f"/lang/{lang}?next={path}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator(shown).first).to_be_visible()
    if "detectors" in path:
        detectors = page.locator("#detector-map")
        expect(detectors).to_have_attribute("data-layers-loaded", "true")
        expect(detectors).to_have_attribute("data-detectors-count", re.compile(r"[1-9]\d*"))
    if lang == "fa":
        text = page.locator("main").inner_text()
        # Digits are Persian, but for device ids, usernames and plates (shown as on metal).
        for ascii_number in re.findall(r"(?<![\w-])[0-9]+(?![\w-])", text):
            pytest.fail(f"an ASCII number on the Persian page: {ascii_number}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    name = path.strip("/").replace("/", "-")
    page.screenshot(path=screenshots / f"{name}-{lang}.png", full_page=True)
    assert console.errors == []


def test_a_parking_operator_is_refused_the_accounts(page: Page) -> None:
    sign_in_as_demo_staff(page, "parking_operator")
    response = page.goto("/staff/admin/accounts")
    assert response is not None
    assert response.status == 403
