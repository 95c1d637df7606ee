"""A phone locked out of code attempts is told so, and is not offered a code box it cannot use."""

from __future__ import annotations

import re

import httpx

from shahr.identity.gateways import ConsoleSms
from shahr.kernel.settings import Settings
from shahr.kernel.web.security import CSRF_COOKIE

from .flows import PHONE, code_in, wrong_code


async def post_form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    if CSRF_COOKIE not in client.cookies:
        await client.get("/sign-in")
    return await client.post(path, data={"csrf_token": client.cookies[CSRF_COOKIE], **fields})


async def locked_out_page(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> httpx.Response:
    await post_form(client, "/sign-in", phone=PHONE)
    wrong = wrong_code(code_in(sms.sent[-1].text))
    for _ in range(settings.otp_max_attempts):
        response = await post_form(client, "/sign-in/code", phone=PHONE, code=wrong)
    return response


async def test_the_lockout_page_offers_no_code_box_and_no_new_code(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> None:
    response = await locked_out_page(client, sms, settings)

    assert response.status_code == 429
    assert 'name="code"' not in response.text
    assert 'action="/sign-in/code"' not in response.text
    assert "ارسال دوبارهٔ کد" not in response.text  # "Send a new code": refused while locked
    alert = re.search(r'<p class="notice error" role="alert">([^<]*)</p>', response.text)
    assert alert is not None, response.text
    assert "۱۵ دقیقهٔ دیگر" in alert.group(1)
    assert 'href="/sign-in"' in response.text  # another number still works
    assert "0912***4567" in response.text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))


async def test_the_lockout_page_reads_in_english_for_an_english_reader(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> None:
    client.cookies.set("lang", "en")

    response = await locked_out_page(client, sms, settings)

    assert 'name="code"' not in response.text
    assert "Too many wrong codes. Try again in 15 minutes." in response.text
    assert "Signing in with this number is paused" in response.text
