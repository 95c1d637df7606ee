"""A citizen on a phone signs in with a one-time code and registers a vehicle by plate."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shahr.demo.domain import DEMO_CITIZEN_PHONE

from .conftest import ConsoleLog, LiveServer

pytestmark = pytest.mark.browser


def sms_lines(server: LiveServer) -> list[dict[str, str]]:
    outbox = server.var_dir / "sms-outbox.jsonl"
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]


def code_sent_after(server: LiveServer, phone: str, seen: int) -> str:
    """The code in the first message to `phone` past the first `seen` lines of the outbox."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in sms_lines(server)[seen:]:
            if message["to"] == phone:
                return message["text"].rsplit(" ", 1)[-1]
        time.sleep(0.1)
    raise AssertionError(f"no SMS to {phone} in the outbox")


def sign_in(
    page: Page,
    server: LiveServer,
    *,
    typed_phone: str,
    canonical: str,
    screenshots: Path | None = None,
) -> None:
    page.goto("/sign-in")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    seen = len(sms_lines(server))
    page.locator("#phone").fill(typed_phone)
    page.get_by_role("button", name="دریافت کد").click()
    expect(page.locator("#code")).to_be_visible()
    code = code_sent_after(server, canonical, seen)
    if screenshots is not None:
        page.screenshot(path=screenshots / "sign-in-code-fa.png", full_page=True)
    page.locator("#code").fill(code)
    page.get_by_role("button", name="ورود", exact=True).click()
    expect(page).to_have_url(f"{server.url}/account")
    # The URL changes before the page's scripts run; the plate boxes check as typed only after.
    page.wait_for_load_state()


def test_a_citizen_signs_in_by_code_and_registers_a_vehicle_shown_as_an_iranian_plate(
    page: Page, live_server: LiveServer, screenshots: Path, console: ConsoleLog
) -> None:
    # The demo citizen's number, typed with Persian digits and spaces as a phone keyboard gives.
    sign_in(
        page,
        live_server,
        typed_phone="۰۹۱۲ ۰۰۰ ۰۰۰۱",
        canonical="+98" + DEMO_CITIZEN_PHONE[1:],
        screenshots=screenshots,
    )
    expect(page.get_by_role("heading", name="حساب شهروندی")).to_be_visible()

    # The plate-shaped input: a box per part, the letter from the list, Persian digits.
    page.locator("#kind").select_option("car")
    page.locator("#first").fill("۱۲")
    page.locator("#letter").select_option("B")
    page.locator("#middle").fill("۳۴۵")
    page.locator("#region").fill("۶۷")
    page.get_by_role("button", name="ثبت خودرو").click()

    vehicle = page.locator('.vehicle[data-plate="12B345-67"]')
    expect(vehicle).to_have_count(1)
    plate = vehicle.locator(".plate")
    expect(plate).to_have_text("۱۲ ب ۳۴۵ ایران ۶۷")
    expect(vehicle.locator(".vehicle-kind")).to_have_text("سواری")
    # On the metal the plate reads left to right, even on a right-to-left page.
    parts = [".plate-first", ".plate-letter", ".plate-middle", ".plate-region"]
    xs = []
    for part in parts:
        box = plate.locator(part).bounding_box()
        assert box is not None
        xs.append(box["x"])
    assert xs == sorted(xs)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshots / "account-vehicle-fa.png", full_page=True)
    assert [e for e in console.errors if "Content Security Policy" in e] == []


def test_a_malformed_plate_shows_an_error_beside_the_field_and_adds_nothing(
    page: Page, live_server: LiveServer, screenshots: Path
) -> None:
    sign_in(page, live_server, typed_phone="0912 555 0101", canonical="+989125550101")
    before = page.locator(".vehicle").count()

    # A Latin letter in a digits box: told as it is typed, and again by the server.
    page.locator("#first").fill("1x")
    expect(page.locator(".plate-live")).to_have_text("در این بخش پلاک فقط رقم نوشته می‌شود.")
    page.locator("#letter").select_option("B")
    page.locator("#middle").fill("345")
    page.locator("#region").fill("67")
    page.get_by_role("button", name="ثبت خودرو").click()

    error = page.locator("#first-error")
    expect(error).to_have_text("در این بخش پلاک فقط رقم نوشته می‌شود.")
    expect(page.locator("#first")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#first")).to_have_value("1x")
    assert page.locator(".vehicle").count() == before
    page.screenshot(path=screenshots / "account-bad-plate-fa.png", full_page=True)
