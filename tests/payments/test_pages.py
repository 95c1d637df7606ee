"""The citizen's journey over HTTP: the wallet, the sandbox bank's page, the callback, receipts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx

from recording import RecordingBus
from shahr.kernel.principals import Role
from shahr.payments import queries
from shahr.payments.domain import PaymentStatus
from shahr.payments.events import PaymentVerified
from shahr.payments.gateways import PSP, SandboxPsp

from .flows import CARD, CITIZEN, CSRF, OTHER_CITIZEN, count_rows

if TYPE_CHECKING:
    from shahr.bootstrap import Container

AS_CITIZEN = {"x-test-citizen": CITIZEN}
CARD_FORM = {
    "csrf_token": CSRF,
    "action": "pay",
    "card_number": CARD,
    "cvv2": "123",
    "expiry_month": "12",
    "expiry_year": "08",
    "pin": "123456",
}


async def start_top_up(http: httpx.AsyncClient, amount: int = 500_000) -> dict[str, str]:
    response = await http.post(
        "/api/v1/payments/wallet/top-up", json={"amount_rial": amount}, headers=AS_CITIZEN
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def press_pay(http: httpx.AsyncClient, bank_page: str, **form: str) -> httpx.Response:
    return await http.post(bank_page, data={**CARD_FORM, **form}, headers=AS_CITIZEN)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_a_citizen_tops_up_through_the_sandbox_bank_and_gets_a_persian_receipt(
    http: httpx.AsyncClient, container: Container, bus: RecordingBus
) -> None:
    start = await start_top_up(http)
    assert start["status"] == "redirected"

    bank = await http.get(start["redirect_url"])
    assert bank.status_code == 200
    assert "محیط آزمایشی" in bank.text
    assert "۵۰٬۰۰۰ تومان" in bank.text
    assert "شهرداری تهران" in bank.text

    paid = await press_pay(http, start["redirect_url"])
    assert paid.status_code == 303
    callback = paid.headers["location"]
    assert callback.startswith("/payments/callback/sandbox?")
    assert "sig" in query_of(callback)

    back = await http.get(callback, headers=AS_CITIZEN)
    assert back.status_code == 303
    assert back.headers["location"].startswith("/wallet?")
    assert query_of(back.headers["location"]) == {
        "payment_id": start["payment_id"],
        "payment_status": "settled",
    }

    wallet = await http.get(back.headers["location"], headers=AS_CITIZEN)
    assert wallet.status_code == 200
    assert "پرداخت ۵۰٬۰۰۰ تومان تأیید شد." in wallet.text
    # Demo mode: the demo balance, then the top-up.
    assert "۲۵۰٬۰۰۰ تومان" in wallet.text
    # The form for another top-up starts empty.
    assert re.search(r'id="amount_toman"[^>]*value=""', wallet.text)

    receipt = (
        await http.get(f"/api/v1/payments/{start['payment_id']}/receipt", headers=AS_CITIZEN)
    ).json()
    assert receipt["amount_text"] == "۵۰٬۰۰۰ تومان (۵۰۰٬۰۰۰ ریال)"
    # 06:30 UTC is 10:00 in Tehran, on 5 Azar 1405.
    assert receipt["paid_at_jalali"] == "۵ آذر ۱۴۰۵، ۱۰:۰۰"
    assert receipt["card_mask"] == "6037-99**-****-0006"

    page = await http.get(f"/payments/{start['payment_id']}/receipt", headers=AS_CITIZEN)
    assert page.status_code == 200
    assert "رسید پرداخت" in page.text
    assert "۵ آذر ۱۴۰۵، ۱۰:۰۰" in page.text
    assert "۶۰۳۷-۹۹**-****-۰۰۰۶" in page.text
    assert "۵۰٬۰۰۰ تومان" in page.text
    # A top-up paid for the wallet itself: no other page to go to.
    assert "دیدن آنچه بابتش پرداخت شد" not in page.text

    assert [e.amount_rial for e in bus.of(PaymentVerified)] == [500_000]
    payment = (await http.get(f"/api/v1/payments/{start['payment_id']}", headers=AS_CITIZEN)).json()
    assert payment["status"] == "settled"
    assert payment["receipt_url"] == f"/payments/{start['payment_id']}/receipt"


async def test_a_parking_payments_receipt_leads_back_to_what_it_paid_for(
    http: httpx.AsyncClient, container: Container, psp: SandboxPsp, bus: RecordingBus
) -> None:
    from shahr.payments import services

    start = await services.request_payment(
        container.database,
        container.clock,
        psp,
        bus,
        citizen_id=CITIZEN,
        amount_rial=60_000,
        purpose="reservation",
        reference="reservation-7",
        return_url="/parking/reservations/reservation-7",
        method="wallet",
        demo_wallet_rial=2_000_000,
    )

    page = await http.get(f"/payments/{start.payment_id}/receipt", headers=AS_CITIZEN)

    assert page.status_code == 200
    assert "رزرو جای پارک" in page.text
    link = re.search(r'href="([^"]+)">دیدن آنچه بابتش پرداخت شد</a>', page.text)
    assert link is not None
    assert link.group(1) == "/parking/reservations/reservation-7"


async def test_the_wallet_api_shows_the_demo_balance_and_its_ledger_line(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/api/v1/payments/wallet", headers=AS_CITIZEN)

    assert response.status_code == 200
    body = response.json()
    assert (body["balance_rial"], body["balance_text"]) == (2_000_000, "۲۰۰٬۰۰۰ تومان")
    assert [(line["kind"], line["amount_rial"]) for line in body["lines"]] == [
        ("demo_credit", 2_000_000)
    ]


async def test_a_duplicate_callback_from_the_bank_page_charges_once(
    http: httpx.AsyncClient, container: Container, bus: RecordingBus
) -> None:
    start = await start_top_up(http)

    paid = await press_pay(http, start["redirect_url"], scenario="duplicate_callback")
    back = await http.get(paid.headers["location"], headers=AS_CITIZEN)

    assert query_of(back.headers["location"])["payment_status"] == "settled"
    outcomes = await queries.callback_outcomes(container.database, payment_id=start["payment_id"])
    assert [o.value for o in outcomes] == ["accepted", "duplicate"]
    assert len(bus.of(PaymentVerified)) == 1
    wallet = (await http.get("/api/v1/payments/wallet", headers=AS_CITIZEN)).json()
    assert wallet["balance_rial"] == 2_500_000


async def test_a_declined_card_brings_the_citizen_back_with_a_persian_explanation(
    http: httpx.AsyncClient,
) -> None:
    start = await start_top_up(http)

    paid = await press_pay(http, start["redirect_url"], scenario="decline")
    back = await http.get(paid.headers["location"], headers=AS_CITIZEN)
    wallet = await http.get(back.headers["location"], headers=AS_CITIZEN)

    assert query_of(back.headers["location"])["payment_status"] == "failed"
    assert "بانک پرداخت را نپذیرفت. هیچ مبلغی کسر نشد." in wallet.text
    assert "۲۰۰٬۰۰۰ تومان" in wallet.text


async def test_cancelling_at_the_bank_needs_no_card(http: httpx.AsyncClient) -> None:
    start = await start_top_up(http)

    cancelled = await http.post(
        start["redirect_url"], data={"csrf_token": CSRF, "action": "cancel"}, headers=AS_CITIZEN
    )
    back = await http.get(cancelled.headers["location"], headers=AS_CITIZEN)

    assert query_of(back.headers["location"])["payment_status"] == "cancelled"


async def test_a_callback_that_never_comes_shows_the_bank_s_lost_connection_page(
    http: httpx.AsyncClient,
) -> None:
    start = await start_top_up(http)

    paid = await press_pay(http, start["redirect_url"], scenario="no_callback")

    assert paid.status_code == 200
    assert "ارتباط با پذیرنده قطع شد" in paid.text


async def test_a_wrong_card_number_is_refused_on_the_bank_page_and_nothing_changes(
    http: httpx.AsyncClient, psp: SandboxPsp
) -> None:
    start = await start_top_up(http)

    refused = await press_pay(http, start["redirect_url"], card_number="6037 9900 0000 0007")

    assert refused.status_code == 422
    assert "این شمارهٔ کارت معتبر نیست" in refused.text
    transaction = await psp.transaction(start["redirect_url"].rsplit("/", 1)[-1])
    assert transaction is not None
    assert transaction.status.value == "pending"


async def test_a_forged_callback_gets_a_persian_error_page_and_books_nothing(
    http: httpx.AsyncClient, container: Container
) -> None:
    start = await start_top_up(http)
    paid = await press_pay(http, start["redirect_url"])
    forged = re.sub(r"sig=[0-9a-f]+", "sig=" + "0" * 64, paid.headers["location"])

    response = await http.get(forged, headers={**AS_CITIZEN, "accept": "text/html"})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "اصالت این تأیید پرداخت بررسی نشد" in response.text
    assert await count_rows(container.database, "payments_entry") == 0
    assert await queries.flagged_callbacks(container.database) == 1


async def test_only_an_admin_may_take_the_sandbox_bank_down(
    http: httpx.AsyncClient, container: Container
) -> None:
    for caller in ({}, AS_CITIZEN, {"x-test-role": Role.parking_operator.value}):
        refused = await http.post(
            "/sandbox-psp/switches", data={"csrf_token": CSRF, "down": "on"}, headers=caller
        )
        # Anonymous: asked to sign in (401, or a page's redirect to sign-in); others: 403.
        assert refused.status_code == (401 if not caller else 403), caller
        desk = await http.get("/sandbox-psp", headers=caller)
        assert desk.status_code == (303 if not caller else 403), caller

    psp = container.get(PSP)
    assert isinstance(psp, SandboxPsp)
    assert not await psp.is_down()


async def test_when_the_psp_is_down_a_top_up_is_refused_in_persian_and_nothing_is_written(
    http: httpx.AsyncClient, container: Container
) -> None:
    as_admin = {"x-test-role": Role.admin.value}
    switched = await http.post(
        "/sandbox-psp/switches", data={"csrf_token": CSRF, "down": "on"}, headers=as_admin
    )
    assert switched.status_code == 303
    assert "درگاه از کار افتاده است" in (await http.get("/sandbox-psp", headers=as_admin)).text

    response = await http.post(
        "/api/v1/payments/wallet/top-up", json={"amount_rial": 500_000}, headers=AS_CITIZEN
    )

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "60"
    assert response.json()["detail"] == (
        "درگاه پرداخت بانک پاسخ نمی‌دهد. هیچ مبلغی کسر نشد؛ چند دقیقه دیگر دوباره تلاش کنید."
    )
    assert await count_rows(container.database, "payments_order") == 0


async def test_a_top_up_from_the_wallet_page_accepts_persian_digits(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/wallet/top-up", data={"csrf_token": CSRF, "amount_toman": "۱۰۰٬۰۰۰"}, headers=AS_CITIZEN
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sandbox-psp/pay/")
    bank = await http.get(response.headers["location"])
    assert "۱۰۰٬۰۰۰ تومان" in bank.text


async def test_a_top_up_below_the_minimum_is_refused_on_the_wallet_page_in_persian(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/wallet/top-up", data={"csrf_token": CSRF, "amount_toman": "500"}, headers=AS_CITIZEN
    )

    assert response.status_code == 422
    assert (
        "مبلغ را به تومان و با عدد صحیح بنویسید، از ۱٬۰۰۰ تومان تا ۵۰٬۰۰۰٬۰۰۰ تومان."
        in response.text
    )


async def test_an_invalid_top_up_amount_is_refused_by_the_api_in_persian(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/api/v1/payments/wallet/top-up", json={"amount_rial": 0}, headers=AS_CITIZEN
    )

    assert response.status_code == 422
    assert response.json()["field"] == "amount_rial"
    assert "مبلغ باید عددی صحیح" in response.json()["detail"]


async def test_a_citizen_cannot_read_another_citizens_payment_or_receipt(
    http: httpx.AsyncClient,
) -> None:
    start = await start_top_up(http)
    other = {"x-test-citizen": OTHER_CITIZEN}

    assert (
        await http.get(f"/api/v1/payments/{start['payment_id']}", headers=other)
    ).status_code == 404
    assert (
        await http.get(f"/api/v1/payments/{start['payment_id']}/receipt", headers=other)
    ).status_code == 404


async def test_an_unpaid_payment_has_no_receipt_yet(http: httpx.AsyncClient) -> None:
    start = await start_top_up(http)

    response = await http.get(f"/api/v1/payments/{start['payment_id']}/receipt", headers=AS_CITIZEN)

    assert response.status_code == 409
    assert response.json()["detail"] == "این پرداخت هنوز انجام نشده است، پس رسیدی ندارد."


async def test_an_operator_reads_the_reconciliation_an_admin_runs(
    http: httpx.AsyncClient,
) -> None:
    assert (
        await http.get(
            "/api/v1/payments/reconciliation/latest", headers={"x-test-role": "parking_operator"}
        )
    ).status_code == 404

    ran = await http.post("/api/v1/payments/reconciliation", headers={"x-test-role": "admin"})
    latest = await http.get(
        "/api/v1/payments/reconciliation/latest", headers={"x-test-role": "parking_operator"}
    )

    assert ran.status_code == 200
    assert ran.json()["clean"] is True
    assert latest.json() == ran.json()
    refused = await http.post(
        "/api/v1/payments/reconciliation", headers={"x-test-role": "parking_operator"}
    )
    assert refused.status_code == 403


async def test_every_payments_endpoint_is_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]

    assert {
        "/api/v1/payments/wallet",
        "/api/v1/payments/wallet/top-up",
        "/api/v1/payments/{payment_id}",
        "/api/v1/payments/{payment_id}/receipt",
        "/api/v1/payments/reconciliation",
        "/api/v1/payments/reconciliation/latest",
        "/payments/callback/{psp_name}",
    } <= set(paths)


async def test_the_payment_s_state_is_shown_on_return_even_when_the_bank_has_not_confirmed(
    http: httpx.AsyncClient, container: Container
) -> None:
    start = await start_top_up(http)

    paid = await press_pay(http, start["redirect_url"], scenario="timeout")
    back = await http.get(paid.headers["location"], headers=AS_CITIZEN)
    wallet = await http.get(back.headers["location"], headers=AS_CITIZEN)

    assert query_of(back.headers["location"])["payment_status"] == PaymentStatus.callback_received
    assert "بانک شما هنوز پرداخت را تأیید نکرده است." in wallet.text
