"""A citizen on a phone finds a meter on the map, picks a bay and a time, sees the quote,
pays at the sandbox bank, watches the bay light turn green, then extends and reads the
receipt. Also the map and a meter's page in English.

The live server's clock is in working hours whenever this runs (see conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shahr.demo.domain import DEMO_CITIZEN_PHONE

from .conftest import PHONE, ConsoleLog, LiveServer
from .test_citizen_sign_in import sign_in

pytestmark = pytest.mark.browser

PLATE = "12B345-67"
SAMPLE_CARD = "6037990000000006"
LIGHT_TIMEOUT_MS = 20_000


def shot(page: Page, screenshots: Path, name: str, *, at: str | None = None) -> None:
    """What the phone's screen shows (scrolled to `at`), and the whole page."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width}px wide on a phone"
    if at is not None:
        page.locator(at).first.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.screenshot(path=screenshots / f"parking-{name}.png")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshots / f"parking-{name}-full.png", full_page=True)


def ensure_vehicle(page: Page) -> None:
    """The demo citizen's car, registered once (the sign-in test may have done it)."""
    page.goto("/account")
    if page.locator(f'.vehicle[data-plate="{PLATE}"]').count() == 0:
        page.locator("#kind").select_option("car")
        page.locator("#first").fill("۱۲")
        page.locator("#letter").select_option("B")
        page.locator("#middle").fill("۳۴۵")
        page.locator("#region").fill("۶۷")
        page.get_by_role("button", name="ثبت خودرو").click()
    expect(page.locator(f'.vehicle[data-plate="{PLATE}"]')).to_have_count(1)


def choose_vehicle(page: Page) -> None:
    """The vehicle picker lists the account's vehicles; a plain plate box takes it typed."""
    picker = page.locator("#plate")
    if picker.evaluate("element => element.tagName") == "SELECT":
        picker.select_option(PLATE)
    elif picker.input_value() != PLATE:
        picker.fill(PLATE)
        picker.press("Enter")
        page.wait_for_load_state()


def test_a_citizen_books_a_bay_pays_online_and_sees_the_bay_light_turn_green(
    page: Page, live_server: LiveServer, screenshots: Path, console: ConsoleLog
) -> None:
    sign_in(
        page, live_server, typed_phone="۰۹۱۲ ۰۰۰ ۰۰۰۱", canonical="+98" + DEMO_CITIZEN_PHONE[1:]
    )
    ensure_vehicle(page)

    # The map: District 2, meters with their free bays, nearest first.
    page.goto("/parking")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#parking-map")).to_have_attribute("data-ready", "true")
    expect(page.locator(".meter-pin").first).to_be_visible()
    expect(page.get_by_role("heading", name="پارک حاشیه‌ای")).to_be_visible()
    shot(page, screenshots, "1-map-fa")

    free_meter = page.locator(".meter-item:not(.is-full):not(.is-closed) .meter-link").first
    street = free_meter.locator(".meter-street").inner_text()
    free_meter.click()
    expect(page).to_have_url(re.compile(r"/parking/meters/\d+"))
    expect(page.get_by_role("heading", name=street)).to_be_visible()
    choose_vehicle(page)
    expect(page.locator(".bay")).to_have_count(8)
    shot(page, screenshots, "2-meter-fa", at="#meter-form")

    # A free bay for an hour from now (the form's default): the page asks for the quote as
    # soon as a bay is picked.
    expect(page.locator("#start")).to_have_value("now")
    expect(page.locator("#duration_min")).to_have_value("60")
    bay = page.locator('.bay[data-state="free"]').first
    bay_number = bay.get_attribute("data-bay-number")
    bay.click()
    quote = page.locator("#quote")
    expect(quote.get_by_role("heading", name="برآورد هزینهٔ شما")).to_be_visible()
    expect(quote.locator(".breakdown-first")).to_contain_text("نیم‌ساعت ×")
    expect(quote.locator(".total-toman")).to_contain_text("تومان")
    expect(quote.locator(".no-fees")).to_be_visible()
    shot(page, screenshots, "3-quote-fa", at="#quote")

    # Reserve and pay by card at the sandbox bank.
    quote.locator('input[name="method"][value="psp"]').check()
    quote.locator(".reserve-button").click()
    expect(page).to_have_url(re.compile(r"/sandbox-psp/pay/"))
    shot(page, screenshots, "4-bank-fa")
    page.locator("#card_number").fill(SAMPLE_CARD)
    page.locator("#cvv2").fill("123")
    page.locator("#expiry_month").fill("12")
    page.locator("#expiry_year").fill("08")
    page.locator("#pin").fill("12345")
    page.get_by_role("button", name="پرداخت", exact=True).click()

    # Back on the confirmation page: paid, and the meter's light turns green by itself.
    expect(page).to_have_url(re.compile(r"/parking/reservations/[0-9a-f-]+\?"))
    expect(page.locator(".status-badge")).to_have_text("پرداخت و رزرو شد", timeout=15_000)
    light = page.locator("#bay-light")
    expect(light).to_have_attribute("data-desired", "green", timeout=LIGHT_TIMEOUT_MS)
    expect(light).to_have_attribute("data-reported", "green", timeout=LIGHT_TIMEOUT_MS)
    expect(light.locator(f'.lamp-mine[data-bay-number="{bay_number}"]')).to_have_class(
        re.compile("lamp-green")
    )
    expect(light.locator(".light-reported")).to_contain_text("سبز")
    plate = page.locator(".reservation-plate .plate")
    expect(plate).to_have_attribute("aria-label", "۱۲ ب ۳۴۵ ایران ۶۷")
    expect(plate).to_have_text("۱۲ ب ۳۴۵ ایران ۶۷")
    shot(page, screenshots, "5-confirmation-fa")
    reservation_path = page.url.split("?")[0].removeprefix(live_server.url)

    # My parking: the stay is running; extend by half an hour, the price shown before paying.
    page.goto("/parking/my")
    stay = page.locator(
        f'.stay-running[data-reservation-id="{reservation_path.rsplit("/", 1)[-1]}"]'
    )
    expect(stay).to_be_visible()
    stay.locator(".action-extend > summary").click()
    first_choice = stay.locator('select[name="ends_at"] option').first
    expect(first_choice).to_contain_text("بیشتر")
    stay.locator(".action-end > summary").click()
    expect(stay.locator(".refund-preview")).to_be_visible()
    shot(page, screenshots, "6-my-parking-fa", at=".stays-current")
    stay.locator(".action-end > summary").click()
    stay.locator('.action-extend input[name="method"][value="wallet"]').check()
    stay.get_by_role("button", name="پرداخت و تمدید").click()
    expect(page.locator(".done-notice")).to_have_text("پارک شما تمدید شد.")
    # Paid from the wallet at once; the page waits for parking to take the payment in.
    expect(page.locator(".confirming-notice")).to_have_count(0, timeout=15_000)
    expect(page.locator(".receipt-link")).to_have_count(2)
    expect(page.locator(".extension-pending")).to_have_count(0)
    expect(page.locator("#bay-light")).to_have_attribute(
        "data-reported", "green", timeout=LIGHT_TIMEOUT_MS
    )
    shot(page, screenshots, "7-extended-fa", at="#bay-light")

    # The receipt of the extension, from the payments area.
    page.locator(".receipt-link").last.click()
    expect(page).to_have_url(re.compile(r"/payments/[^/]+/receipt"))
    expect(page.get_by_role("heading", name="رسید پرداخت")).to_be_visible()
    shot(page, screenshots, "8-receipt-fa")

    assert [e for e in console.errors if "Content Security Policy" in e] == []
    assert [e for e in console.errors if e.startswith("uncaught")] == []


def test_the_map_and_a_meter_read_in_english(
    page: Page, live_server: LiveServer, screenshots: Path, console: ConsoleLog
) -> None:
    page.goto("/lang/en?next=/parking")

    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", name="Street parking")).to_be_visible()
    expect(page.locator("#parking-map")).to_have_attribute("data-ready", "true")
    expect(page.locator(".meter-item").first).to_contain_text("per half-hour")
    shot(page, screenshots, "9-map-en")

    # "Near me" asks the phone where it is and lists the meters around it.
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 35.7660, "longitude": 51.3630})
    page.get_by_role("button", name="Near me").click()
    expect(page).to_have_url(re.compile(r"lon=51\.363.*lat=35\.766|lat=35\.766.*lon=51\.363"))
    expect(page.locator(".parking-where")).to_contain_text("Meters near the place you chose")
    expect(page.locator(".meter-item").first).to_contain_text("Farahzadi Boulevard")

    page.locator(".meter-item .meter-link").first.click()
    expect(page).to_have_url(re.compile(r"/parking/meters/\d+"))
    expect(page.get_by_role("heading", name="Your vehicle and time")).to_be_visible()
    expect(page.locator(".bay")).to_have_count(8)
    expect(page.locator("#quote")).to_contain_text("Toman")
    shot(page, screenshots, "10-meter-en", at="#bays")

    assert [e for e in console.errors if "Content Security Policy" in e] == []
    assert [e for e in console.errors if e.startswith("uncaught")] == []
