"""Payments' tables, and how their rows map to domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    Method,
    PaidFor,
    PaymentId,
    PaymentOrder,
    PaymentStatus,
    Purpose,
    Refund,
    RefundId,
    TransactionId,
)

# Entries and callbacks grow without bound; SQLite only auto-increments an INTEGER key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


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
    # Indexed: parking's upkeep reads the payments verified in a recent window.
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    trace_no: Mapped[str | None] = mapped_column(String(40))
    rrn: Mapped[str | None] = mapped_column(String(40))
    card_mask: Mapped[str | None] = mapped_column(String(32))
    # What the payer says it bought (`PaidFor.as_data`): a street in both languages, a bay.
    paid_for: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


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
        paid_for=PaidFor.from_data(row.paid_for),
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
        "paid_for": None if order.paid_for is None else order.paid_for.as_data(),
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


class Repository:
    """Base of this area's repositories: one session, and whether it is SQLite."""

    def __init__(self, session: AsyncSession, *, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
