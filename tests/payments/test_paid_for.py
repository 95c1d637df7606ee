"""A payment names what it bought (a bay on a street), and the wallet's lines say so.

The payer passes it as data, the street in both languages, so the wallet writes each line in
its reader's language; the refund of a payment is named like the payment it gives back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from recording import RecordingBus
from shahr.kernel.clock import FixedClock
from shahr.kernel.web.security import LANGUAGE_COOKIE
from shahr.payments import queries, services
from shahr.payments.domain import InvalidPaymentRequestError, PaidFor, TransactionKind
from shahr.payments.gateways import SandboxPsp

from .flows import CITIZEN, row_counts

if TYPE_CHECKING:
    from shahr.bootstrap import Container

RESERVATION = "reservation-7"
IRAN_ZAMIN_BAY_3 = PaidFor(
    street_fa="خیابان ایران‌زمین", street_en="Iran Zamin Street", bay_number=3
)
AS_CITIZEN = {"x-test-citizen": CITIZEN}


async def pay_from_wallet(
    container: Container, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus, paid_for: PaidFor
) -> str:
    await services.ensure_demo_wallet(
        container.database, clock, citizen_id=CITIZEN, amount_rial=500_000
    )
    start = await services.request_payment(
        container.database,
        clock,
        psp,
        bus,
        citizen_id=CITIZEN,
        amount_rial=120_000,
        purpose="reservation",
        reference=RESERVATION,
        return_url=f"/parking/reservations/{RESERVATION}",
        method="wallet",
        paid_for=paid_for,
    )
    return start.payment_id


async def test_the_wallet_names_the_bay_and_street_of_a_payment_and_of_its_refund(
    container: Container, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    payment_id = await pay_from_wallet(container, clock, psp, bus, IRAN_ZAMIN_BAY_3)
    await services.refund(
        container.database, clock, bus, reference=RESERVATION, amount_rial=40_000, reason="ended"
    )

    statement = await services.wallet_statement(container.database, clock, citizen_id=CITIZEN)
    receipt = await queries.receipt(container.database, payment_id=payment_id, citizen_id=CITIZEN)

    named = {line.kind: line.paid_for for line in statement.lines}
    assert named == {
        TransactionKind.refund: IRAN_ZAMIN_BAY_3,
        TransactionKind.payment: IRAN_ZAMIN_BAY_3,
        TransactionKind.demo_credit: None,
    }
    assert receipt.paid_for == IRAN_ZAMIN_BAY_3


async def test_the_wallet_page_names_the_bay_and_street_in_each_language(
    container: Container,
    clock: FixedClock,
    psp: SandboxPsp,
    bus: RecordingBus,
    http: httpx.AsyncClient,
) -> None:
    payment_id = await pay_from_wallet(container, clock, psp, bus, IRAN_ZAMIN_BAY_3)

    persian = (await http.get("/wallet", headers=AS_CITIZEN)).text
    persian_receipt = (await http.get(f"/payments/{payment_id}/receipt", headers=AS_CITIZEN)).text
    http.cookies.set(LANGUAGE_COOKIE, "en")
    english = (await http.get("/wallet", headers=AS_CITIZEN)).text
    english_receipt = (await http.get(f"/payments/{payment_id}/receipt", headers=AS_CITIZEN)).text

    assert '<span class="paid-for">جایگاه ۳، خیابان ایران‌زمین</span>' in persian
    assert '<span class="paid-for">جایگاه ۳، خیابان ایران‌زمین</span>' in persian_receipt
    assert '<span class="paid-for">Bay 3, Iran Zamin Street</span>' in english
    assert '<span class="paid-for">Bay 3, Iran Zamin Street</span>' in english_receipt


@pytest.mark.parametrize(
    "paid_for",
    [
        PaidFor(street_fa="", street_en="Iran Zamin Street", bay_number=3),
        PaidFor(street_fa="خیابان ایران‌زمین", street_en="  ", bay_number=3),
        PaidFor(street_fa="خیابان ایران‌زمین", street_en="Iran Zamin Street", bay_number=0),
        PaidFor(street_fa="خ" * 151, street_en="Iran Zamin Street", bay_number=3),
    ],
)
async def test_a_payment_naming_no_street_or_bay_is_refused_and_writes_nothing(
    container: Container, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus, paid_for: PaidFor
) -> None:
    await services.ensure_demo_wallet(
        container.database, clock, citizen_id=CITIZEN, amount_rial=500_000
    )
    before = await row_counts(container.database)

    with pytest.raises(InvalidPaymentRequestError) as refused:
        await pay_from_wallet(container, clock, psp, bus, paid_for)

    assert refused.value.field == "paid_for"
    assert await row_counts(container.database) == before
