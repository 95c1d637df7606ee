"""Sign-in codes and reminders through Kavenegar, against a fake speaking its protocol."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import httpx
import pytest

from shahr.bootstrap import Container
from shahr.bridges import SmsForParking
from shahr.identity.gateways import SMS, KavenegarSms
from shahr.identity.services import ensure_citizen
from shahr.kernel.settings import Settings
from shahr.parking.gateways import Notice
from shahr.parking.services import REMINDER_SMS

from .fake_kavenegar import THREAD_NAME, FakeKavenegar, FakeKavenegarServer
from .flows import PHONE, csrf_headers, row_counts
from .test_pages import field_error, form_token, post_form

REQUEST = "/api/v1/identity/otp/request"
VERIFY = "/api/v1/identity/otp/verify"
RECEPTOR = "09121234567"
TEMPLATE = "shahr-sign-in"
NOT_SENT_EN = "The code could not be sent. Try again in a minute."
NOT_SENT_FA = "کد فرستاده نشد. یک دقیقه دیگر دوباره تلاش کنید."


@pytest.fixture
def kavenegar() -> Iterator[FakeKavenegar]:
    fake = FakeKavenegar(templates={TEMPLATE})
    server = FakeKavenegarServer(fake)
    server.start()
    yield fake
    server.stop()


@pytest.fixture
def settings(settings: Settings, kavenegar: FakeKavenegar) -> Settings:
    """The app's settings with Kavenegar as the SMS provider, at the fake's address."""
    return Settings(
        **{
            **settings.model_dump(),
            "sms_provider": "kavenegar",
            "kavenegar_api_key": kavenegar.api_key,
            "kavenegar_otp_template": TEMPLATE,
            "kavenegar_sender": "10008663",
            "kavenegar_base_url": kavenegar.url,
        }
    )


async def ask_for_code(client: httpx.AsyncClient, language: str = "en") -> httpx.Response:
    headers = {**await csrf_headers(client), "accept-language": language}
    return await client.post(REQUEST, json={"phone": "0912 123 4567"}, headers=headers)


async def verify(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post(
        VERIFY, json={"phone": PHONE, "code": code}, headers=await csrf_headers(client)
    )


async def test_a_citizen_signs_in_with_the_code_kavenegar_sent_in_the_sign_in_template(
    client: httpx.AsyncClient, kavenegar: FakeKavenegar, container: Container
) -> None:
    assert isinstance(container.get(SMS), KavenegarSms)
    assert not any("SMS" in sandbox for sandbox in container.sandboxes)

    asked = await ask_for_code(client)

    assert asked.status_code == 202, asked.text
    lookup = kavenegar.last("verify/lookup")
    assert lookup.form["receptor"] == RECEPTOR
    assert lookup.form["template"] == TEMPLATE
    code = lookup.form["token"]
    assert code.isdigit()
    assert len(code) == 6
    signed_in = await verify(client, code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["citizen"]["phone"] == PHONE


def _out_of_credit(fake: FakeKavenegar) -> None:
    fake.out_of_credit = True


def _another_key(fake: FakeKavenegar) -> None:
    fake.api_key = "a-key-someone-else-has"


def _account_disabled(fake: FakeKavenegar) -> None:
    fake.disabled = True


def _template_not_approved(fake: FakeKavenegar) -> None:
    fake.templates = set()


def _busy(fake: FakeKavenegar) -> None:
    fake.busy = True


def _proxy_down(fake: FakeKavenegar) -> None:
    fake.down = True


def _blocked_on_arrival(fake: FakeKavenegar) -> None:
    fake.entry_status = 14


TROUBLES = {
    "out of credit (418)": _out_of_credit,
    "bad API key (403)": _another_key,
    "account disabled (401)": _account_disabled,
    "template not approved (424)": _template_not_approved,
    "Kavenegar busy (409)": _busy,
    "proxy down (502, no envelope)": _proxy_down,
    "accepted but blocked (entry 14)": _blocked_on_arrival,
}


@pytest.mark.parametrize("trouble", TROUBLES.values(), ids=TROUBLES.keys())
async def test_when_kavenegar_cannot_send_the_citizen_is_told_to_retry_and_nothing_changes(
    client: httpx.AsyncClient,
    kavenegar: FakeKavenegar,
    container: Container,
    trouble: Callable[[FakeKavenegar], None],
) -> None:
    first = await ask_for_code(client)
    assert first.status_code == 202
    earlier_code = kavenegar.last("verify/lookup").form["token"]
    before = await row_counts(container)
    healthy = {name: value for name, value in vars(kavenegar).items() if name != "received"}
    trouble(kavenegar)

    # More attempts than the quota (3 a window) allows, had they counted.
    for _ in range(3):
        refused = await ask_for_code(client)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "60"
        assert refused.json()["detail"] == NOT_SENT_EN
        assert refused.json()["field"] == "phone"

    assert await row_counts(container) == before
    # The code sent before still works: the unsent one never replaced it.
    assert (await verify(client, earlier_code)).status_code == 200
    vars(kavenegar).update(healthy)
    assert (await ask_for_code(client)).status_code == 202


async def test_a_number_kavenegar_refuses_is_named_beside_the_phone_and_may_be_fixed(
    client: httpx.AsyncClient, kavenegar: FakeKavenegar, container: Container
) -> None:
    kavenegar.refused_receptors.add(RECEPTOR)

    refused = await ask_for_code(client)

    assert refused.status_code == 400
    assert refused.json()["field"] == "phone"
    assert "cannot be sent to this number" in refused.json()["detail"]
    assert kavenegar.received == []
    # The code Kavenegar refused to carry was withdrawn: it signs no one in.
    withdrawn = kavenegar.asked[-1].form["token"]
    assert (await verify(client, withdrawn)).json()["code"] == "CodeExpiredError"
    counts = await row_counts(container)
    assert counts["identity_citizen"] == counts["identity_session"] == 0
    kavenegar.refused_receptors.clear()
    assert (await ask_for_code(client)).status_code == 202


async def test_a_slow_kavenegar_gives_the_citizen_the_retry_message_not_a_hang(
    client: httpx.AsyncClient, kavenegar: FakeKavenegar, container: Container
) -> None:
    impatient = KavenegarSms(
        api_key=kavenegar.api_key,
        otp_template=TEMPLATE,
        base_url=kavenegar.url,
        timeout_s=0.3,
    )
    container.provide(SMS, impatient, replace=True)
    kavenegar.delay_s = 1.5
    try:
        refused = await ask_for_code(client, language="fa")
    finally:
        await impatient.stop()

    assert refused.status_code == 503
    assert refused.json()["detail"] == NOT_SENT_FA


async def test_kavenegar_down_is_explained_on_the_sign_in_page_in_persian(
    client: httpx.AsyncClient, kavenegar: FakeKavenegar
) -> None:
    kavenegar.down = True
    await form_token(client)

    page = await post_form(client, "/sign-in", phone="0912 123 4567")

    assert page.status_code == 503
    assert page.headers["retry-after"] == "60"
    assert field_error(page.text, "phone") == NOT_SENT_FA
    assert 'name="phone"' in page.text


async def test_a_parking_reminder_goes_as_a_plain_text_from_the_sender_line(
    kavenegar: FakeKavenegar, container: Container
) -> None:
    citizen_id = await ensure_citizen(container.database, phone=PHONE, display_name="سارا")
    link = "https://shahr.example/r/abc"
    params = {"street": "", "bay": "12", "time": "10:30", "link": link}
    notice = Notice(citizen_id, "reservation-1", "ending", REMINDER_SMS, params)

    await SmsForParking(container).notify(notice)

    sent = kavenegar.last("sms/send")
    assert sent.form["receptor"] == RECEPTOR
    assert sent.form["sender"] == "10008663"
    assert sent.form["message"].startswith("پارک شما")
    assert link in sent.form["message"]
    assert [r.method for r in kavenegar.received] == ["sms/send"]


async def test_no_log_record_carries_the_phone_the_code_or_the_api_key(
    client: httpx.AsyncClient, kavenegar: FakeKavenegar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    assert (await ask_for_code(client)).status_code == 202
    code = kavenegar.last("verify/lookup").form["token"]
    assert (await verify(client, code)).status_code == 200
    kavenegar.out_of_credit = True
    assert (await ask_for_code(client)).status_code == 503
    kavenegar.out_of_credit = False
    kavenegar.refused_receptors.add(RECEPTOR)
    assert (await ask_for_code(client)).status_code == 400

    # The fake's own records (its access log names the key) are Kavenegar's side.
    records = [r for r in caplog.records if r.threadName != THREAD_NAME]
    httpx_lines = [r.getMessage() for r in records if r.name == "httpx"]
    assert any("verify/lookup.json" in line for line in httpx_lines), httpx_lines
    assert any("status 418" in r.getMessage() for r in records)
    secrets = (PHONE, RECEPTOR, PHONE.removeprefix("+"), code, kavenegar.api_key)
    for record in records:
        logged = record.getMessage() + repr(vars(record))
        leaked = [secret for secret in secrets if secret in logged]
        assert not leaked, (record.name, logged)
