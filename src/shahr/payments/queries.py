"""Payments' read side: what its pages show and what other areas may ask."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select

from shahr.kernel.db import Database
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    PAID_STATUSES,
    CallbackOutcome,
    PaymentOrder,
    Receipt,
    payment_not_found,
    receipt_of,
)
from shahr.payments.persistence import OrderRow, PaymentsUnitOfWork, order_of


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
