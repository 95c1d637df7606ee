"""What a stay leaves behind besides its hold: the payments parking took, the refunds it
owes, and the citizen's in-app notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime


class ReservationPaymentRow(Base):
    """Each verified payment parking has handled, and what became of it (idempotency)."""

    __tablename__ = "parking_reservation_payment"

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reservation_id: Mapped[str] = mapped_column(String(120), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    amount_rial: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(20))
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RefundRow(Base):
    """A refund parking owes, written with the change that owes it, issued after the commit."""

    __tablename__ = "parking_refund"

    reservation_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    reason: Mapped[str] = mapped_column(String(80), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(64))
    amount_rial: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NotificationRow(Base):
    """An in-app notice for a citizen; `message` is an English msgid rendered when read."""

    __tablename__ = "parking_notification"
    __table_args__ = (Index("ix_parking_notification_citizen_created", "citizen_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(64))
    reservation_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


@dataclass(frozen=True)
class PaymentRecord:
    """A verified payment parking took, and what it did with it."""

    payment_id: str
    reservation_id: str
    purpose: str
    amount_rial: int
    outcome: str
    verified_at: datetime


@dataclass(frozen=True)
class Notification:
    id: int
    citizen_id: str
    reservation_id: str
    kind: str
    message: str
    params: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RefundRecord:
    """A refund owed for a reservation, and whether payments has taken it yet."""

    reason: str
    amount_rial: int
    created_at: datetime
    issued_at: datetime | None


@dataclass(frozen=True)
class DueRefund:
    reservation_id: str
    reason: str
    citizen_id: str
    amount_rial: int


_PAYMENTS = cast(Table, ReservationPaymentRow.__table__)
_RECORD_PAYMENT = insert(_PAYMENTS)  # built once: the booking path runs it every time


class StayRecordRepository:
    """Payments taken, refunds owed and notices, inside one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def payment_handled(self, payment_id: str) -> bool:
        found = await self._session.scalar(
            select(_PAYMENTS.c.payment_id).where(_PAYMENTS.c.payment_id == payment_id)
        )
        return found is not None

    async def handled_payments(self, payment_ids: Sequence[str]) -> set[str]:
        """Which of these payments parking has already taken (one query per 500)."""
        handled: set[str] = set()
        for start in range(0, len(payment_ids), 500):
            chunk = list(payment_ids[start : start + 500])
            rows = await self._session.scalars(
                select(_PAYMENTS.c.payment_id).where(_PAYMENTS.c.payment_id.in_(chunk))
            )
            handled.update(rows)
        return handled

    async def record_payment(self, taken: PaymentRecord, *, now: datetime) -> None:
        await self._session.execute(
            _RECORD_PAYMENT,
            {
                "payment_id": taken.payment_id,
                "reservation_id": taken.reservation_id,
                "purpose": taken.purpose,
                "amount_rial": taken.amount_rial,
                "outcome": taken.outcome,
                "verified_at": taken.verified_at,
                "recorded_at": now,
            },
        )

    async def payments_of(self, reservation_id: str) -> list[PaymentRecord]:
        rows = await self._session.scalars(
            select(ReservationPaymentRow)
            .where(ReservationPaymentRow.reservation_id == reservation_id)
            .order_by(ReservationPaymentRow.verified_at)
        )
        return [
            PaymentRecord(
                r.payment_id, r.reservation_id, r.purpose, r.amount_rial, r.outcome, r.verified_at
            )
            for r in rows
        ]

    async def owe_refund(
        self, *, reservation_id: str, reason: str, citizen_id: str, amount_rial: int, now: datetime
    ) -> None:
        if amount_rial <= 0:
            return
        if await self._session.get(RefundRow, (reservation_id, reason)) is not None:
            return
        self._session.add(
            RefundRow(
                reservation_id=reservation_id,
                reason=reason,
                citizen_id=citizen_id,
                amount_rial=amount_rial,
                created_at=now,
            )
        )
        await self._session.flush()

    async def due_refunds(self, *, reservation_id: str | None = None) -> list[DueRefund]:
        query = select(RefundRow).where(RefundRow.issued_at.is_(None))
        if reservation_id is not None:
            query = query.where(RefundRow.reservation_id == reservation_id)
        return [
            DueRefund(row.reservation_id, row.reason, row.citizen_id, row.amount_rial)
            for row in await self._session.scalars(query.order_by(RefundRow.created_at))
        ]

    async def mark_refund_issued(self, reservation_id: str, reason: str, now: datetime) -> None:
        row = await self._session.get(RefundRow, (reservation_id, reason))
        if row is not None and row.issued_at is None:
            row.issued_at = now
            await self._session.flush()

    async def refunds_of(self, reservation_id: str) -> list[RefundRecord]:
        rows = await self._session.scalars(
            select(RefundRow)
            .where(RefundRow.reservation_id == reservation_id)
            .order_by(RefundRow.created_at)
        )
        return [RefundRecord(r.reason, r.amount_rial, r.created_at, r.issued_at) for r in rows]

    async def notify(
        self,
        *,
        citizen_id: str,
        reservation_id: str,
        kind: str,
        message: str,
        params: dict[str, Any],
        now: datetime,
    ) -> None:
        self._session.add(
            NotificationRow(
                citizen_id=citizen_id,
                reservation_id=reservation_id,
                kind=kind,
                message=message,
                params=params,
                created_at=now,
            )
        )
        await self._session.flush()

    async def notifications_of(self, citizen_id: str, *, limit: int) -> list[Notification]:
        rows = await self._session.scalars(
            select(NotificationRow)
            .where(NotificationRow.citizen_id == citizen_id)
            .order_by(NotificationRow.created_at.desc(), NotificationRow.id.desc())
            .limit(limit)
        )
        return [
            Notification(
                row.id,
                row.citizen_id,
                row.reservation_id,
                row.kind,
                row.message,
                dict(row.params),
                row.created_at,
            )
            for row in rows
        ]
