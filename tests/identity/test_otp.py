"""Citizens sign in with their mobile number and a one-time code sent by SMS."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.identity.gateways import ConsoleSms
from shahr.kernel.clock import FixedClock
from shahr.kernel.persian import persian_digits
from shahr.kernel.settings import Settings

from .flows import (
    PHONE,
    bearer,
    code_in,
    csrf_headers,
    request_code,
    row_counts,
    sign_in_citizen,
    wrong_code,
)

REQUEST = "/api/v1/identity/otp/request"
VERIFY = "/api/v1/identity/otp/verify"


async def verify(client: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    return await client.post(
        VERIFY, json={"phone": phone, "code": code}, headers=await csrf_headers(client)
    )


async def test_a_code_goes_by_sms_in_persian_and_signs_a_new_citizen_in(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    response = await client.post(
        REQUEST, json={"phone": "0912 123 4567"}, headers=await csrf_headers(client)
    )
    assert response.status_code == 202
    assert response.json()["phone"] == PHONE
    assert sms.sent[-1].to == PHONE
    assert sms.sent[-1].text.startswith("کد ورود شما به شهر: ")
    code = code_in(sms.sent[-1].text)
    assert len(code) == 6

    signed_in = await verify(client, "09121234567", code)

    assert signed_in.status_code == 200
    body = signed_in.json()
    assert body["token_type"] == "bearer"
    assert body["citizen"]["phone"] == PHONE
    assert (await row_counts(container))["identity_citizen"] == 1
    me = await client.get("/api/v1/identity/me")
    assert me.json()["kind"] == "citizen"
    assert me.json()["roles"] == ["citizen"]


async def test_the_session_cookie_is_http_only_same_site_lax_and_secure(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    code = await request_code(client, sms)
    response = await verify(client, PHONE, code)
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("shahr_session=")
    )
    flags = cookie.lower()
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" in flags


async def test_the_returned_token_works_as_a_bearer_token_without_the_cookie(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    token = await sign_in_citizen(client, sms)
    client.cookies.clear()
    me = await client.get("/api/v1/identity/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["kind"] == "citizen"


async def test_persian_digits_in_the_phone_and_the_code_are_understood(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    await client.post(REQUEST, json={"phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}, headers=await csrf_headers(client))
    code = code_in(sms.sent[-1].text)
    response = await verify(client, "٠٩١٢١٢٣٤٥٦٧", persian_digits(code))
    assert response.status_code == 200


async def test_signing_in_again_finds_the_same_citizen(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    await sign_in_citizen(client, sms)
    first = (await client.get("/api/v1/identity/me")).json()["id"]
    await sign_in_citizen(client, sms, phone="9121234567")
    second = (await client.get("/api/v1/identity/me")).json()["id"]
    assert first == second
    assert (await row_counts(container))["identity_citizen"] == 1


async def test_an_invalid_phone_is_refused_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    before = await row_counts(container)
    response = await client.post(
        REQUEST, json={"phone": "0212 123 4567"}, headers=await csrf_headers(client)
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == "phone"
    assert problem["code"] == "InvalidPhoneError"
    assert problem["detail"].startswith("این شماره همراه ایرانی نیست")
    assert await row_counts(container) == before
    assert sms.sent == []


async def test_errors_are_in_english_with_the_language_cookie(
    client: httpx.AsyncClient, container: Container
) -> None:
    client.cookies.set("lang", "en")
    response = await client.post(
        REQUEST, json={"phone": "hello"}, headers=await csrf_headers(client)
    )
    assert response.status_code == 400
    assert response.headers["content-language"] == "en"
    assert response.json()["detail"] == (
        "This is not an Iranian mobile number. Enter it like 0912 123 4567."
    )


async def test_a_missing_phone_is_a_field_error(client: httpx.AsyncClient) -> None:
    response = await client.post(REQUEST, json={}, headers=await csrf_headers(client))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "phone"


async def test_a_wrong_code_is_refused_with_the_tries_left_and_signs_nobody_in(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    code = await request_code(client, sms)
    response = await verify(client, PHONE, wrong_code(code))
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"] == "code"
    assert problem["code"] == "WrongCodeError"
    assert problem["detail"] == "کد نادرست است. دفعات باقی‌مانده: ۴."
    counts = await row_counts(container)
    assert counts["identity_citizen"] == 0
    assert counts["identity_session"] == 0
    assert "shahr_session" not in client.cookies


async def test_a_code_of_the_wrong_length_is_refused_without_counting_an_attempt(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    code = await request_code(client, sms)
    for _ in range(10):
        response = await verify(client, PHONE, "12")
        assert response.status_code == 400
        assert response.json()["code"] == "InvalidCodeFormatError"
    assert (await verify(client, PHONE, code)).status_code == 200


async def test_an_expired_code_is_refused_and_a_new_one_is_needed(
    client: httpx.AsyncClient,
    sms: ConsoleSms,
    clock: FixedClock,
    settings: Settings,
    container: Container,
) -> None:
    code = await request_code(client, sms)
    clock.advance(timedelta(seconds=settings.otp_ttl_s))
    response = await verify(client, PHONE, code)
    assert response.status_code == 400
    assert response.json()["code"] == "CodeExpiredError"
    assert response.json()["field"] == "code"
    assert (await row_counts(container))["identity_citizen"] == 0


async def test_a_code_just_before_its_expiry_still_works(
    client: httpx.AsyncClient, sms: ConsoleSms, clock: FixedClock, settings: Settings
) -> None:
    code = await request_code(client, sms)
    clock.advance(timedelta(seconds=settings.otp_ttl_s - 1))
    assert (await verify(client, PHONE, code)).status_code == 200


async def test_a_code_signs_in_only_once(client: httpx.AsyncClient, sms: ConsoleSms) -> None:
    code = await request_code(client, sms)
    assert (await verify(client, PHONE, code)).status_code == 200
    again = await verify(client, PHONE, code)
    assert again.status_code == 400
    assert again.json()["code"] == "CodeExpiredError"


async def test_a_new_code_replaces_the_previous_one(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    first = await request_code(client, sms)
    second = await request_code(client, sms)
    if first != second:
        assert (await verify(client, PHONE, first)).status_code == 400
    assert (await verify(client, PHONE, second)).status_code == 200


async def test_a_code_for_one_phone_does_not_sign_in_another(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    code = await request_code(client, sms)
    response = await verify(client, "09351234567", code)
    assert response.status_code == 400
    assert response.json()["code"] == "CodeExpiredError"


async def test_too_many_wrong_codes_lock_the_phone_out_and_say_when_to_try_again(
    client: httpx.AsyncClient, sms: ConsoleSms, clock: FixedClock, settings: Settings
) -> None:
    code = await request_code(client, sms)
    for _ in range(settings.otp_max_attempts - 1):
        assert (await verify(client, PHONE, wrong_code(code))).json()["code"] == "WrongCodeError"

    locked = await verify(client, PHONE, wrong_code(code))

    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(settings.otp_lockout_s)
    problem = locked.json()
    assert problem["retry_after_s"] == settings.otp_lockout_s
    assert problem["detail"] == "کد نادرست بیش از حد وارد شد. ۱۵ دقیقهٔ دیگر دوباره تلاش کنید."
    # The right code, and asking for a new one, are refused until the lockout ends.
    assert (await verify(client, PHONE, code)).status_code == 429
    clock.advance(timedelta(minutes=10))
    refused = await client.post(REQUEST, json={"phone": PHONE}, headers=await csrf_headers(client))
    assert refused.status_code == 429
    assert refused.json()["retry_after_s"] == 5 * 60
    assert refused.json()["detail"].startswith("کد نادرست بیش از حد وارد شد. ۵ دقیقهٔ")
    clock.advance(timedelta(minutes=5))
    fresh = await request_code(client, sms)
    assert (await verify(client, PHONE, fresh)).status_code == 200


async def test_the_lockout_message_is_in_english_with_the_language_cookie(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> None:
    client.cookies.set("lang", "en")
    code = await request_code(client, sms)
    for _ in range(settings.otp_max_attempts):
        response = await verify(client, PHONE, wrong_code(code))
    assert response.json()["detail"] == "Too many wrong codes. Try again in 15 minutes."


async def test_asking_for_codes_too_often_is_rate_limited_per_phone(
    client: httpx.AsyncClient, sms: ConsoleSms, clock: FixedClock, settings: Settings
) -> None:
    for _ in range(settings.otp_requests_per_window):
        await request_code(client, sms)
    sent = len(sms.sent)

    refused = await client.post(REQUEST, json={"phone": PHONE}, headers=await csrf_headers(client))

    assert refused.status_code == 429
    assert refused.json()["field"] == "phone"
    assert refused.json()["code"] == "TooManyCodeRequestsError"
    assert int(refused.headers["retry-after"]) == settings.otp_request_window_s
    assert "۱۰ دقیقهٔ دیگر" in refused.json()["detail"]
    assert len(sms.sent) == sent
    # Another phone is not affected, and the window passes.
    await request_code(client, sms, phone="09351234567")
    clock.advance(timedelta(seconds=settings.otp_request_window_s))
    await request_code(client, sms)


async def test_the_code_is_stored_hashed_never_in_plain_text(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    code = await request_code(client, sms)
    async with container.database.session() as session:
        stored = (
            await session.execute(text("SELECT code_hash FROM identity_otp_challenge"))
        ).scalar_one()
    assert code not in stored
    assert len(stored) == 64


async def test_the_demo_outbox_file_gets_each_code_as_a_json_line(
    client: httpx.AsyncClient, sms: ConsoleSms, settings: Settings
) -> None:
    code = await request_code(client, sms)
    outbox = settings.var_dir / "sms-outbox.jsonl"
    line = json.loads(outbox.read_text(encoding="utf-8").splitlines()[-1])
    assert line["to"] == PHONE
    assert code in line["text"]
    assert line["sent_at"].startswith("2026-11-26T06:30")
