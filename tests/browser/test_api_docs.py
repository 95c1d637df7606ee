"""The API's documentation page: Swagger UI loads the document and its Authorize button works."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import ConsoleLog, LiveServer
from .test_citizen_sign_in import code_sent_after, sms_lines

pytestmark = pytest.mark.browser

# A number of its own, so no other test's codes or rate limits get in the way.
APP_PHONE = "+989127770001"


def token_for_an_app(server: LiveServer) -> str:
    """Sign in as a mobile app would: JSON calls only, no page, no cookie."""
    with httpx.Client(base_url=server.url, timeout=10) as app:
        seen = len(sms_lines(server))
        asked = app.post("/api/v1/identity/otp/request", json={"phone": APP_PHONE})
        assert asked.status_code == 202, asked.text
        code = code_sent_after(server, APP_PHONE, seen)
        app.cookies.clear()
        verified = app.post("/api/v1/identity/otp/verify", json={"phone": APP_PHONE, "code": code})
        assert verified.status_code == 200, verified.text
        token: str = verified.json()["access_token"]
        return token


def test_swagger_ui_authorizes_with_a_bearer_token_and_calls_the_api(
    page: Page, live_server: LiveServer, screenshots: Path, console: ConsoleLog
) -> None:
    token = token_for_an_app(live_server)
    page.goto("/api/docs")
    swagger = page.locator("#swagger-ui")
    expect(swagger.locator(".information-container")).to_be_visible(timeout=20_000)

    swagger.locator("button.authorize").first.click()
    dialog = swagger.locator(".dialog-ux")
    expect(dialog).to_contain_text("bearerToken")
    expect(dialog).to_contain_text("apiKey")
    expect(dialog).to_contain_text("X-API-Key")
    page.screenshot(path=screenshots / "api-docs-authorize-fa.png")
    bearer = dialog.locator(".auth-container").filter(has_text="bearerToken")
    bearer.locator("input").fill(token)
    bearer.locator("button.authorize").click()
    expect(bearer.locator("button.authorize")).to_have_count(0)  # now "Logout"
    dialog.locator("button.btn-done").first.click()

    me = swagger.locator("#operations-identity-me_api_v1_identity_me_get")
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()

    response = me.locator(".live-responses-table .response").first
    expect(response.locator(".response-col_status")).to_contain_text("200", timeout=10_000)
    expect(response).to_contain_text('"kind": "citizen"')
    response.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "api-docs-me-fa.png")
    assert [e for e in console.errors if "Content Security Policy" in e] == []
