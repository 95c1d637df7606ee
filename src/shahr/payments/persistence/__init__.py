"""Payments' tables, the repositories that map them to domain objects, and the unit of work.

Locking, once for both databases: a step that reads something and then writes based on it
(a wallet's balance, an order's state, what was paid for a reference) first locks what it
read. PostgreSQL locks the rows (`SELECT ... FOR UPDATE`); SQLite has no row locks, so a
write that changes nothing takes its single write lock first, and every read after it in
the same transaction sees the latest committed data.
"""

from __future__ import annotations

from typing import Self

from shahr.kernel.db import UnitOfWork, UtcDateTime
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
    order_of,
    refund_of,
)


class PaymentsUnitOfWork(UnitOfWork):
    """The ledger, orders, refunds and callbacks in one transaction."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._open_repositories()
        return self

    @classmethod
    def joining(cls, outer: UnitOfWork) -> PaymentsUnitOfWork:
        """Payments' repositories on another area's open transaction: the caller commits."""
        joined = cls(outer.database)
        joined.session = outer.session
        joined._open_repositories()
        return joined

    def _open_repositories(self) -> None:
        is_sqlite = self.database.is_sqlite
        self.orders = OrderRepository(self.session, is_sqlite=is_sqlite)
        self.ledger = LedgerRepository(self.session, is_sqlite=is_sqlite)
        self.refunds = RefundRepository(self.session, is_sqlite=is_sqlite)
        self.callbacks = CallbackRepository(self.session, is_sqlite=is_sqlite)
        self.runs = ReconciliationRunRepository(self.session, is_sqlite=is_sqlite)


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
