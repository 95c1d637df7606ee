"""Refunds to the wallet, never more than was paid for a reference."""

from __future__ import annotations

import uuid

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.message_ids import message_id
from shahr.payments.domain import (
    Purpose,
    Refund,
    RefundId,
    TransactionId,
    check_reason,
    check_reference,
    check_refund,
    refund_transaction,
)
from shahr.payments.events import RefundIssued
from shahr.payments.persistence import PaymentsUnitOfWork


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
            id=RefundId(str(uuid.uuid4())),
            citizen_id=purchase.citizen_id,
            reference=ref,
            amount_rial=amount,
            reason=key,
            issued_at=now,
            transaction_id=TransactionId(str(uuid.uuid4())),
        )
        await _book(uow, issued, purpose=purchase.purpose)
        await uow.commit()
    await bus.publish(
        RefundIssued(
            refund_id=issued.id,
            citizen_id=issued.citizen_id,
            reference=ref,
            amount_rial=int(amount),
            issued_at=now,
            event_id=message_id("RefundIssued", issued.id),
        )
    )
    return issued


async def _book(uow: PaymentsUnitOfWork, issued: Refund, *, purpose: Purpose) -> None:
    """The refund's journal transaction (purchase revenue back to the wallet) and its record."""
    await uow.ledger.post(
        refund_transaction(
            issued.transaction_id,
            refund_id=issued.id,
            citizen_id=issued.citizen_id,
            reference=issued.reference,
            reason=issued.reason,
            amount_rial=issued.amount_rial,
            purpose=purpose,
            at=issued.issued_at,
        )
    )
    await uow.refunds.add(issued)
