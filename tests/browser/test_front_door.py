"""The front door on a phone: a newcomer finds, books and pays for a bay from the home page
using only the menu, links and buttons, in Persian and in English; each staff role of the
demo signs in, lands on its workspace and signs out.

The live server's clock is in working hours whenever this runs (see conftest.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from shahr.demo.domain import demo_staff_accounts
from shahr.kernel.principals import Role

from .conftest import PHONE, ConsoleLog, LiveServer
from .test_citizen_sign_in import code_sent_after, sms_lines

pytestmark = pytest.mark.browser

SAMPLE_CARD = "6037990000000006"
LIGHT_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Words:
    """What a reader sees in one language: the names the walk clicks by."""

    lang: str
    menu: str
    parking: str
    wallet: str
    traffic: str
    sign_in_to_book: str
    send_code: str
    sign_in: str
    add_vehicle: str
    pay: str
    paid: str
    your_wallet: str
    live_traffic: str
    workspace: str
    staff_tools: str
    sign_out: str


PERSIAN = Words(
    lang="fa",
    menu="منوی اصلی",
    parking="پارک",
    wallet="کیف پول",
    traffic="ترافیک",
    sign_in_to_book="برای رزرو جایگاه وارد شوید",
    send_code="دریافت کد",
    sign_in="ورود",
    add_vehicle="افزودن این خودرو و رزرو با آن",
    pay="پرداخت",
    paid="پرداخت و رزرو شد",
    your_wallet="کیف پول شما",
    live_traffic="ترافیک زنده",
    workspace="میز کار شما",
    staff_tools="ابزارهای کارکنان",
    sign_out="خروج",
)
ENGLISH = Words(
    lang="en",
    menu="Main menu",
    parking="Parking",
    wallet="Wallet",
    traffic="Traffic",
    sign_in_to_book="Sign in to book a bay",
    send_code="Send code",
    sign_in="Sign in",
    add_vehicle="Add this vehicle and use it",
    pay="Pay",
    paid="Paid and reserved",
    your_wallet="Your wallet",
    live_traffic="Live traffic",
    workspace="Your workspace",
    staff_tools="Staff tools",
    sign_out="Sign out",
)
# A newcomer in each language: a number and a car of their own.
NEWCOMERS = {
    "fa": ("0912 555 0301", "+989125550301", "23J456-78"),
    "en": ("0912 555 0302", "+989125550302", "34D567-89"),
}


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a phone"


def menu_link(page: Page, words: Words, name: str) -> Locator:
    return page.get_by_role("navigation", name=words.menu).get_by_role(
        "link", name=name, exact=True
    )


def open_from_menu(page: Page, words: Words, name: str, path: str) -> None:
    """Tap a menu item; it leads to `path` and is then marked as the page the reader is on."""
    menu_link(page, words, name).click()
    expect(page).to_have_url(re.compile(re.escape(path) + r"(\?|$)"))
    expect(menu_link(page, words, name)).to_have_attribute("aria-current", "page")
    fits_the_phone(page)


def choose_language(page: Page, words: Words) -> None:
    """From the home page, with the top bar's switch (Persian is the default)."""
    page.goto("/")
    if words.lang == "en":
        page.get_by_role("link", name="English").first.click()
    expect(page.locator("html")).to_have_attribute("lang", words.lang)


def sign_in_by_code(
    page: Page, server: LiveServer, words: Words, phone: str, canonical: str
) -> None:
    seen = len(sms_lines(server))
    page.locator("#phone").fill(phone)
    page.get_by_role("button", name=words.send_code).click()
    expect(page.locator("#code")).to_be_visible()
    page.locator("#code").fill(code_sent_after(server, canonical, seen))
    page.get_by_role("button", name=words.sign_in, exact=True).click()


def pick_vehicle(page: Page, plate: str) -> bool:
    """Pick `plate` on the meter page if the account has it: from the list or typed in."""
    picker = page.locator("#plate")
    if not picker.count():
        return False
    if picker.evaluate("element => element.tagName") == "SELECT":
        if picker.locator(f'option[value="{plate}"]').count() == 0:
            return False
        picker.select_option(plate)
        return True
    picker.fill(plate)
    picker.press("Enter")
    page.wait_for_load_state()
    return page.locator("#plate[aria-invalid='true']").count() == 0


def have_a_vehicle(page: Page, words: Words, plate: str) -> None:
    """A newcomer's account has no vehicle yet: the meter page asks for the plate in its
    plate-shaped boxes, saves it to the account and comes back with it chosen."""
    if page.locator("select#plate").count() and pick_vehicle(page, plate):
        return
    first, letter, middle, region = plate[:2], plate[2], plate[3:6], plate[7:]
    page.locator("#new_kind").select_option("car")
    page.locator("#new_first").fill(first)
    page.locator("#new_letter").select_option(letter)
    page.locator("#new_middle").fill(middle)
    page.locator("#new_region").fill(region)
    page.get_by_role("button", name=words.add_vehicle).click()
    expect(page).to_have_url(re.compile(r"/parking/meters/\d+"))
    expect(page.locator("select#plate")).to_have_value(plate)


def pay_at_the_sandbox_bank(page: Page, words: Words) -> None:
    expect(page).to_have_url(re.compile(r"/sandbox-psp/pay/"))
    page.locator("#card_number").fill(SAMPLE_CARD)
    page.locator("#cvv2").fill("123")
    page.locator("#expiry_month").fill("12")
    page.locator("#expiry_year").fill("08")
    page.locator("#pin").fill("12345")
    page.get_by_role("button", name=words.pay, exact=True).click()


@pytest.mark.parametrize("words", [PERSIAN, ENGLISH], ids=["fa", "en"])
def test_a_newcomer_walks_from_the_home_page_to_a_paid_bay_then_wallet_and_traffic(
    page: Page, live_server: LiveServer, screenshots: Path, console: ConsoleLog, words: Words
) -> None:
    phone, canonical, plate = NEWCOMERS[words.lang]
    choose_language(page, words)
    fits_the_phone(page)

    # Home → Parking through the menu → the first meter with a free bay.
    open_from_menu(page, words, words.parking, "/parking")
    free_meter = page.locator(".meter-item:not(.is-full):not(.is-closed) .meter-link").first
    free_meter.click()
    expect(page).to_have_url(re.compile(r"/parking/meters/\d+"))
    # Still inside Parking: the menu keeps its item marked.
    expect(menu_link(page, words, words.parking)).to_have_attribute("aria-current", "true")

    # Signing in from the meter's page comes back to it.
    page.get_by_role("link", name=words.sign_in_to_book).click()
    sign_in_by_code(page, live_server, words, phone, canonical)
    expect(page).to_have_url(re.compile(r"/parking/meters/\d+"))
    have_a_vehicle(page, words, plate)

    # A free bay for the form's time; the quote; pay by card at the sandbox bank.
    page.locator('.bay[data-state="free"]').first.click()
    quote = page.locator("#quote")
    expect(quote.locator(".reserve-button")).to_be_visible()
    quote.locator('input[name="method"][value="psp"]').check()
    quote.locator(".reserve-button").click()
    pay_at_the_sandbox_bank(page, words)

    # Back on the reservation: paid, and the bay's light turns green.
    expect(page).to_have_url(re.compile(r"/parking/reservations/[0-9a-f-]+"))
    expect(page.locator(".status-badge")).to_have_text(words.paid, timeout=15_000)
    light = page.locator("#bay-light")
    expect(light).to_have_attribute("data-reported", "green", timeout=LIGHT_TIMEOUT_MS)
    fits_the_phone(page)
    page.screenshot(path=screenshots / f"front-door-reservation-{words.lang}.png")

    # Then the wallet and the traffic, each through the menu.
    open_from_menu(page, words, words.wallet, "/wallet")
    expect(page.get_by_role("heading", name=words.your_wallet)).to_be_visible()
    open_from_menu(page, words, words.traffic, "/traffic")
    expect(page.get_by_role("heading", name=words.live_traffic)).to_be_visible()
    page.screenshot(path=screenshots / f"front-door-traffic-{words.lang}.png")

    assert [e for e in console.errors if "Content Security Policy" in e] == []
    assert [e for e in console.errors if e.startswith("uncaught")] == []


# What each demo role finds in its workspace, in the order the areas wire their tools.
PARKING_TOOLS = ["/staff/payments", "/staff/parking/meters"]
TRAFFIC_TOOLS = ["/staff/traffic/detectors", "/staff/traffic/inventory", "/staff/traffic/cameras"]
INCIDENT_TOOLS = ["/staff/incidents", "/staff/unit"]
STAFF_TOOLS: dict[Role, list[str]] = {
    Role.parking_operator: ["/staff/parking/permits", *PARKING_TOOLS],
    Role.traffic_operator: [*TRAFFIC_TOOLS, "/staff/incidents"],
    Role.police_unit: INCIDENT_TOOLS,
    Role.admin: [
        "/staff/admin/accounts",
        "/staff/parking/permits",
        "/staff/payments",
        "/sandbox-psp",
        "/staff/parking/meters",
        *TRAFFIC_TOOLS,
        *INCIDENT_TOOLS,
    ],
}


@pytest.mark.parametrize("words", [PERSIAN, ENGLISH], ids=["fa", "en"])
def test_each_staff_role_signs_in_lands_on_its_workspace_and_signs_out(
    page: Page, screenshots: Path, words: Words
) -> None:
    choose_language(page, words)
    for account in demo_staff_accounts():
        page.goto("/more")
        page.get_by_role(
            "link", name="ورود کارکنان" if words.lang == "fa" else "Staff sign-in"
        ).click()
        expect(page).to_have_url(re.compile(r"/staff/sign-in$"))
        page.locator("#username").fill(account.username)
        page.locator("#password").fill(account.password)
        page.locator("main").get_by_role("button", name=words.sign_in, exact=True).click()

        expect(page).to_have_url(re.compile(r"/staff$"))
        expect(page.get_by_role("heading", name=words.workspace)).to_be_visible()
        tools = page.get_by_role("navigation", name=words.staff_tools)
        expect(tools.get_by_role("link").first).to_have_attribute("aria-current", "page")
        # The header lists the role's own tools, and each opens, marked as the current one.
        hrefs = tools.get_by_role("link").evaluate_all("links => links.map(a => a.pathname)")
        assert hrefs == ["/staff", *STAFF_TOOLS.get(account.role, [])]
        for href in hrefs[1:]:
            page.goto("/staff")
            tools.locator(f'a[href="{href}"]').click()
            expect(page).to_have_url(re.compile(re.escape(href) + "$"))
            if href.startswith("/staff"):  # the sandbox bank's console is the bank's own page
                current = tools.locator(f'a[href="{href}"]')
                expect(current).to_have_attribute("aria-current", "page")
        page.goto("/staff")
        # Staff pages carry the staff header, not the citizen menu.
        expect(page.get_by_role("navigation", name=words.menu)).to_have_count(0)
        fits_the_phone(page)
        page.screenshot(path=screenshots / f"staff-{account.role.value}-{words.lang}.png")

        page.get_by_role("button", name=words.sign_out).first.click()
        expect(page).to_have_url(re.compile(r"/staff/sign-in$"))
        page.goto("/staff")
        expect(page).to_have_url(re.compile(r"/staff/sign-in\?next="))
