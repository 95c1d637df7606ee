"""Paying through ZarinPal: the app against a fake ZarinPal that speaks its documented protocol."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError

from recording import RecordingBus
from shahr.kernel.principals import Principal, Role
from shahr.kernel.settings import Settings
from shahr.payments import queries, services
from shahr.payments.domain import PaymentStatus, psp_clearing_account, wallet_account
from shahr.payments.gateways import PSP, ZarinPalPsp
from shahr.payments.wiring import SANDBOX_CONSOLE

from .fake_zarinpal import FakeZarinPal
from .flows import CITIZEN, CSRF, balances, count_rows

if TYPE_CHECKING:
    from shahr.bootstrap import Container
    from shahr.kernel.clock import FixedClock

MERCHANT_ID = "1344b5d4-0048-11e8-94db-005056a205be"
SITE = "https://testserver"
AS_CITIZEN = {"x-test-citizen": CITIZEN}
TOP_UP_RIAL = 500_000
WALLET = wallet_account(CITIZEN)
CLEARING = psp_clearing_account("zarinpal")


@pytest.fixture
def zarinpal(clock: FixedClock) -> Iterator[FakeZarinPal]:
    fake = FakeZarinPal(MERCHANT_ID, clock.now)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(settings: Settings, zarinpal: FakeZarinPal) -> Settings:
    """The app's settings, choosing ZarinPal (the fake) as the payment gateway."""
    return settings.model_validate(
        {
            **settings.model_dump(),
            "payment_provider": "zarinpal",
            "zarinpal_merchant_id": MERCHANT_ID,
            "zarinpal_base_url": zarinpal.url,
            "public_url": SITE,
        }
    )


def on_site(url: str) -> str:
    """The path of an address on this site, as the test client asks for it."""
    assert url.startswith(SITE + "/"), url
    return url.removeprefix(SITE)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def top_up(http: httpx.AsyncClient, zarinpal: FakeZarinPal) -> tuple[str, str]:
    """Start a card top-up; the payment id and the authority ZarinPal gave it."""
    response = await http.post(
        "/api/v1/payments/wallet/top-up", json={"amount_rial": TOP_UP_RIAL}, headers=AS_CITIZEN
    )
    assert response.status_code == 201, response.text
    start = response.json()
    assert start["redirect_url"].startswith(f"{zarinpal.url}/pg/StartPay/A")
    return start["payment_id"], start["redirect_url"].rsplit("/", 1)[-1]


async def wallet_rial(container: Container) -> int:
    return (await balances(container.database)).get(WALLET, 0)


async def booked_from_zarinpal_rial(container: Container) -> int:
    """What the ledger took in through ZarinPal (its clearing account goes negative)."""
    return -(await balances(container.database)).get(CLEARING, 0)


async def test_a_citizen_tops_up_through_zarinpal_and_the_wallet_is_credited(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal, bus: RecordingBus
) -> None:
    before = await wallet_rial(container)
    payment_id, authority = await top_up(http, zarinpal)
    async with httpx.AsyncClient() as browser:
        bank_page = await browser.get(f"{zarinpal.url}/pg/StartPay/{authority}")
    assert bank_page.status_code == 200

    back = await http.get(on_site(zarinpal.pay(authority)), headers=AS_CITIZEN)

    assert back.status_code == 303
    assert query_of(back.headers["location"]) == {
        "payment_id": payment_id,
        "payment_status": "settled",
    }
    assert await wallet_rial(container) == before + TOP_UP_RIAL
    assert sum((await balances(container.database)).values()) == 0
    # In Rial, as the ledger keeps it: nothing converted on the way.
    (asked,) = zarinpal.calls.to("request.json")
    assert (asked["amount"], asked["currency"]) == (TOP_UP_RIAL, "IRR")
    assert zarinpal.calls.to("verify.json") == [
        {"merchant_id": MERCHANT_ID, "authority": authority, "amount": TOP_UP_RIAL}
    ]
    # The receipt names the card as Iranian receipts print it, and ZarinPal's reference.
    receipt = (await http.get(f"/api/v1/payments/{payment_id}/receipt", headers=AS_CITIZEN)).json()
    assert receipt["card_mask"] == "5022-29**-****-5995"
    assert receipt["trace_no"] == str(zarinpal.sessions[authority].ref_id)


async def test_the_same_callback_twice_credits_the_wallet_once(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal
) -> None:
    before = await wallet_rial(container)
    _payment_id, authority = await top_up(http, zarinpal)
    callback = on_site(zarinpal.pay(authority))

    first = await http.get(callback, headers=AS_CITIZEN)
    second = await http.get(callback, headers=AS_CITIZEN)

    assert first.headers["location"] == second.headers["location"]
    assert await wallet_rial(container) == before + TOP_UP_RIAL
    assert len(zarinpal.calls.to("verify.json")) == 1


async def test_a_payer_who_cancels_at_zarinpal_is_told_not_paid_and_nothing_is_booked(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal
) -> None:
    payment_id, authority = await top_up(http, zarinpal)

    back = await http.get(on_site(zarinpal.give_up(authority)), headers=AS_CITIZEN)

    assert query_of(back.headers["location"])["payment_status"] == "failed"
    wallet = await http.get(back.headers["location"], headers=AS_CITIZEN)
    assert "پرداخت ناموفق بود. چیزی ثبت نشد" in wallet.text
    assert await booked_from_zarinpal_rial(container) == 0
    assert zarinpal.calls.to("verify.json") == []
    order = await queries.payment(container.database, payment_id=payment_id, citizen_id=CITIZEN)
    assert order.status is PaymentStatus.failed


async def test_a_callback_with_a_forged_signature_is_refused_and_nothing_is_booked(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal
) -> None:
    _payment_id, authority = await top_up(http, zarinpal)
    genuine = on_site(zarinpal.pay(authority))
    signature = query_of(genuine)["sig"]
    forged = genuine.replace(signature, "0" * len(signature))

    response = await http.get(forged, headers={**AS_CITIZEN, "accept": "text/html"})

    assert response.status_code == 400
    assert "اصالت این تأیید پرداخت بررسی نشد" in response.text
    assert await queries.flagged_callbacks(container.database) == 1
    assert zarinpal.calls.to("verify.json") == []
    assert await booked_from_zarinpal_rial(container) == 0


async def test_one_payments_signed_address_cannot_carry_another_payments_authority(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal
) -> None:
    _mine, my_authority = await top_up(http, zarinpal)
    _theirs, their_authority = await top_up(http, zarinpal)
    zarinpal.pay(their_authority)
    mine = on_site(zarinpal.pay(my_authority))

    swapped = await http.get(mine.replace(my_authority, their_authority), headers=AS_CITIZEN)

    assert swapped.status_code == 400
    assert await queries.flagged_callbacks(container.database) == 1
    assert zarinpal.calls.to("verify.json") == []


async def test_a_verification_that_times_out_stays_in_doubt_until_reconciliation_confirms_it(
    container: Container, clock: FixedClock, zarinpal: FakeZarinPal, bus: RecordingBus
) -> None:
    impatient = await impatient_psp(container, zarinpal)
    start = await services.top_up_wallet(
        container.database, clock, impatient, bus, citizen_id=CITIZEN, amount_rial=TOP_UP_RIAL
    )
    assert start.redirect_url is not None
    callback = zarinpal.pay(start.redirect_url.rsplit("/", 1)[-1])
    zarinpal.hold_next_verify = release = threading.Event()

    taken = await services.handle_callback(
        container.database, clock, impatient, bus, params=query_of(callback)
    )

    assert taken.payment.status is PaymentStatus.callback_received
    release.set()
    report = await services.reconcile(container.database, clock, impatient, bus)
    assert report.verified == [start.payment_id]
    order = await queries.payment(
        container.database, payment_id=start.payment_id, citizen_id=CITIZEN
    )
    assert order.status is PaymentStatus.settled
    assert report.clean


async def impatient_psp(container: Container, zarinpal: FakeZarinPal) -> ZarinPalPsp:
    """The adapter as wired, but giving up on ZarinPal after 0.3 s."""
    return ZarinPalPsp(
        merchant_id=MERCHANT_ID,
        base_url=zarinpal.url,
        public_url=SITE,
        signing_key=lambda: container.settings.signing_key,
        timeout_s=0.3,
    )


async def paid_but_not_verified(
    container: Container, clock: FixedClock, zarinpal: FakeZarinPal, bus: RecordingBus
) -> tuple[ZarinPalPsp, str]:
    """A payment ZarinPal verified while our verification timed out: in doubt with us."""
    psp = await impatient_psp(container, zarinpal)
    start = await services.top_up_wallet(
        container.database, clock, psp, bus, citizen_id=CITIZEN, amount_rial=TOP_UP_RIAL
    )
    assert start.redirect_url is not None
    callback = zarinpal.pay(start.redirect_url.rsplit("/", 1)[-1])
    zarinpal.hold_next_verify = release = threading.Event()
    taken = await services.handle_callback(
        container.database, clock, psp, bus, params=query_of(callback)
    )
    release.set()
    assert taken.payment.status is PaymentStatus.callback_received
    return psp, start.payment_id


async def test_a_verification_past_its_window_is_reversed_at_zarinpal_and_nothing_is_booked(
    container: Container, clock: FixedClock, zarinpal: FakeZarinPal, bus: RecordingBus
) -> None:
    psp, payment_id = await paid_but_not_verified(container, clock, zarinpal, bus)
    clock.advance(timedelta(minutes=16))  # past verify_by, inside ZarinPal's 30 minutes

    report = await services.reconcile(container.database, clock, psp, bus)

    assert report.reversed == [payment_id]
    order = await queries.payment(container.database, payment_id=payment_id, citizen_id=CITIZEN)
    assert order.status is PaymentStatus.reversed
    (authority,) = zarinpal.sessions
    assert zarinpal.sessions[authority].status == "REVERSED"
    assert await booked_from_zarinpal_rial(container) == 0


async def test_past_zarinpals_reversal_window_reconciliation_reports_it_and_keeps_it_in_doubt(
    container: Container, clock: FixedClock, zarinpal: FakeZarinPal, bus: RecordingBus
) -> None:
    psp, payment_id = await paid_but_not_verified(container, clock, zarinpal, bus)
    clock.advance(timedelta(minutes=31))

    report = await services.reconcile(container.database, clock, psp, bus)

    assert report.psp_errors == [f"{payment_id}: PspRefusedError"]
    assert not report.clean
    order = await queries.payment(container.database, payment_id=payment_id, citizen_id=CITIZEN)
    assert order.status is PaymentStatus.callback_received
    (authority,) = zarinpal.sessions
    assert zarinpal.sessions[authority].status == "VERIFIED"


async def test_a_payment_whose_callback_never_came_is_reversed_and_an_unpaid_one_expires(
    http: httpx.AsyncClient, container: Container, clock: FixedClock, zarinpal: FakeZarinPal,
    bus: RecordingBus,
) -> None:  # fmt: skip
    paid_id, paid_authority = await top_up(http, zarinpal)
    unpaid_id, _unpaid_authority = await top_up(http, zarinpal)
    zarinpal.pay(paid_authority)  # the browser never comes back
    clock.advance(timedelta(minutes=16))

    report = await services.reconcile(container.database, clock, container.get(PSP), bus)

    assert report.reversed == [paid_id]
    assert report.expired == [unpaid_id]
    assert zarinpal.sessions[paid_authority].status == "REVERSED"
    assert await booked_from_zarinpal_rial(container) == 0


async def test_an_amount_zarinpal_disputes_is_refused_and_given_back(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal
) -> None:
    payment_id, authority = await top_up(http, zarinpal)
    callback = on_site(zarinpal.pay(authority))
    zarinpal.sessions[authority].amount = TOP_UP_RIAL - 10_000  # what ZarinPal says was paid

    back = await http.get(callback, headers=AS_CITIZEN)

    assert query_of(back.headers["location"])["payment_status"] == "failed"
    order = await queries.payment(container.database, payment_id=payment_id, citizen_id=CITIZEN)
    assert order.failure_reason == "amount_mismatch"
    assert zarinpal.sessions[authority].status == "REVERSED"
    assert await booked_from_zarinpal_rial(container) == 0


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        (-11, 502, "حساب شهر در درگاه پرداخت"),
        (-9, 502, "درگاه پرداخت این پرداخت را نپذیرفت"),
        (-12, 503, "درگاه پرداخت شلوغ است"),
    ],
)
async def test_zarinpals_refusals_reach_the_citizen_in_persian_and_nothing_is_written(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal,
    code: int, status: int, words: str,
) -> None:  # fmt: skip
    zarinpal.refuse_next_request = code

    response = await http.post(
        "/api/v1/payments/wallet/top-up", json={"amount_rial": TOP_UP_RIAL}, headers=AS_CITIZEN
    )

    assert response.status_code == status
    assert words in response.json()["detail"]
    assert "هیچ مبلغی کسر نشد" in response.json()["detail"]
    assert await count_rows(container.database, "payments_order") == 0


async def test_when_zarinpal_is_down_a_top_up_says_so_and_nothing_is_written(
    http: httpx.AsyncClient, container: Container, zarinpal: FakeZarinPal
) -> None:
    zarinpal.down = True

    response = await http.post(
        "/wallet/top-up", data={"csrf_token": CSRF, "amount_toman": "50000"}, headers=AS_CITIZEN
    )

    assert response.status_code == 503
    assert "درگاه پرداخت بانک پاسخ نمی‌دهد" in response.text
    assert await count_rows(container.database, "payments_order") == 0


async def test_with_zarinpal_chosen_the_sandbox_bank_is_neither_served_nor_offered(
    http: httpx.AsyncClient, container: Container
) -> None:
    assert isinstance(container.get(PSP), ZarinPalPsp)
    assert not any("sandbox bank" in what for what in container.sandboxes)
    admin = Principal("admin-1", "staff", "Admin", frozenset({Role.admin}))
    assert SANDBOX_CONSOLE not in [tool.href for tool in container.workspace.tools_for(admin)]
    for page in ("/sandbox-psp", "/sandbox-psp/pay/anything"):
        assert (await http.get(page)).status_code == 404
    # The sandbox's callback address is not an address of this app's bank either.
    assert (await http.get("/payments/callback/sandbox?token=x")).status_code == 404


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"zarinpal_merchant_id": None}, "SHAHR_ZARINPAL_MERCHANT_ID"),
        ({"zarinpal_merchant_id": "  "}, "SHAHR_ZARINPAL_MERCHANT_ID"),
        ({"public_url": ""}, "SHAHR_PUBLIC_URL"),
    ],
)
def test_choosing_zarinpal_without_what_it_needs_is_a_settings_error_naming_it(
    missing: dict[str, object], named: str
) -> None:
    chosen = {
        "payment_provider": "zarinpal",
        "zarinpal_merchant_id": MERCHANT_ID,
        "public_url": SITE,
    }
    with pytest.raises(ValidationError, match=named):
        Settings.model_validate({**chosen, **missing})


def test_production_talks_to_zarinpal_over_https_only() -> None:
    with pytest.raises(ValidationError, match="SHAHR_ZARINPAL_BASE_URL"):
        Settings(
            environment="production",
            secret_key="a-production-secret-of-some-length",  # type: ignore[arg-type]
            payment_provider="zarinpal",
            zarinpal_merchant_id=MERCHANT_ID,  # type: ignore[arg-type]
            public_url=SITE,
            zarinpal_base_url="http://payment.zarinpal.com",
        )
