"""Payments' read side: what its pages show and what other areas may ask."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from shahr.kernel.db import Database
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    CLOSED_STATUSES,
    PAID_STATUSES,
    STANDING_EXPLANATIONS,
    STANDING_LABELS,
    CallbackOutcome,
    PaymentOrder,
    PaymentStatus,
    Receipt,
    Standing,
    decided_by,
    payment_not_found,
    receipt_of,
    standing_of,
)
from shahr.payments.persistence import (
    OrderRow,
    PaymentsUnitOfWork,
    RefundRow,
    TransactionRow,
    order_of,
)


async def payment(database: Database, *, payment_id: str, citizen_id: str) -> PaymentOrder:
    """The citizen's own payment; another citizen's is as good as missing."""
    async with PaymentsUnitOfWork(database) as uow:
        order = await uow.orders.get(payment_id)
    if order is None or order.citizen_id != citizen_id:
        raise payment_not_found()
    return order


async def receipt(database: Database, *, payment_id: str, citizen_id: str) -> Receipt:
    return receipt_of(await payment(database, payment_id=payment_id, citizen_id=citizen_id))


async def paid_for_reference(database: Database, *, reference: str) -> Rial:
    """What was paid (verified) for a reference, refunds not deducted: for parking's checks."""
    async with database.session() as session:
        rows = await session.scalars(
            select(OrderRow.amount_rial).where(
                OrderRow.reference == reference,
                OrderRow.status.in_([s.value for s in PAID_STATUSES]),
            )
        )
        return Rial(sum(rows))


async def verified_payments(
    database: Database,
    *,
    purposes: Collection[str],
    verified_from: datetime,
    verified_to: datetime,
    limit: int = 10_000,
) -> list[PaymentOrder]:
    """Paid payments for these purposes verified in [from, to), oldest first.

    For an area that must not miss a `PaymentVerified`: a process can stop after a payment
    is committed and before its event is published, or with the event still unhandled.
    """
    async with database.session() as session:
        rows = await session.scalars(
            select(OrderRow)
            .where(
                OrderRow.status.in_([s.value for s in PAID_STATUSES]),
                OrderRow.purpose.in_(list(purposes)),
                OrderRow.verified_at >= verified_from,
                OrderRow.verified_at < verified_to,
            )
            .order_by(OrderRow.verified_at, OrderRow.id)
            .limit(limit)
        )
        return [order_of(row) for row in rows]


async def payments_for_reference(database: Database, *, reference: str) -> list[PaymentOrder]:
    """Every payment made for a reference, oldest first, whatever became of it."""
    async with database.session() as session:
        rows = await session.scalars(
            select(OrderRow)
            .where(OrderRow.reference == reference)
            .order_by(OrderRow.created_at, OrderRow.id)
        )
        return [order_of(row) for row in rows]


async def callback_outcomes(database: Database, *, payment_id: str) -> list[CallbackOutcome]:
    """What became of each callback received for a payment, in the order they came."""
    async with PaymentsUnitOfWork(database) as uow:
        return await uow.callbacks.outcomes_for(payment_id)


async def flagged_callbacks(database: Database) -> int:
    async with PaymentsUnitOfWork(database) as uow:
        return await uow.callbacks.flagged_count()


async def books_total(database: Database) -> int:
    """The sum of every entry in the ledger: zero when the books are sound."""
    async with PaymentsUnitOfWork(database) as uow:
        return await uow.ledger.books_total()


async def latest_reconciliation(database: Database) -> dict[str, Any] | None:
    async with PaymentsUnitOfWork(database) as uow:
        return await uow.runs.latest()


# --- where payments stand: the citizen's page and the staff's reconciliation view ---


@dataclass(frozen=True)
class PaymentStanding:
    """A payment, where it stands (with its one wording), and whether the ledger booked it."""

    order: PaymentOrder
    standing: Standing
    label: str
    explanation: str
    decided_by: datetime | None
    booked: bool
    refunded_rial: int


# Which order statuses each filter of the staff view looks among.
_STATUSES_OF: dict[Standing, frozenset[PaymentStatus]] = {
    Standing.in_doubt: frozenset(PaymentStatus) - PAID_STATUSES - CLOSED_STATUSES,
    Standing.confirmed: PAID_STATUSES,
    Standing.refunded: PAID_STATUSES,
    Standing.failed: CLOSED_STATUSES - {PaymentStatus.reversed},
    Standing.returned: frozenset({PaymentStatus.reversed}),
}


async def _standings(database: Database, orders: Sequence[PaymentOrder]) -> list[PaymentStanding]:
    ids = [o.id for o in orders]
    references = sorted({o.reference for o in orders})
    async with database.session() as session:
        booked = set(
            await session.scalars(
                select(TransactionRow.payment_id).where(TransactionRow.payment_id.in_(ids))
            )
        )
        sums = await session.execute(
            select(RefundRow.reference, func.sum(RefundRow.amount_rial))
            .where(RefundRow.reference.in_(references))
            .group_by(RefundRow.reference)
        )
        refunded: dict[str, int] = dict(list(sums))
    found = []
    for order in orders:
        back = int(refunded.get(order.reference) or 0) if order.is_paid else 0
        standing = standing_of(order, refunded_rial=back)
        found.append(
            PaymentStanding(
                order=order,
                standing=standing,
                label=STANDING_LABELS[standing],
                explanation=STANDING_EXPLANATIONS[standing],
                decided_by=decided_by(order),
                booked=order.id in booked,
                refunded_rial=back,
            )
        )
    return found


async def standings_for_reference(database: Database, *, reference: str) -> list[PaymentStanding]:
    """Every payment for a reference, oldest first, and where each stands."""
    return await _standings(database, await payments_for_reference(database, reference=reference))


async def standings(
    database: Database, *, standing: Standing | None = None, limit: int = 100
) -> list[PaymentStanding]:
    """The latest payments, newest first, filtered by where they stand."""
    query = select(OrderRow).order_by(OrderRow.created_at.desc(), OrderRow.id).limit(limit * 2)
    if standing is not None:
        query = query.where(OrderRow.status.in_([s.value for s in _STATUSES_OF[standing]]))
    async with database.session() as session:
        orders = [order_of(row) for row in await session.scalars(query)]
    found = await _standings(database, orders)
    return [s for s in found if standing is None or s.standing is standing][:limit]
