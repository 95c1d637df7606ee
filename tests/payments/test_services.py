"""Payments' use cases against the database and the sandbox PSP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from recording import RecordingBus
from shahr.kernel.clock import FixedClock
from shahr.payments import queries, services
from shahr.payments.domain import (
    CITY_PARKING_REVENUE,
    DEMO_WALLET_RIAL,
    PAYMENT_WINDOW,
    VERIFY_WINDOW,
    AmountMismatchError,
    CallbackOutcome,
    ForgedCallbackError,
    InsufficientBalanceError,
    NothingPaidError,
    PaymentExpiredError,
    PaymentStatus,
    PspUnavailableError,
    RefundTooLargeError,
    UnknownCallbackError,
    psp_clearing_account,
    wallet_account,
)
from shahr.payments.events import (
    CallbackFlagged,
    PaymentFailed,
    PaymentReversed,
    PaymentVerified,
    RefundIssued,
)
from shahr.payments.gateways import (
    SandboxPsp,
    SandboxScenario,
    SandboxStatus,
    callback_key,
    sign_callback,
)

from .flows import CITIZEN, OTHER_CITIZEN, balances, pay_at_bank, row_counts, token_of

if TYPE_CHECKING:
    from shahr.bootstrap import Container
    from shahr.kernel.db import Database
    from shahr.kernel.settings import Settings

RESERVATION = "reservation-42"
RETURN_URL = "/parking/reservations/reservation-42"


@pytest.fixture
def database(container: Container) -> Database:
    return container.database


async def start_card_payment(
    database: Database,
    clock: FixedClock,
    psp: SandboxPsp,
    bus: RecordingBus,
    *,
    amount: int = 120_000,
    reference: str = RESERVATION,
    citizen: str = CITIZEN,
) -> services.PaymentStart:
    return await services.request_payment(
        database,
        clock,
        psp,
        bus,
        citizen_id=citizen,
        amount_rial=amount,
        purpose="reservation",
        reference=reference,
        return_url=RETURN_URL,
        method="psp",
    )


async def paid_by_card(
    database: Database,
    clock: FixedClock,
    psp: SandboxPsp,
    bus: RecordingBus,
    *,
    amount: int = 120_000,
    reference: str = RESERVATION,
) -> services.CallbackResult:
    start = await start_card_payment(database, clock, psp, bus, amount=amount, reference=reference)
    answer = await pay_at_bank(psp, token_of(start))
    return await services.handle_callback(database, clock, psp, bus, params=answer.callback_params)


def resigned(params: dict[str, str], settings: Settings, **changes: str) -> dict[str, str]:
    """The callback with fields changed and signed again with the PSP's own key."""
    fields = {k: v for k, v in params.items() if k != "sig"} | changes
    return {**fields, "sig": sign_callback(callback_key(settings.signing_key, "sandbox"), fields)}


# --- the card journey ---


async def test_a_card_payment_is_verified_settled_and_booked_once(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    assert start.status is PaymentStatus.redirected
    assert start.redirect_url == f"/sandbox-psp/pay/{token_of(start)}"

    answer = await pay_at_bank(psp, token_of(start))
    result = await services.handle_callback(
        database, clock, psp, bus, params=answer.callback_params
    )

    assert result.outcome is CallbackOutcome.accepted
    assert result.payment.status is PaymentStatus.settled
    assert result.payment.card_mask == "6037-99**-****-0006"
    assert await balances(database) == {
        psp_clearing_account("sandbox"): -120_000,
        CITY_PARKING_REVENUE: 120_000,
    }
    [verified] = bus.of(PaymentVerified)
    assert (verified.payment_id, verified.purpose, verified.reference, verified.amount_rial) == (
        start.payment_id,
        "reservation",
        RESERVATION,
        120_000,
    )
    assert verified.verified_at == clock.now()
    transaction = await psp.transaction(token_of(start))
    assert transaction is not None
    assert transaction.status is SandboxStatus.settled


async def test_verifying_twice_answers_the_same_and_books_nothing_more(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    result = await paid_by_card(database, clock, psp, bus)

    again = await services.verify_payment(database, clock, psp, bus, payment_id=result.payment.id)

    assert again.status is PaymentStatus.settled
    assert again.verified_at == result.payment.verified_at
    assert (await row_counts(database))["payments_transaction"] == 1
    assert len(bus.of(PaymentVerified)) == 1


async def test_a_duplicate_callback_charges_once(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start), SandboxScenario.duplicate_callback)
    assert answer.deliver_twice

    first = await services.handle_callback(database, clock, psp, bus, params=answer.callback_params)
    second = await services.handle_callback(
        database, clock, psp, bus, params=answer.callback_params
    )

    assert first.outcome is CallbackOutcome.accepted
    assert second.outcome is CallbackOutcome.duplicate
    assert second.payment.status is PaymentStatus.settled
    assert (await row_counts(database))["payments_transaction"] == 1
    assert await balances(database) == {
        psp_clearing_account("sandbox"): -120_000,
        CITY_PARKING_REVENUE: 120_000,
    }
    assert len(bus.of(PaymentVerified)) == 1
    assert await queries.callback_outcomes(database, payment_id=start.payment_id) == [
        CallbackOutcome.accepted,
        CallbackOutcome.duplicate,
    ]


async def test_a_declined_card_fails_the_payment_and_books_nothing(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start), SandboxScenario.decline)

    result = await services.handle_callback(
        database, clock, psp, bus, params=answer.callback_params
    )

    assert result.payment.status is PaymentStatus.failed
    assert result.payment.failure_reason == "declined"
    assert await balances(database) == {}
    [failed] = bus.of(PaymentFailed)
    assert (failed.reason, failed.reference) == ("declined", RESERVATION)


async def test_cancelling_at_the_bank_cancels_the_payment_and_books_nothing(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await psp.cancel(token_of(start))

    result = await services.handle_callback(
        database, clock, psp, bus, params=answer.callback_params
    )

    assert result.payment.status is PaymentStatus.cancelled
    assert await balances(database) == {}
    assert [e.reason for e in bus.of(PaymentFailed)] == ["cancelled"]


async def test_a_verification_that_times_out_waits_until_reconciliation_reverses_it(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start), SandboxScenario.timeout)

    result = await services.handle_callback(
        database, clock, psp, bus, params=answer.callback_params
    )
    assert result.payment.status is PaymentStatus.callback_received

    clock.advance(timedelta(minutes=5))
    early = await services.reconcile(database, clock, psp, bus)
    assert early.reversed == []
    assert (await queries.payments_for_reference(database, reference=RESERVATION))[
        0
    ].status is PaymentStatus.callback_received

    clock.advance(VERIFY_WINDOW)
    report = await services.reconcile(database, clock, psp, bus)

    assert report.reversed == [start.payment_id]
    assert report.clean
    [payment] = await queries.payments_for_reference(database, reference=RESERVATION)
    assert payment.status is PaymentStatus.reversed
    assert payment.failure_reason == "not_verified_in_time"
    bank = await psp.transaction(token_of(start))
    assert bank is not None
    assert bank.status is SandboxStatus.reversed
    assert await balances(database) == {}
    [reversed_] = bus.of(PaymentReversed)
    assert reversed_.amount_rial == 120_000
    assert bus.of(PaymentVerified) == []


async def test_a_callback_that_never_comes_is_reversed_by_reconciliation_and_a_late_one_is_refused(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start), SandboxScenario.no_callback)
    assert answer.callback_url is None

    clock.advance(PAYMENT_WINDOW)
    report = await services.reconcile(database, clock, psp, bus)

    assert report.reversed == [start.payment_id]
    [payment] = await queries.payments_for_reference(database, reference=RESERVATION)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.reversed, "no_callback")

    with pytest.raises(PaymentExpiredError):
        await services.handle_callback(database, clock, psp, bus, params=answer.callback_params)
    assert await balances(database) == {}
    assert [e.outcome for e in bus.of(CallbackFlagged)] == ["late"]


async def test_a_payment_abandoned_at_the_bank_expires_and_its_page_stops_taking_cards(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)

    clock.advance(PAYMENT_WINDOW)
    report = await services.reconcile(database, clock, psp, bus)

    assert report.expired == [start.payment_id]
    assert [e.reason for e in bus.of(PaymentFailed)] == ["expired"]
    bank = await psp.transaction(token_of(start))
    assert bank is not None
    assert bank.status is SandboxStatus.expired


async def test_a_forged_callback_is_refused_flagged_and_changes_no_money(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start))
    forged = {
        **answer.callback_params,
        "sig": sign_callback(callback_key("guess", "sandbox"), answer.callback_params),
    }

    with pytest.raises(ForgedCallbackError):
        await services.handle_callback(database, clock, psp, bus, params=forged)

    assert await balances(database) == {}
    [payment] = await queries.payments_for_reference(database, reference=RESERVATION)
    assert payment.status is PaymentStatus.redirected
    assert [e.outcome for e in bus.of(CallbackFlagged)] == ["forged"]
    assert await queries.flagged_callbacks(database) == 1


async def test_a_tampered_amount_breaks_the_signature_and_is_refused(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start))
    tampered = {**answer.callback_params, "amount_rial": "1000"}

    with pytest.raises(ForgedCallbackError):
        await services.handle_callback(database, clock, psp, bus, params=tampered)

    assert await balances(database) == {}


async def test_a_signed_callback_with_the_wrong_amount_is_refused_flagged_and_the_card_refunded(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus, settings: Settings
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start))
    # A PSP that reports another amount than ours: signed, so it is not an outsider's forgery.
    fields = resigned(answer.callback_params, settings, amount_rial="12000")

    with pytest.raises(AmountMismatchError):
        await services.handle_callback(database, clock, psp, bus, params=fields)

    assert await balances(database) == {}
    [payment] = await queries.payments_for_reference(database, reference=RESERVATION)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.failed, "amount_mismatch")
    bank = await psp.transaction(token_of(start))
    assert bank is not None
    assert bank.status is SandboxStatus.reversed
    assert [e.outcome for e in bus.of(CallbackFlagged)] == ["amount_mismatch"]


async def test_a_signed_callback_for_an_unknown_payment_is_refused_and_flagged(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus, settings: Settings
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start))
    fields = resigned(answer.callback_params, settings, payment_id="someone-elses-payment")

    with pytest.raises(UnknownCallbackError):
        await services.handle_callback(database, clock, psp, bus, params=fields)

    assert await balances(database) == {}
    assert [e.outcome for e in bus.of(CallbackFlagged)] == ["unknown_payment"]


async def test_when_the_psp_is_down_nothing_is_charged_or_written(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    await psp.set_down(True)
    before = await row_counts(database)

    with pytest.raises(PspUnavailableError) as refused:
        await start_card_payment(database, clock, psp, bus)

    assert refused.value.retry_after_s == 60
    assert await row_counts(database) == before
    assert await psp.recent() == []

    await psp.set_down(False)
    assert (await start_card_payment(database, clock, psp, bus)).redirect_url


async def test_a_callback_while_the_psp_is_down_waits_and_reconciliation_verifies_it_later(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    answer = await pay_at_bank(psp, token_of(start))
    await psp.set_down(True)

    waiting = await services.handle_callback(
        database, clock, psp, bus, params=answer.callback_params
    )
    assert waiting.payment.status is PaymentStatus.callback_received
    down = await services.reconcile(database, clock, psp, bus)
    assert down.psp_errors == [f"{start.payment_id}: PspUnavailableError"]

    await psp.set_down(False)
    report = await services.reconcile(database, clock, psp, bus)

    assert report.verified == [start.payment_id]
    assert report.clean
    assert len(bus.of(PaymentVerified)) == 1


# --- the wallet ---


async def test_a_top_up_credits_the_wallet_once_verified(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await services.top_up_wallet(
        database, clock, psp, bus, citizen_id=CITIZEN, amount_rial=500_000
    )
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 0

    answer = await pay_at_bank(psp, token_of(start))
    await services.handle_callback(database, clock, psp, bus, params=answer.callback_params)

    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 500_000
    [verified] = bus.of(PaymentVerified)
    assert verified.purpose == "top_up"


async def test_paying_from_the_wallet_verifies_at_once(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    await services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN, amount_rial=300_000)

    start = await services.request_payment(
        database,
        clock,
        psp,
        bus,
        citizen_id=CITIZEN,
        amount_rial=120_000,
        purpose="reservation",
        reference=RESERVATION,
        return_url=RETURN_URL,
        method="wallet",
    )

    assert (start.status, start.redirect_url) == (PaymentStatus.settled, None)
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 180_000
    assert [e.payment_id for e in bus.of(PaymentVerified)] == [start.payment_id]
    receipt = await queries.receipt(database, payment_id=start.payment_id, citizen_id=CITIZEN)
    assert receipt.amount_rial == 120_000
    assert receipt.paid_for_url == RETURN_URL


async def test_a_wallet_payment_larger_than_the_balance_is_refused_and_nothing_is_written(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    await services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN, amount_rial=100_000)
    before = await row_counts(database)

    with pytest.raises(InsufficientBalanceError):
        await services.request_payment(
            database,
            clock,
            psp,
            bus,
            citizen_id=CITIZEN,
            amount_rial=100_001,
            purpose="reservation",
            reference=RESERVATION,
            return_url=RETURN_URL,
            method="wallet",
        )

    assert await row_counts(database) == before
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 100_000
    assert bus.published == []


async def test_the_kept_wallet_balance_always_equals_the_sum_of_its_entries(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    await services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN, amount_rial=300_000)
    for amount in (50_000, 70_000):
        await services.request_payment(
            database, clock, psp, bus, citizen_id=CITIZEN, amount_rial=amount,
            purpose="reservation", reference=RESERVATION, return_url=RETURN_URL, method="wallet",
        )  # fmt: skip
    await services.refund(
        database, clock, bus, reference=RESERVATION, amount_rial=30_000, reason="early end"
    )

    report = await services.reconcile(database, clock, psp, bus)

    assert report.balance_mismatches == []
    assert report.books_total_rial == 0
    assert report.clean
    assert (await balances(database))[wallet_account(CITIZEN)] == 210_000


async def test_a_demo_wallet_is_credited_exactly_once(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    first = await services.wallet_balance(
        database, clock, citizen_id=CITIZEN, demo_wallet_rial=DEMO_WALLET_RIAL
    )
    again = await services.wallet_balance(
        database, clock, citizen_id=CITIZEN, demo_wallet_rial=DEMO_WALLET_RIAL
    )
    credited_again = await services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN)

    assert first == again == DEMO_WALLET_RIAL == 2_000_000
    assert not credited_again
    assert (await row_counts(database))["payments_transaction"] == 1
    assert (await balances(database))["demo_funding"] == -2_000_000


async def test_a_demo_wallet_is_usable_for_a_first_payment_without_being_read_first(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await services.request_payment(
        database,
        clock,
        psp,
        bus,
        citizen_id=CITIZEN,
        amount_rial=120_000,
        purpose="reservation",
        reference=RESERVATION,
        return_url=RETURN_URL,
        method="wallet",
        demo_wallet_rial=DEMO_WALLET_RIAL,
    )

    assert start.status is PaymentStatus.settled
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 1_880_000


async def test_a_demo_wallet_spent_is_refused_and_not_credited_again(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    async def pay(amount_rial: int) -> PaymentStatus:
        start = await services.request_payment(
            database,
            clock,
            psp,
            bus,
            citizen_id=CITIZEN,
            amount_rial=amount_rial,
            purpose="reservation",
            reference=RESERVATION,
            return_url=RETURN_URL,
            method="wallet",
            demo_wallet_rial=DEMO_WALLET_RIAL,
        )
        return start.status

    assert await pay(1_900_000) is PaymentStatus.settled
    with pytest.raises(InsufficientBalanceError):
        await pay(200_000)

    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 100_000
    assert (await balances(database))["demo_funding"] == -2_000_000


# --- refunds ---


async def test_a_refund_goes_to_the_wallet_and_never_exceeds_what_was_paid(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    await paid_by_card(database, clock, psp, bus, amount=120_000)

    first = await services.refund(
        database, clock, bus, reference=RESERVATION, amount_rial=100_000, reason="cancelled early"
    )
    with pytest.raises(RefundTooLargeError):
        await services.refund(
            database, clock, bus, reference=RESERVATION, amount_rial=20_001, reason="goodwill"
        )
    last = await services.refund(
        database, clock, bus, reference=RESERVATION, amount_rial=20_000, reason="goodwill"
    )

    assert (first.citizen_id, first.amount_rial, last.amount_rial) == (CITIZEN, 100_000, 20_000)
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 120_000
    assert (await balances(database))[CITY_PARKING_REVENUE] == 0
    assert [e.amount_rial for e in bus.of(RefundIssued)] == [100_000, 20_000]


async def test_a_refund_asked_twice_for_the_same_reason_is_given_once(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    await paid_by_card(database, clock, psp, bus)

    first = await services.refund(
        database, clock, bus, reference=RESERVATION, amount_rial=50_000, reason="cancelled"
    )
    again = await services.refund(
        database, clock, bus, reference=RESERVATION, amount_rial=50_000, reason="cancelled"
    )

    assert again == first
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 50_000
    assert len(bus.of(RefundIssued)) == 1


async def test_nothing_is_refunded_for_a_reference_that_was_never_paid(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    start = await start_card_payment(database, clock, psp, bus)
    await pay_at_bank(psp, token_of(start), SandboxScenario.decline)

    with pytest.raises(NothingPaidError):
        await services.refund(
            database, clock, bus, reference=RESERVATION, amount_rial=1_000, reason="cancelled"
        )
    assert await balances(database) == {}


# --- what one citizen may see ---


async def test_a_citizen_cannot_see_another_citizens_payment(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    result = await paid_by_card(database, clock, psp, bus)

    with pytest.raises(Exception, match="No such payment"):
        await queries.payment(database, payment_id=result.payment.id, citizen_id=OTHER_CITIZEN)
