"""Payments' tables, the repositories that map them to domain objects, and the unit of work.

Locking, once for both databases: a step that reads something and then writes based on it
(a wallet's balance, an order's state, what was paid for a reference) first locks what it
read. PostgreSQL locks the rows (`SELECT ... FOR UPDATE`); SQLite has no row locks, so a
write that changes nothing takes its single write lock first, and every read after it in
the same transaction sees the latest committed data.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from shahr.kernel.db import Database
from shahr.payments.persistence.ledger import LedgerRepository
from shahr.payments.persistence.orders import (
    CallbackRepository,
    OrderRepository,
    ReconciliationRunRepository,
    RefundRepository,
)
from shahr.payments.persistence.tables import (
    AccountRow,
    BigId,
    CallbackRow,
    EntryRow,
    OrderRow,
    ReconciliationRunRow,
    RefundRow,
    Repository,
    SandboxSwitchRow,
    SandboxTransactionRow,
    TransactionRow,
    UtcDateTime,
    order_of,
    refund_of,
)


class PaymentsUnitOfWork:
    """One transaction: commit makes every change at once; leaving without it changes nothing."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def __aenter__(self) -> Self:
        self.session = self._database.sessions()
        is_sqlite = self._database.is_sqlite
        self.orders = OrderRepository(self.session, is_sqlite=is_sqlite)
        self.ledger = LedgerRepository(self.session, is_sqlite=is_sqlite)
        self.refunds = RefundRepository(self.session, is_sqlite=is_sqlite)
        self.callbacks = CallbackRepository(self.session, is_sqlite=is_sqlite)
        self.runs = ReconciliationRunRepository(self.session, is_sqlite=is_sqlite)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.session.rollback()
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


__all__ = [
    "AccountRow",
    "BigId",
    "CallbackRepository",
    "CallbackRow",
    "EntryRow",
    "LedgerRepository",
    "OrderRepository",
    "OrderRow",
    "PaymentsUnitOfWork",
    "ReconciliationRunRepository",
    "ReconciliationRunRow",
    "RefundRepository",
    "RefundRow",
    "Repository",
    "SandboxSwitchRow",
    "SandboxTransactionRow",
    "TransactionRow",
    "UtcDateTime",
    "order_of",
    "refund_of",
]
