"""The pages keep within their Content-Security-Policy: no inline style, no image from a host
the settings do not name. Chromium reports every refusal as a `securitypolicyviolation`
event, which each page here passes back to the test, with the maps, htmx and Swagger UI
all drawn."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shahr.demo.domain import demo_staff_accounts
from shahr.kernel.principals import Role

from .conftest import ConsoleLog, LiveServer
from .test_citizen_sign_in import sign_in
from .test_home import wait_for_the_map

pytestmark = pytest.mark.browser

# Every document the page opens tells the test what its policy refused.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"}` +
    ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
CITIZEN_PHONE = "+989127770033"


@pytest.fixture
def violations(page: Page) -> list[str]:
    found: list[str] = []

    def report(text: str) -> None:
        found.append(text)

    page.expose_function("reportViolation", report)
    page.add_init_script(REPORT_VIOLATIONS)
    return found


def visit(page: Page, path: str, ready: Callable[[Page], None] | None = None) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    if ready is not None:
        ready(page)


def refusals(console: ConsoleLog, violations: list[str]) -> list[str]:
    return [*violations, *(e for e in console.errors if "Content Security Policy" in e)]


def test_the_public_pages_and_their_maps_draw_within_the_policy(
    page: Page, violations: list[str], console: ConsoleLog, live_server: LiveServer
) -> None:
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "img-src 'self' data:;" in policy  # the test server names no tile or camera host

    visit(page, "/", wait_for_the_map)
    visit(page, "/sign-in")
    visit(page, "/traffic", lambda p: p.wait_for_selector(".leaflet-container"))
    visit(page, "/parking")
    page.locator(".meter-item .meter-link").first.click()
    expect(page.locator("[data-bay-number]").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    visit(page, "/api/docs", lambda p: p.wait_for_selector("#swagger-ui .information-container"))
    page.locator("#swagger-ui .opblock-summary").first.click()  # React draws the operation
    page.wait_for_timeout(300)

    assert refusals(console, violations) == []


def test_a_citizen_s_pages_and_the_bank_draw_within_the_policy(
    page: Page,
    violations: list[str],
    console: ConsoleLog,
    live_server: LiveServer,
    screenshots: Path,
) -> None:
    sign_in(page, live_server, typed_phone="09127770033", canonical=CITIZEN_PHONE)
    for path in ("/account", "/parking/my", "/wallet"):
        visit(page, path)
    page.screenshot(path=screenshots / "csp-wallet-fa.png", full_page=True)
    # A top-up goes to the sandbox bank's page, which has a look of its own.
    page.locator("#amount_toman").fill("۵۰۰۰۰")
    page.get_by_role("button", name="رفتن به درگاه بانک برای پرداخت").click()
    expect(page).to_have_url(re.compile(r"/sandbox-psp/pay/"))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / "csp-sandbox-bank-fa.png", full_page=True)

    assert refusals(console, violations) == []


def test_the_staff_pages_draw_within_the_policy(
    page: Page, violations: list[str], console: ConsoleLog, screenshots: Path
) -> None:
    admin = next(a for a in demo_staff_accounts() if a.role is Role.admin)
    page.goto("/staff/sign-in")
    page.locator("#username").fill(admin.username)
    page.locator("#password").fill(admin.password)
    page.locator("main").get_by_role("button", name="ورود", exact=True).click()
    expect(page).to_have_url(re.compile(r"/staff$"))

    for path in ("/staff/payments", "/staff/parking/permits", "/staff/parking/meters"):
        visit(page, path)
        page.screenshot(path=screenshots / f"csp-{path.strip('/').replace('/', '-')}.png")
    visit(page, "/staff/traffic/detectors", lambda p: p.wait_for_selector(".leaflet-container"))

    assert refusals(console, violations) == []
    # The watch is live: a style attribute written into the page is refused and reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_timeout(300)
    assert [v for v in violations if v.startswith("style-src-attr refused inline")] != []
