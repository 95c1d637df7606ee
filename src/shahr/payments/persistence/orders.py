"""Repositories of payment orders, refunds, callbacks and reconciliation runs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, exists, func, insert, select, update

from shahr.payments.domain import (
    PAID_STATUSES,
    CallbackOutcome,
    Method,
    PaidFor,
    PaymentId,
    PaymentOrder,
    PaymentStatus,
    Refund,
)
from shahr.payments.persistence.tables import (
    CallbackRow,
    OrderRow,
    ReconciliationRunRow,
    RefundRow,
    Repository,
    TransactionRow,
    _order_values,
    order_of,
    refund_of,
)

# Every payment writes one: built once, values as parameters (see `LedgerRepository`).
_ADD_ORDER = insert(cast(Table, OrderRow.__table__))


class OrderRepository(Repository):
    """Payment orders inside one unit of work."""

    async def add(self, order: PaymentOrder) -> None:
        await self.session.execute(_ADD_ORDER, {"id": order.id, **_order_values(order)})

    async def save(self, order: PaymentOrder) -> None:
        await self.session.execute(
            update(OrderRow)
            .where(OrderRow.id == order.id)
            .values(**_order_values(order))
            .execution_options(synchronize_session=False)
        )

    async def get(self, payment_id: str) -> PaymentOrder | None:
        row = await self.session.scalar(select(OrderRow).where(OrderRow.id == payment_id))
        return None if row is None else order_of(row)

    async def _locked(self, condition: ColumnElement[bool]) -> list[OrderRow]:
        if self.is_sqlite:
            # SQLite: take the write lock now (see the module's docstring).
            await self.session.execute(
                update(OrderRow)
                .where(condition)
                .values(id=OrderRow.id)
                .execution_options(synchronize_session=False)
            )
        rows = await self.session.scalars(
            select(OrderRow)
            .where(condition)
            .order_by(OrderRow.created_at, OrderRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def paid_for_by_reference(self, references: Collection[str | None]) -> dict[str, PaidFor]:
        """What the orders for these references say they bought, by reference."""
        wanted = [r for r in references if r]
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(OrderRow.reference, OrderRow.paid_for)
            .where(OrderRow.reference.in_(wanted), OrderRow.paid_for.is_not(None))
            .order_by(OrderRow.created_at)
        )
        named: dict[str, PaidFor] = {}
        for reference, data in rows:
            paid_for = PaidFor.from_data(data)
            if paid_for is not None:
                named.setdefault(reference, paid_for)
        return named

    async def lock(self, payment_id: str) -> PaymentOrder | None:
        """The order, locked until the commit: two callbacks or verifications take turns."""
        rows = await self._locked(OrderRow.id == payment_id)
        return order_of(rows[0]) if rows else None

    async def lock_by_token(self, psp: str, token: str) -> PaymentOrder | None:
        rows = await self._locked(and_(OrderRow.psp == psp, OrderRow.token == token))
        return order_of(rows[0]) if rows else None

    async def lock_paid_for_reference(self, reference: str) -> list[PaymentOrder]:
        """The reference's paid orders, locked, so two refunds for it take turns."""
        rows = await self._locked(OrderRow.reference == reference)
        return [order_of(row) for row in rows if PaymentStatus(row.status) in PAID_STATUSES]

    async def to_reconcile(self, psp: str) -> list[PaymentOrder]:
        """Card payments that are still open or verified but not yet settled."""
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.psp == psp,
                OrderRow.method == Method.psp.value,
                OrderRow.status.in_(
                    [
                        PaymentStatus.created.value,
                        PaymentStatus.redirected.value,
                        PaymentStatus.callback_received.value,
                        PaymentStatus.verified.value,
                    ]
                ),
            )
            .order_by(OrderRow.created_at, OrderRow.id)
        )
        return [order_of(row) for row in rows]

    async def paid_without_transaction(self) -> list[PaymentId]:
        booked = exists().where(TransactionRow.payment_id == OrderRow.id)
        rows = await self.session.scalars(
            select(OrderRow.id)
            .where(OrderRow.status.in_([s.value for s in PAID_STATUSES]), ~booked)
            .order_by(OrderRow.id)
        )
        return [PaymentId(payment_id) for payment_id in rows]


class RefundRepository(Repository):
    async def by_key(self, reference: str, reason: str) -> Refund | None:
        row = await self.session.scalar(
            select(RefundRow).where(RefundRow.reference == reference, RefundRow.reason == reason)
        )
        return None if row is None else refund_of(row)

    async def refunded_rial(self, reference: str) -> int:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(RefundRow.amount_rial), 0)).where(
                RefundRow.reference == reference
            )
        )
        return int(total or 0)

    async def add(self, refund: Refund) -> None:
        await self.session.execute(
            insert(RefundRow).values(
                id=refund.id,
                citizen_id=refund.citizen_id,
                reference=refund.reference,
                amount_rial=int(refund.amount_rial),
                reason=refund.reason,
                transaction_id=refund.transaction_id,
                issued_at=refund.issued_at,
            )
        )

    async def of_citizen(self, citizen_id: str) -> list[Refund]:
        rows = await self.session.scalars(
            select(RefundRow)
            .where(RefundRow.citizen_id == citizen_id)
            .order_by(RefundRow.issued_at.desc())
        )
        return [refund_of(row) for row in rows]


class CallbackRepository(Repository):
    async def add(
        self,
        *,
        psp: str,
        token: str | None,
        payment_id: str | None,
        outcome: CallbackOutcome,
        flagged: bool,
        payload: dict[str, str],
        received_at: datetime,
    ) -> int:
        result = await self.session.execute(
            insert(CallbackRow)
            .values(
                psp=psp,
                token=token,
                payment_id=payment_id,
                outcome=outcome.value,
                flagged=flagged,
                payload=payload,
                received_at=received_at,
            )
            .returning(CallbackRow.id)
        )
        return int(result.scalar_one())

    async def outcomes_for(self, payment_id: str) -> list[CallbackOutcome]:
        rows = await self.session.scalars(
            select(CallbackRow.outcome)
            .where(CallbackRow.payment_id == payment_id)
            .order_by(CallbackRow.id)
        )
        return [CallbackOutcome(outcome) for outcome in rows]

    async def flagged_count(self, *, since: datetime | None = None) -> int:
        condition: ColumnElement[bool] = CallbackRow.flagged.is_(True)
        if since is not None:
            condition = and_(condition, CallbackRow.received_at >= since)
        total = await self.session.scalar(select(func.count()).where(condition))
        return int(total or 0)


class ReconciliationRunRepository(Repository):
    async def add(self, *, ran_at: datetime, clean: bool, report: dict[str, Any]) -> None:
        await self.session.execute(
            insert(ReconciliationRunRow).values(ran_at=ran_at, clean=clean, report=report)
        )

    async def latest(self) -> dict[str, Any] | None:
        row = await self.session.scalar(
            select(ReconciliationRunRow)
            .order_by(ReconciliationRunRow.ran_at.desc(), ReconciliationRunRow.id.desc())
            .limit(1)
        )
        return None if row is None else row.report

    async def latest_ran_at(self) -> datetime | None:
        ran_at: datetime | None = await self.session.scalar(
            select(ReconciliationRunRow.ran_at)
            .order_by(ReconciliationRunRow.ran_at.desc(), ReconciliationRunRow.id.desc())
            .limit(1)
        )
        return ran_at
