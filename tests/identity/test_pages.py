"""The sign-in and account pages: plain forms, errors beside their fields, nothing written."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from shahr.bootstrap import Container
from shahr.identity.gateways import ConsoleSms
from shahr.identity.services import ensure_staff_account
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Role
from shahr.kernel.settings import Settings
from shahr.kernel.web.security import CSRF_COOKIE

from .flows import PHONE, code_in, row_counts, wrong_code


async def form_token(client: httpx.AsyncClient, path: str = "/sign-in") -> str:
    page = await client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    assert found.group(1) == client.cookies[CSRF_COOKIE]
    return found.group(1)


async def post_form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    token = client.cookies.get(CSRF_COOKIE) or await form_token(client)
    return await client.post(path, data={"csrf_token": token, **fields})


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', html)
    assert found is not None, html
    return found.group(1)


async def sign_in_by_page(client: httpx.AsyncClient, sms: ConsoleSms) -> httpx.Response:
    await form_token(client)
    code_step = await post_form(client, "/sign-in", phone="0912 123 4567")
    assert code_step.status_code == 200
    assert 'name="code"' in code_step.text
    return await post_form(client, "/sign-in/code", phone=PHONE, code=code_in(sms.sent[-1].text))


@pytest.fixture
async def citizen_client(client: httpx.AsyncClient, sms: ConsoleSms) -> httpx.AsyncClient:
    signed_in = await sign_in_by_page(client, sms)
    assert signed_in.status_code == 303
    return client


async def test_the_sign_in_page_is_persian_rtl_with_a_phone_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/sign-in")
    assert page.status_code == 200
    assert '<html lang="fa" dir="rtl">' in page.text
    assert 'name="phone"' in page.text
    assert "شماره همراه" in page.text


async def test_a_citizen_signs_in_with_plain_form_posts_and_lands_on_the_account(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    response = await sign_in_by_page(client, sms)

    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    account = await client.get("/account")
    assert account.status_code == 200
    assert "حساب شهروندی" in account.text
    assert "هنوز خودرویی ثبت نکرده‌اید." in account.text


async def test_an_invalid_phone_is_shown_beside_the_field_and_writes_nothing(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    before = await row_counts(container)
    await form_token(client)

    response = await post_form(client, "/sign-in", phone="12345")

    assert response.status_code == 400
    assert field_error(response.text, "phone").startswith("این شماره همراه ایرانی نیست")
    assert 'value="12345"' in response.text
    assert await row_counts(container) == before
    assert sms.sent == []


async def test_a_wrong_code_is_shown_beside_the_code_field(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    await form_token(client)
    await post_form(client, "/sign-in", phone=PHONE)
    code = code_in(sms.sent[-1].text)
    wrong = wrong_code(code)

    response = await post_form(client, "/sign-in/code", phone=PHONE, code=wrong)

    assert response.status_code == 400
    assert field_error(response.text, "code") == "کد نادرست است. دفعات باقی‌مانده: ۴."
    assert "shahr_session" not in client.cookies


async def test_the_lockout_page_says_in_persian_digits_when_to_try_again(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> None:
    await form_token(client)
    await post_form(client, "/sign-in", phone=PHONE)
    code = code_in(sms.sent[-1].text)
    wrong = wrong_code(code)
    for _ in range(settings.otp_max_attempts):
        response = await post_form(client, "/sign-in/code", phone=PHONE, code=wrong)

    assert response.status_code == 429
    assert response.headers["retry-after"] == str(settings.otp_lockout_s)
    assert "۱۵ دقیقهٔ دیگر" in response.text  # no code box to stand beside (test_sign_in_lockout)


async def test_an_expired_code_on_the_page_asks_for_a_new_one(
    client: httpx.AsyncClient, sms: ConsoleSms, clock: FixedClock, settings: Settings
) -> None:
    await form_token(client)
    await post_form(client, "/sign-in", phone=PHONE)
    clock.advance(timedelta(seconds=settings.otp_ttl_s + 1))

    response = await post_form(
        client, "/sign-in/code", phone=PHONE, code=code_in(sms.sent[-1].text)
    )

    assert response.status_code == 400
    assert "کد تازه‌ای درخواست کنید" in field_error(response.text, "code")


async def test_the_pages_speak_english_with_the_language_cookie(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("lang", "en")
    await form_token(client)
    page = await client.get("/sign-in")
    assert '<html lang="en" dir="ltr">' in page.text
    assert "Mobile number" in page.text
    response = await post_form(client, "/sign-in", phone="nope")
    assert field_error(response.text, "phone") == (
        "This is not an Iranian mobile number. Enter it like 0912 123 4567."
    )


async def test_a_form_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/sign-in")
    response = await client.post("/sign-in", data={"phone": PHONE})
    assert response.status_code == 403


async def test_a_citizen_adds_a_vehicle_and_sees_its_plate_in_the_iranian_layout(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    response = await post_form(
        citizen_client, "/account/vehicles", plate="12b345-67", kind="van", nickname="کار"
    )

    assert response.status_code == 303
    page = (await citizen_client.get("/account")).text
    shown = (
        r'<span class="plate plate-view" dir="ltr"[^>]*>(.*?)</span>\s*'
        r'<span class="vehicle-kind">'
    )
    plate = re.search(shown, page, re.S)
    assert plate is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", plate.group(1)).split())
    assert text == "۱۲ ب ۳۴۵ ایران ۶۷"
    assert 'aria-label="۱۲ ب ۳۴۵ ایران ۶۷"' in page
    assert "وانت" in page
    assert (await row_counts(container))["identity_vehicle"] == 1


async def test_a_malformed_plate_is_shown_beside_the_plate_field_and_writes_nothing(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    before = await row_counts(container)

    response = await post_form(
        citizen_client,
        "/account/vehicles",
        kind="car",
        plate_first="1a",
        plate_letter="B",
        plate_middle="345",
        plate_region="67",
    )

    assert response.status_code == 400
    assert field_error(response.text, "first") == "در این بخش پلاک فقط رقم نوشته می‌شود."
    assert 'name="plate_first" value="1a"' in response.text
    assert await row_counts(container) == before


async def test_a_duplicate_plate_is_shown_beside_the_plate_field(
    citizen_client: httpx.AsyncClient,
) -> None:
    await post_form(citizen_client, "/account/vehicles", plate="12B345-67", kind="car")
    response = await post_form(citizen_client, "/account/vehicles", plate="۱۲ب۳۴۵ ۶۷", kind="car")
    assert response.status_code == 409
    assert field_error(response.text, "plate") == "این پلاک پیش‌تر در حساب شما ثبت شده است."


async def test_a_citizen_removes_a_vehicle_from_the_account_page(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    await post_form(citizen_client, "/account/vehicles", plate="12B345-67", kind="car")
    page = (await citizen_client.get("/account")).text
    action = re.search(r'action="(/account/vehicles/[^"]+/remove)"', page)
    assert action is not None

    response = await post_form(citizen_client, action.group(1))

    assert response.status_code == 303
    assert (await row_counts(container))["identity_vehicle"] == 0


async def test_signing_out_from_the_page_ends_the_session(
    citizen_client: httpx.AsyncClient,
) -> None:
    response = await post_form(citizen_client, "/sign-out")
    assert response.status_code == 303
    after = await citizen_client.get("/account")
    assert after.status_code == 303
    assert after.headers["location"] == "/sign-in?next=%2Faccount"


async def test_the_account_page_sends_a_visitor_to_sign_in_and_back(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Faccount"


async def test_the_account_api_refuses_a_visitor_with_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/identity/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_staff_sign_in_by_page_and_a_wrong_password_beside_the_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    await ensure_staff_account(
        container.database,
        username="operator",
        password="operator password",
        display_name="Operator",
        roles=frozenset({Role.traffic_operator}),
    )
    await form_token(client, "/staff/sign-in")

    refused = await post_form(client, "/staff/sign-in", username="operator", password="nope")
    assert refused.status_code == 400
    assert field_error(refused.text, "password") == "نام کاربری یا رمز عبور نادرست است."
    assert 'value="operator"' in refused.text
    assert "nope" not in refused.text

    signed_in = await post_form(
        client, "/staff/sign-in", username="operator", password="operator password"
    )
    assert signed_in.status_code == 303
    me = await client.get("/api/v1/identity/me")
    assert me.json()["roles"] == ["traffic_operator"]


async def test_a_sign_in_link_cannot_redirect_to_another_site(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    await form_token(client)
    await post_form(client, "/sign-in", phone=PHONE)
    response = await post_form(
        client,
        "/sign-in/code",
        phone=PHONE,
        code=code_in(sms.sent[-1].text),
        next="//evil.example/",
    )
    assert response.headers["location"] == "/account"


async def test_asking_for_a_code_while_locked_out_shows_the_lockout_beside_the_phone(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> None:
    await form_token(client)
    await post_form(client, "/sign-in", phone=PHONE)
    code = code_in(sms.sent[-1].text)
    wrong = wrong_code(code)
    for _ in range(settings.otp_max_attempts):
        await post_form(client, "/sign-in/code", phone=PHONE, code=wrong)

    response = await post_form(client, "/sign-in", phone=PHONE)

    assert response.status_code == 429
    assert "۱۵ دقیقهٔ دیگر" in field_error(response.text, "phone")
