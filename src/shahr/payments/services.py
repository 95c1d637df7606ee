"""Payments' use cases: start a payment, take the PSP's callback, verify, refund, reconcile.

Two rules hold throughout. No database transaction is open while the PSP is called (a
PSP can take seconds, and SQLite has one writer), so each step reads, calls the PSP, then
locks and re-checks before it writes. Events are published after the commit.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    AWAITING_CALLBACK,
    DEMO_WALLET_RIAL,
    FLAGGED_OUTCOMES,
    CallbackOutcome,
    ForgedCallbackError,
    Method,
    PaymentId,
    PaymentOrder,
    PaymentStateError,
    PaymentStatus,
    PspRefusedError,
    PspUnavailableError,
    Purpose,
    ReconciliationReport,
    Refund,
    RefundId,
    TransactionId,
    UnknownCallbackError,
    WalletStatement,
    amount_mismatch,
    check_reason,
    check_reference,
    check_refund,
    demo_credit_key,
    demo_credit_transaction,
    parse_method,
    parse_purpose,
    payment_expired,
    payment_not_found,
    refund_transaction,
    wallet_account,
)
from shahr.payments.events import (
    CallbackFlagged,
    PaymentFailed,
    PaymentReversed,
    PaymentVerified,
    RefundIssued,
)
from shahr.payments.gateways import CallbackStatus, PaymentGateway, PspCallback
from shahr.payments.persistence import PaymentsUnitOfWork

log = logging.getLogger(__name__)

# Why a payment was given up on before any callback: a callback after this is late.
LATE = ("expired", "no_callback")
# How many lines of a wallet's history the wallet shows.
STATEMENT_LINES = 20
# Evidence kept of a callback: bounded, whatever a caller sends.
MAX_EVIDENCE_FIELDS = 20
MAX_EVIDENCE_CHARS = 200


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class PaymentStart:
    """A payment begun: by card, where to send the citizen; from the wallet, already paid."""

    payment_id: PaymentId
    status: PaymentStatus
    method: Method
    amount_rial: Rial
    redirect_url: str | None


@dataclass(frozen=True)
class CallbackResult:
    payment: PaymentOrder
    outcome: CallbackOutcome


def _verified(order: PaymentOrder) -> PaymentVerified:
    assert order.verified_at is not None  # noqa: S101  # called for verified orders only
    return PaymentVerified(
        payment_id=order.id,
        citizen_id=order.citizen_id,
        purpose=order.purpose.value,
        reference=order.reference,
        amount_rial=int(order.amount_rial),
        verified_at=order.verified_at,
        event_id=f"PaymentVerified:{order.id}",
    )


def _failed(order: PaymentOrder, at: datetime) -> PaymentFailed:
    return PaymentFailed(
        payment_id=order.id,
        citizen_id=order.citizen_id,
        purpose=order.purpose.value,
        reference=order.reference,
        reason=order.failure_reason or order.status.value,
        failed_at=at,
        event_id=f"PaymentFailed:{order.id}",
    )


def _reversed(order: PaymentOrder, at: datetime) -> PaymentReversed:
    return PaymentReversed(
        payment_id=order.id,
        citizen_id=order.citizen_id,
        purpose=order.purpose.value,
        reference=order.reference,
        amount_rial=int(order.amount_rial),
        reason=order.failure_reason or "reversed",
        reversed_at=at,
        event_id=f"PaymentReversed:{order.id}",
    )


async def _publish(bus: EventBus, events: list[object]) -> None:
    for event in events:
        await bus.publish(event)


# --- starting a payment ---


async def request_payment(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    citizen_id: str,
    amount_rial: int,
    purpose: str,
    reference: str,
    return_url: str,
    method: Literal["psp", "wallet"],
    demo_wallet_rial: int = 0,
) -> PaymentStart:
    """Start paying `amount_rial` for `purpose`/`reference`.

    By card: registers the payment at the PSP and answers where to send the citizen; the
    PSP's callback finishes it. From the wallet: debits the wallet and verifies at once, or
    refuses with `InsufficientBalanceError` and writes nothing. `demo_wallet_rial` (demo
    mode only) credits the citizen's demo balance first, once.
    """
    chosen = parse_method(method)
    order = PaymentOrder.new(
        PaymentId(_new_id()),
        citizen_id=citizen_id,
        purpose=parse_purpose(purpose),
        reference=reference,
        amount_rial=amount_rial,
        method=chosen,
        return_url=return_url,
        psp=psp.name,
        now=clock.now(),
    )
    if chosen is Method.wallet:
        if demo_wallet_rial:
            await ensure_demo_wallet(
                database, clock, citizen_id=citizen_id, amount_rial=demo_wallet_rial
            )
        return await _pay_from_wallet(database, clock, bus, order)
    # The token first, outside any transaction: if the PSP is down nothing is written.
    token = await psp.request_token(order)
    order.redirect(token.token, at=clock.now())
    async with PaymentsUnitOfWork(database) as uow:
        await uow.orders.add(order)
        await uow.commit()
    return PaymentStart(
        payment_id=order.id,
        status=order.status,
        method=order.method,
        amount_rial=order.amount_rial,
        redirect_url=token.redirect_url,
    )


async def _pay_from_wallet(
    database: Database, clock: Clock, bus: EventBus, order: PaymentOrder
) -> PaymentStart:
    now = clock.now()
    # A wallet payment has no PSP to verify with or settle at: both happen at once.
    order.verify(at=now)
    order.settle(at=now)
    async with PaymentsUnitOfWork(database) as uow:
        # The ledger locks the wallet and refuses an overdraft before anything is written.
        await uow.ledger.post(order.payment_transaction(TransactionId(_new_id()), at=now))
        await uow.orders.add(order)
        await uow.commit()
    await bus.publish(_verified(order))
    return PaymentStart(
        payment_id=order.id,
        status=order.status,
        method=order.method,
        amount_rial=order.amount_rial,
        redirect_url=None,
    )


async def top_up_wallet(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    citizen_id: str,
    amount_rial: int,
    return_url: str = "/wallet",
) -> PaymentStart:
    """Start a card payment that credits the citizen's wallet once verified."""
    return await request_payment(
        database,
        clock,
        psp,
        bus,
        citizen_id=citizen_id,
        amount_rial=amount_rial,
        purpose=Purpose.top_up.value,
        reference=wallet_account(citizen_id),
        return_url=return_url,
        method="psp",
    )


# --- the PSP's callback, verification and settlement ---


def _evidence(params: Mapping[str, str]) -> dict[str, str]:
    items = list(params.items())[:MAX_EVIDENCE_FIELDS]
    return {str(k)[:MAX_EVIDENCE_CHARS]: str(v)[:MAX_EVIDENCE_CHARS] for k, v in items}


async def handle_callback(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    params: Mapping[str, str],
) -> CallbackResult:
    """Take the PSP's callback: check its signature and amount, then verify and settle.

    Idempotent: a duplicate callback changes nothing and answers the payment as it stands.
    A forged, unknown, mismatched or late callback is recorded as flagged, books nothing,
    and raises an error that says so in the citizen's words.
    """
    now = clock.now()
    evidence = _evidence(params)
    try:
        callback = psp.read_callback(params)
    except ForgedCallbackError:
        async with PaymentsUnitOfWork(database) as uow:
            callback_id = await uow.callbacks.add(
                psp=psp.name,
                token=evidence.get("token", "")[:64] or None,
                payment_id=None,
                outcome=CallbackOutcome.forged,
                flagged=True,
                payload=evidence,
                received_at=now,
            )
            await uow.commit()
        log.warning("payments: forged callback refused", extra={"callback_id": callback_id})
        await bus.publish(_flagged(callback_id, psp.name, None, CallbackOutcome.forged, now))
        raise
    outcome, order, events = await _record_callback(database, now, psp.name, callback, evidence)
    await _publish(bus, events)
    if outcome is CallbackOutcome.unknown_payment:
        raise UnknownCallbackError(
            "This payment confirmation does not match any payment and was refused. Nothing"
            " was booked; if money was taken from your card, your bank will return it"
            " within 72 hours."
        )
    assert order is not None  # noqa: S101  # every other outcome found the order
    if outcome in (CallbackOutcome.amount_mismatch, CallbackOutcome.late):
        if callback.status is CallbackStatus.ok and order.token:
            # The money the PSP took is not ours to keep: have it returned to the card.
            await _reverse_quietly(psp, order.token)
        raise amount_mismatch() if outcome is CallbackOutcome.amount_mismatch else payment_expired()
    if order.status is PaymentStatus.callback_received:
        try:
            order = await verify_payment(database, clock, psp, bus, payment_id=order.id)
        except PspUnavailableError:
            # Still waiting for the bank; reconciliation verifies again, or reverses in time.
            log.warning("payments: verification deferred", extra={"payment_id": order.id})
    return CallbackResult(payment=order, outcome=outcome)


def _flagged(
    callback_id: int, psp: str, payment_id: str | None, outcome: CallbackOutcome, at: datetime
) -> CallbackFlagged:
    return CallbackFlagged(
        callback_id=callback_id,
        psp=psp,
        payment_id=payment_id,
        outcome=outcome.value,
        received_at=at,
        event_id=f"CallbackFlagged:{psp}:{callback_id}",
    )


async def _record_callback(
    database: Database,
    now: datetime,
    psp: str,
    callback: PspCallback,
    evidence: dict[str, str],
) -> tuple[CallbackOutcome, PaymentOrder | None, list[object]]:
    """Record the callback and move the order, in one transaction with the order locked."""
    events: list[object] = []
    async with PaymentsUnitOfWork(database) as uow:
        order = await uow.orders.lock_by_token(psp, callback.token)
        changed = True
        if order is None or order.id != callback.payment_id:
            outcome, order, changed = CallbackOutcome.unknown_payment, None, False
        elif callback.amount_rial != order.amount_rial:
            outcome = CallbackOutcome.amount_mismatch
            if order.status is PaymentStatus.redirected:
                order.fail("amount_mismatch", at=now)
                events.append(_failed(order, now))
            else:
                changed = False
        elif order.status is PaymentStatus.redirected:
            outcome = CallbackOutcome.accepted
            if callback.status is CallbackStatus.ok:
                order.receive_callback(
                    at=now,
                    trace_no=callback.trace_no,
                    rrn=callback.rrn,
                    card_mask=callback.card_mask,
                )
            else:
                if callback.status is CallbackStatus.declined:
                    order.fail("declined", at=now)
                else:
                    order.cancel(at=now)
                events.append(_failed(order, now))
        elif order.is_closed and order.callback_at is None and order.failure_reason in LATE:
            # The first word from the PSP, after the payment was given up on.
            outcome, changed = CallbackOutcome.late, False
        else:
            outcome, changed = CallbackOutcome.duplicate, False
        flagged = outcome in FLAGGED_OUTCOMES
        callback_id = await uow.callbacks.add(
            psp=psp,
            token=callback.token,
            payment_id=None if order is None else order.id,
            outcome=outcome,
            flagged=flagged,
            payload=evidence,
            received_at=now,
        )
        if changed and order is not None:
            await uow.orders.save(order)
        await uow.commit()
    if flagged:
        log.warning("payments: callback flagged", extra={"callback_id": callback_id})
        payment_id = None if order is None else order.id
        events.insert(0, _flagged(callback_id, psp, payment_id, outcome, now))
    return outcome, order, events


async def verify_payment(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    payment_id: str,
) -> PaymentOrder:
    """Verify a payment whose callback said paid, book it, and settle it.

    Idempotent: a paid payment is answered as it stands, and the ledger books a payment
    once whatever happens (its idempotency key). Raises `PspUnavailableError` (or its
    `PspTimeoutError`) when the PSP does not answer; the payment then stays as it was.
    """
    async with PaymentsUnitOfWork(database) as uow:
        order = await uow.orders.get(payment_id)
    if order is None:
        raise payment_not_found()
    if order.is_paid:
        return await _settle(database, clock, psp, order)
    if order.status is not PaymentStatus.callback_received or order.token is None:
        raise PaymentStateError("This payment can no longer be changed this way.")
    result = await psp.verify(order.token, order.amount_rial)
    now = clock.now()
    events: list[object] = []
    give_back = False
    async with PaymentsUnitOfWork(database) as uow:
        locked = await uow.orders.lock(payment_id)
        assert locked is not None  # noqa: S101  # orders are never deleted
        order = locked
        if order.status is PaymentStatus.callback_received:
            if result.ok and result.amount_rial == order.amount_rial:
                order.verify(
                    at=now, trace_no=result.trace_no, rrn=result.rrn, card_mask=result.card_mask
                )
                await uow.ledger.post(order.payment_transaction(TransactionId(_new_id()), at=now))
                events.append(_verified(order))
            else:
                reason = "amount_mismatch" if result.ok else result.code
                order.fail(reason, at=now)
                events.append(_failed(order, now))
                # Whatever the PSP took for a payment we refuse goes back to the card.
                give_back = True
            await uow.orders.save(order)
            await uow.commit()
    await _publish(bus, events)
    if give_back:
        await _reverse_quietly(psp, order.token)
    if order.is_paid:
        order = await _settle(database, clock, psp, order)
    return order


async def _settle(
    database: Database, clock: Clock, psp: PaymentGateway, order: PaymentOrder
) -> PaymentOrder:
    """Ask the PSP to pay out a verified payment; on failure reconciliation asks again."""
    if order.status is not PaymentStatus.verified or order.token is None:
        return order
    try:
        await psp.settle(order.token)
    except (PspUnavailableError, PspRefusedError) as error:
        log.warning(
            "payments: settlement deferred",
            extra={"payment_id": order.id, "error": type(error).__name__},
        )
        return order
    async with PaymentsUnitOfWork(database) as uow:
        locked = await uow.orders.lock(order.id)
        assert locked is not None  # noqa: S101  # orders are never deleted
        if locked.status is PaymentStatus.verified:
            locked.settle(at=clock.now())
            await uow.orders.save(locked)
            await uow.commit()
    return locked


async def _reverse_quietly(psp: PaymentGateway, token: str | None) -> bool:
    if token is None:
        return False
    try:
        return await psp.reverse(token)
    except (PspUnavailableError, PspRefusedError) as error:
        log.warning("payments: reversal failed", extra={"error": type(error).__name__})
        return False


# --- the wallet ---


async def ensure_demo_wallet(
    database: Database,
    clock: Clock,
    *,
    citizen_id: str,
    amount_rial: int = DEMO_WALLET_RIAL,
) -> bool:
    """Credit a citizen's demo balance from `demo_funding`, once ever; True if credited now."""
    async with PaymentsUnitOfWork(database) as uow:
        # Read first, without a lock: after the first time this is all that happens.
        if await uow.ledger.has_key(demo_credit_key(citizen_id)):
            return False
    transaction = demo_credit_transaction(
        TransactionId(_new_id()),
        citizen_id=citizen_id,
        amount_rial=Rial(amount_rial),
        at=clock.now(),
    )
    try:
        async with PaymentsUnitOfWork(database) as uow:
            posted = await uow.ledger.post(transaction)
            await uow.commit()
    except IntegrityError:
        return False  # a concurrent first use credited it a moment ago
    return posted


async def wallet_balance(
    database: Database, clock: Clock, *, citizen_id: str, demo_wallet_rial: int = 0
) -> Rial:
    """The wallet's balance, derived from its entries (demo mode credits it first, once)."""
    if demo_wallet_rial:
        await ensure_demo_wallet(
            database, clock, citizen_id=citizen_id, amount_rial=demo_wallet_rial
        )
    async with PaymentsUnitOfWork(database) as uow:
        return await uow.ledger.balance(wallet_account(citizen_id))


async def wallet_statement(
    database: Database,
    clock: Clock,
    *,
    citizen_id: str,
    demo_wallet_rial: int = 0,
    limit: int = STATEMENT_LINES,
) -> WalletStatement:
    """The wallet's balance and its newest lines (demo mode credits it first, once)."""
    if demo_wallet_rial:
        await ensure_demo_wallet(
            database, clock, citizen_id=citizen_id, amount_rial=demo_wallet_rial
        )
    account = wallet_account(citizen_id)
    async with PaymentsUnitOfWork(database) as uow:
        return WalletStatement(
            citizen_id=citizen_id,
            balance_rial=await uow.ledger.balance(account),
            lines=tuple(await uow.ledger.lines(account, limit=limit)),
        )


# --- refunds ---


async def refund(
    database: Database,
    clock: Clock,
    bus: EventBus,
    *,
    reference: str,
    amount_rial: int,
    reason: str,
) -> Refund:
    """Give `amount_rial` paid for `reference` back to the citizen's wallet.

    Never more than what remains of what was paid for the reference. Idempotent by
    (reference, reason): asking again with the same reason answers the first refund.
    """
    key = check_reason(reason)
    ref = check_reference(reference)
    now = clock.now()
    async with PaymentsUnitOfWork(database) as uow:
        # Locking the reference's payments makes two refunds for it take turns.
        paid = await uow.orders.lock_paid_for_reference(ref)
        existing = await uow.refunds.by_key(ref, key)
        if existing is not None:
            return existing
        amount = check_refund(
            amount_rial, paid=paid, refunded_rial=await uow.refunds.refunded_rial(ref)
        )
        purchase = next(o for o in paid if o.purpose is not Purpose.top_up)
        issued = Refund(
            id=RefundId(_new_id()),
            citizen_id=purchase.citizen_id,
            reference=ref,
            amount_rial=amount,
            reason=key,
            issued_at=now,
            transaction_id=TransactionId(_new_id()),
        )
        await uow.ledger.post(
            refund_transaction(
                issued.transaction_id,
                refund_id=issued.id,
                citizen_id=issued.citizen_id,
                reference=ref,
                reason=key,
                amount_rial=amount,
                purpose=purchase.purpose,
                at=now,
            )
        )
        await uow.refunds.add(issued)
        await uow.commit()
    await bus.publish(
        RefundIssued(
            refund_id=issued.id,
            citizen_id=issued.citizen_id,
            reference=ref,
            amount_rial=int(amount),
            issued_at=now,
            event_id=f"RefundIssued:{issued.id}",
        )
    )
    return issued


# --- reconciliation ---


async def reconcile(
    database: Database, clock: Clock, psp: PaymentGateway, bus: EventBus
) -> ReconciliationReport:
    """Close what the PSP left open and check the books; the report says what was found.

    Payments past their window are reversed at the PSP (or expire, if nothing was taken);
    payments whose verification timed out are verified again while there is time; verified
    payments not yet settled are settled. Then: the books must sum to zero, every paid
    payment must have its ledger transaction and every booked payment its paid order, and
    the wallets' kept balances must equal the sums of their entries.
    """
    now = clock.now()
    report = ReconciliationReport(ran_at=now)
    async with PaymentsUnitOfWork(database) as uow:
        orders = await uow.orders.to_reconcile(psp.name)
    for order in orders:
        try:
            await _reconcile_one(database, clock, psp, bus, order, report)
        except (PspUnavailableError, PspRefusedError) as error:
            report.psp_errors.append(f"{order.id}: {type(error).__name__}")
    async with PaymentsUnitOfWork(database) as uow:
        report.books_total_rial = await uow.ledger.books_total()
        report.unbalanced_transactions = await uow.ledger.unbalanced_transactions()
        report.balance_mismatches = await uow.ledger.cached_balance_mismatches()
        report.paid_without_transaction = await uow.orders.paid_without_transaction()
        report.transactions_without_paid_payment = (
            await uow.ledger.transactions_without_paid_payment()
        )
        report.flagged_callbacks = await uow.callbacks.flagged_count(
            since=await uow.runs.latest_ran_at()
        )
        await uow.runs.add(ran_at=now, clean=report.clean, report=report_as_dict(report))
        await uow.commit()
    if not report.clean:
        log.error(
            "payments: reconciliation found problems", extra={"report": report_as_dict(report)}
        )
    return report


async def _reconcile_one(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    order: PaymentOrder,
    report: ReconciliationReport,
) -> None:
    now = clock.now()
    if order.status is PaymentStatus.verified:
        settled = await _settle(database, clock, psp, order)
        if settled.status is PaymentStatus.settled:
            report.settled.append(order.id)
        return
    if order.status is PaymentStatus.callback_received and not order.overdue(now):
        verified = await verify_payment(database, clock, psp, bus, payment_id=order.id)
        if verified.is_paid:
            report.verified.append(order.id)
        return
    if not order.overdue(now):
        return
    money_taken = await psp.reverse(order.token) if order.token else False
    events: list[object] = []
    async with PaymentsUnitOfWork(database) as uow:
        locked = await uow.orders.lock(order.id)
        assert locked is not None  # noqa: S101  # orders are never deleted
        if locked.status is not order.status:
            return  # a callback or a verification moved it meanwhile
        if locked.status in AWAITING_CALLBACK and not money_taken:
            locked.expire(at=now)
            events.append(_failed(locked, now))
            report.expired.append(order.id)
        else:
            reason = "no_callback" if locked.status in AWAITING_CALLBACK else "not_verified_in_time"
            locked.reverse(reason, at=now)
            events.append(_reversed(locked, now))
            report.reversed.append(order.id)
        await uow.orders.save(locked)
        await uow.commit()
    await _publish(bus, events)


def report_as_dict(report: ReconciliationReport) -> dict[str, Any]:
    """The report as JSON-ready values, for the run log and the API."""

    def plain(value: object) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    fields = {f.name: plain(getattr(report, f.name)) for f in dataclasses.fields(report)}
    return {**fields, "books_balanced": report.books_balanced, "clean": report.clean}
