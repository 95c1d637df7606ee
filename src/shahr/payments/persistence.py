"""Payments' tables, the repositories that map them to domain objects, and the unit of work.

Locking, once for both databases: a step that reads something and then writes based on it
(a wallet's balance, an order's state, what was paid for a reference) first locks what it
read. PostgreSQL locks the rows (`SELECT ... FOR UPDATE`); SQLite has no row locks, so a
write that changes nothing takes its single write lock first, and every read after it in
the same transaction sees the latest committed data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from shahr.kernel.db import Base, Database
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    PAID_STATUSES,
    AccountId,
    CallbackOutcome,
    JournalTransaction,
    LedgerImbalanceError,
    LedgerLine,
    Method,
    PaymentId,
    PaymentOrder,
    PaymentStatus,
    Purpose,
    Refund,
    RefundId,
    TransactionId,
    TransactionKind,
    account_kind,
    check_postable,
    insufficient_balance,
    may_go_negative,
)

# Entries and callbacks grow without bound; SQLite only auto-increments an INTEGER key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out: SQLite keeps no zone and would hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class AccountRow(Base):
    """A ledger account. `balance_rial` is kept only for wallets, which must never go
    negative; other balances are derived by summing entries, so the busy city accounts are
    never a row every payment waits on."""

    __tablename__ = "payments_account"
    __table_args__ = (
        CheckConstraint(
            "kind <> 'citizen_wallet' OR balance_rial >= 0", name="wallet_not_negative"
        ),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    balance_rial: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TransactionRow(Base):
    """A journal transaction; `idempotency_key` names the fact so it is booked once."""

    __tablename__ = "payments_transaction"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payment_id: Mapped[str | None] = mapped_column(String(36), index=True)
    refund_id: Mapped[str | None] = mapped_column(String(36))
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    memo: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EntryRow(Base):
    __tablename__ = "payments_entry"
    __table_args__ = (
        CheckConstraint("amount_rial <> 0", name="amount_not_zero"),
        Index("ix_payments_entry_account_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("payments_transaction.id"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(80), ForeignKey("payments_account.id"))
    amount_rial: Mapped[int] = mapped_column(BigInteger)


class OrderRow(Base):
    __tablename__ = "payments_order"
    __table_args__ = (CheckConstraint("amount_rial > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(120), index=True)
    amount_rial: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(8))
    psp: Mapped[str | None] = mapped_column(String(32))
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    return_url: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    redirected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    callback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verify_by: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    trace_no: Mapped[str | None] = mapped_column(String(40))
    rrn: Mapped[str | None] = mapped_column(String(40))
    card_mask: Mapped[str | None] = mapped_column(String(32))


class CallbackRow(Base):
    """Every callback received, kept as evidence; refused ones are flagged for operators."""

    __tablename__ = "payments_callback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    psp: Mapped[str] = mapped_column(String(32))
    token: Mapped[str | None] = mapped_column(String(64), index=True)
    payment_id: Mapped[str | None] = mapped_column(String(36), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    flagged: Mapped[bool] = mapped_column(Boolean, index=True)
    payload: Mapped[dict[str, str]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RefundRow(Base):
    __tablename__ = "payments_refund"
    __table_args__ = (UniqueConstraint("reference", "reason"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(36), index=True)
    reference: Mapped[str] = mapped_column(String(120), index=True)
    amount_rial: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(80))
    transaction_id: Mapped[str] = mapped_column(String(36))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReconciliationRunRow(Base):
    __tablename__ = "payments_reconciliation_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    clean: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


class SandboxTransactionRow(Base):
    """The sandbox PSP's own record of a payment, as a bank would keep it."""

    __tablename__ = "payments_sandbox_transaction"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    psp: Mapped[str] = mapped_column(String(32))
    payment_id: Mapped[str] = mapped_column(String(36), index=True)
    amount_rial: Mapped[int] = mapped_column(BigInteger)
    merchant_name: Mapped[str] = mapped_column(String(100))
    callback_url: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    scenario: Mapped[str] = mapped_column(String(24))
    card_mask: Mapped[str | None] = mapped_column(String(32))
    trace_no: Mapped[str | None] = mapped_column(String(40))
    rrn: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SandboxSwitchRow(Base):
    """A switch of the sandbox PSP that holds for every payment (so far: `down`)."""

    __tablename__ = "payments_sandbox_switch"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


def order_of(row: OrderRow) -> PaymentOrder:
    return PaymentOrder(
        id=PaymentId(row.id),
        citizen_id=row.citizen_id,
        purpose=Purpose(row.purpose),
        reference=row.reference,
        amount_rial=Rial(row.amount_rial),
        method=Method(row.method),
        return_url=row.return_url,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=PaymentStatus(row.status),
        psp=row.psp,
        token=row.token,
        redirected_at=row.redirected_at,
        callback_at=row.callback_at,
        verify_by=row.verify_by,
        verified_at=row.verified_at,
        settled_at=row.settled_at,
        closed_at=row.closed_at,
        failure_reason=row.failure_reason,
        trace_no=row.trace_no,
        rrn=row.rrn,
        card_mask=row.card_mask,
    )


def _order_values(order: PaymentOrder) -> dict[str, Any]:
    return {
        "citizen_id": order.citizen_id,
        "purpose": order.purpose.value,
        "reference": order.reference,
        "amount_rial": int(order.amount_rial),
        "method": order.method.value,
        "psp": order.psp,
        "token": order.token,
        "status": order.status.value,
        "return_url": order.return_url,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
        "redirected_at": order.redirected_at,
        "callback_at": order.callback_at,
        "verify_by": order.verify_by,
        "verified_at": order.verified_at,
        "settled_at": order.settled_at,
        "closed_at": order.closed_at,
        "failure_reason": order.failure_reason,
        "trace_no": order.trace_no,
        "rrn": order.rrn,
        "card_mask": order.card_mask,
    }


def refund_of(row: RefundRow) -> Refund:
    return Refund(
        id=RefundId(row.id),
        citizen_id=row.citizen_id,
        reference=row.reference,
        amount_rial=Rial(row.amount_rial),
        reason=row.reason,
        issued_at=row.issued_at,
        transaction_id=TransactionId(row.transaction_id),
    )


class _Repository:
    def __init__(self, session: AsyncSession, *, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite


class OrderRepository(_Repository):
    """Payment orders inside one unit of work."""

    async def add(self, order: PaymentOrder) -> None:
        await self.session.execute(insert(OrderRow).values(id=order.id, **_order_values(order)))

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


class LedgerRepository(_Repository):
    """Accounts, transactions and entries inside one unit of work."""

    async def post(self, transaction: JournalTransaction) -> bool:
        """Book the transaction; False if its fact (idempotency key) was already booked.

        Refuses, changing nothing, a transaction that would take a wallet below zero.
        """
        deltas = transaction.deltas()
        account_ids = sorted(deltas)
        await self._ensure_accounts(account_ids, transaction.created_at)
        guarded = [a for a in account_ids if not may_go_negative(a)]
        balances = await self._locked_balances(guarded)
        # Checked after the lock: a concurrent booking of the same fact has committed by now.
        if await self.has_key(transaction.idempotency_key):
            return False
        check_postable(transaction, balances)
        try:
            for account_id in guarded:
                await self.session.execute(
                    update(AccountRow)
                    .where(AccountRow.id == account_id)
                    .values(balance_rial=AccountRow.balance_rial + deltas[account_id])
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError as error:  # the CHECK constraint: the last line of defence
            raise insufficient_balance() from error
        await self.session.execute(
            insert(TransactionRow).values(
                id=transaction.id,
                kind=transaction.kind.value,
                idempotency_key=transaction.idempotency_key,
                payment_id=transaction.payment_id,
                refund_id=transaction.refund_id,
                reference=transaction.reference,
                memo=transaction.memo,
                created_at=transaction.created_at,
            )
        )
        await self.session.execute(
            insert(EntryRow),
            [
                {
                    "transaction_id": transaction.id,
                    "account_id": entry.account_id,
                    "amount_rial": int(entry.amount_rial),
                }
                for entry in transaction.entries
            ],
        )
        await self._check_stored_balanced(transaction.id)
        return True

    async def _ensure_accounts(self, account_ids: list[AccountId], at: datetime) -> None:
        insert_for = sqlite_insert if self.is_sqlite else postgresql_insert
        rows = [
            {
                "id": account_id,
                "kind": account_kind(account_id).value,
                "balance_rial": None if may_go_negative(account_id) else 0,
                "created_at": at,
            }
            for account_id in account_ids
        ]
        await self.session.execute(
            insert_for(AccountRow).values(rows).on_conflict_do_nothing(index_elements=["id"])
        )

    async def _locked_balances(self, account_ids: list[AccountId]) -> dict[AccountId, int]:
        if not account_ids:
            return {}
        result = await self.session.execute(
            select(AccountRow.id, AccountRow.balance_rial)
            .where(AccountRow.id.in_(account_ids))
            .order_by(AccountRow.id)
            .with_for_update()
        )
        return {AccountId(account_id): balance or 0 for account_id, balance in result.all()}

    async def _check_stored_balanced(self, transaction_id: str) -> None:
        """Read back what was written: the stored entries, not the object, must balance."""
        total, count = (
            await self.session.execute(
                select(func.coalesce(func.sum(EntryRow.amount_rial), 0), func.count()).where(
                    EntryRow.transaction_id == transaction_id
                )
            )
        ).one()
        if total != 0 or count < 2:
            raise LedgerImbalanceError("A ledger transaction's entries must sum to zero.")

    async def has_key(self, idempotency_key: str) -> bool:
        found = await self.session.scalar(
            select(TransactionRow.id).where(TransactionRow.idempotency_key == idempotency_key)
        )
        return found is not None

    async def balance(self, account_id: str) -> Rial:
        """The balance derived from the entries."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(EntryRow.amount_rial), 0)).where(
                EntryRow.account_id == account_id
            )
        )
        return Rial(int(total or 0))

    async def cached_balance(self, account_id: str) -> Rial | None:
        cached = await self.session.scalar(
            select(AccountRow.balance_rial).where(AccountRow.id == account_id)
        )
        return None if cached is None else Rial(cached)

    async def lines(self, account_id: str, *, limit: int) -> list[LedgerLine]:
        result = await self.session.execute(
            select(
                TransactionRow.id,
                TransactionRow.kind,
                EntryRow.amount_rial,
                TransactionRow.memo,
                TransactionRow.reference,
                TransactionRow.payment_id,
                TransactionRow.created_at,
            )
            .join(TransactionRow, TransactionRow.id == EntryRow.transaction_id)
            .where(EntryRow.account_id == account_id)
            .order_by(EntryRow.id.desc())
            .limit(limit)
        )
        return [
            LedgerLine(
                transaction_id=TransactionId(transaction_id),
                kind=TransactionKind(kind),
                amount_rial=Rial(amount),
                memo=memo,
                reference=reference,
                payment_id=None if payment_id is None else PaymentId(payment_id),
                created_at=created_at,
            )
            for transaction_id, kind, amount, memo, reference, payment_id, created_at in result
        ]

    async def books_total(self) -> int:
        total = await self.session.scalar(select(func.coalesce(func.sum(EntryRow.amount_rial), 0)))
        return int(total or 0)

    async def derived_balances(self) -> dict[AccountId, int]:
        result = await self.session.execute(
            select(EntryRow.account_id, func.sum(EntryRow.amount_rial)).group_by(
                EntryRow.account_id
            )
        )
        return {AccountId(account_id): int(total) for account_id, total in result.all()}

    async def unbalanced_transactions(self) -> list[TransactionId]:
        sums = (
            select(EntryRow.transaction_id)
            .group_by(EntryRow.transaction_id)
            .having(or_(func.sum(EntryRow.amount_rial) != 0, func.count() < 2))
        )
        empty = select(TransactionRow.id).where(
            ~exists().where(EntryRow.transaction_id == TransactionRow.id)
        )
        found = list(await self.session.scalars(sums)) + list(await self.session.scalars(empty))
        return sorted(TransactionId(t) for t in found)

    async def cached_balance_mismatches(self) -> list[AccountId]:
        derived = (
            select(func.coalesce(func.sum(EntryRow.amount_rial), 0))
            .where(EntryRow.account_id == AccountRow.id)
            .scalar_subquery()
        )
        rows = await self.session.scalars(
            select(AccountRow.id)
            .where(AccountRow.balance_rial.is_not(None), AccountRow.balance_rial != derived)
            .order_by(AccountRow.id)
        )
        return [AccountId(account_id) for account_id in rows]

    async def transactions_without_paid_payment(self) -> list[TransactionId]:
        paid = exists().where(
            OrderRow.id == TransactionRow.payment_id,
            OrderRow.status.in_([s.value for s in PAID_STATUSES]),
        )
        rows = await self.session.scalars(
            select(TransactionRow.id)
            .where(
                TransactionRow.kind.in_(
                    [TransactionKind.payment.value, TransactionKind.top_up.value]
                ),
                ~paid,
            )
            .order_by(TransactionRow.id)
        )
        return [TransactionId(t) for t in rows]


class RefundRepository(_Repository):
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


class CallbackRepository(_Repository):
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


class ReconciliationRunRepository(_Repository):
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
