"""The PSP's callback, verification and settlement: where a card payment is decided."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.payments.domain import (
    FLAGGED_OUTCOMES,
    CallbackOutcome,
    ForgedCallbackError,
    PaymentOrder,
    PaymentStateError,
    PaymentStatus,
    PspRefusedError,
    PspUnavailableError,
    TransactionId,
    UnknownCallbackError,
    amount_mismatch,
    payment_expired,
    payment_not_found,
)
from shahr.payments.events import CallbackFlagged, PaymentFailed, PaymentVerified
from shahr.payments.gateways import CallbackStatus, PaymentGateway, PspCallback
from shahr.payments.persistence import PaymentsUnitOfWork

log = logging.getLogger(__name__)

# Why a payment was given up on before any callback: a callback after this is late.
LATE = ("expired", "no_callback")
# Evidence kept of a callback: bounded, whatever a caller sends.
MAX_EVIDENCE_FIELDS = 20
MAX_EVIDENCE_CHARS = 200


@dataclass(frozen=True)
class CallbackResult:
    payment: PaymentOrder
    outcome: CallbackOutcome


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
        await bus.publish(
            CallbackFlagged.of(
                callback_id, psp=psp.name, payment_id=None, outcome=CallbackOutcome.forged, at=now
            )
        )
        raise
    outcome, order, events = await _record_callback(database, now, psp.name, callback, evidence)
    for event in events:
        await bus.publish(event)
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


async def _record_callback(
    database: Database, now: datetime, psp: str, callback: PspCallback, evidence: dict[str, str]
) -> tuple[CallbackOutcome, PaymentOrder | None, list[object]]:
    """Record the callback and move the order, in one transaction with the order locked."""
    events: list[object] = []
    async with PaymentsUnitOfWork(database) as uow:
        order = await uow.orders.lock_by_token(psp, callback.token)
        changed = True
        if order is None or order.id != callback.payment_id:
            outcome, order, changed = CallbackOutcome.unknown_payment, None, False
        elif callback.amount_rial is not None and callback.amount_rial != order.amount_rial:
            outcome = CallbackOutcome.amount_mismatch
            if order.status is PaymentStatus.redirected:
                order.fail("amount_mismatch", at=now)
                events.append(PaymentFailed.of(order, at=now))
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
                if callback.status is CallbackStatus.cancelled:
                    order.cancel(at=now)
                else:
                    order.fail(callback.status.value, at=now)
                events.append(PaymentFailed.of(order, at=now))
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
        events.insert(
            0,
            CallbackFlagged.of(
                callback_id, psp=psp, payment_id=payment_id, outcome=outcome, at=now
            ),
        )
    return outcome, order, events


async def verify_payment(
    database: Database, clock: Clock, psp: PaymentGateway, bus: EventBus, *, payment_id: str
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
                await uow.ledger.post(
                    order.payment_transaction(TransactionId(str(uuid.uuid4())), at=now)
                )
                events.append(PaymentVerified.of(order))
            else:
                reason = "amount_mismatch" if result.ok else result.code
                order.fail(reason, at=now)
                events.append(PaymentFailed.of(order, at=now))
                # Whatever the PSP took for a payment we refuse goes back to the card.
                give_back = True
            await uow.orders.save(order)
            await uow.commit()
    for event in events:
        await bus.publish(event)
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
