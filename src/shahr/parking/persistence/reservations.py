"""Reservations' tables, their repository, and the unit of work that books without overlap.

No bay is held twice for overlapping times (docs/decisions/0011): on PostgreSQL an
exclusion constraint refuses the second row; on SQLite, which has none, every write that
sets a holding range starts with `BEGIN IMMEDIATE` (`ReservationUnitOfWork(write=True)`),
which takes SQLite's single write lock before anything is read, so the check for an
overlap and the insert that follows it cannot interleave with another writer's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from shahr.kernel.db import Base, Database, UnitOfWork, UtcDateTime
from shahr.parking.domain import (
    HOLDING_STATUSES,
    EndReason,
    Reservation,
    ReservationId,
    ReservationStatus,
    StreetClass,
    TimeWindow,
    VehicleKind,
)
from shahr.parking.persistence.inventory import InventoryRepository

NO_OVERLAP_CONSTRAINT = "parking_reservation_no_overlap"
DEADLOCK_DETECTED = "40P01"  # SQLSTATE
_HOLDING = tuple(s.value for s in HOLDING_STATUSES)


class ReservationRow(Base):
    """A reservation; while pending or confirmed it holds its bay over [starts_at, ends_at)."""

    __tablename__ = "parking_reservation"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="window_not_empty"),
        CheckConstraint("paid_rial >= 0 AND amount_rial >= 0", name="amounts_not_negative"),
        Index("ix_parking_reservation_bay_starts", "bay_id", "starts_at"),
        Index("ix_parking_reservation_meter_starts", "meter_id", "starts_at"),
        Index("ix_parking_reservation_status_ends", "status", "ends_at"),
        Index("ix_parking_reservation_citizen_created", "citizen_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(64))
    bay_id: Mapped[int] = mapped_column(Integer, ForeignKey("parking_bay.id"))
    meter_id: Mapped[int] = mapped_column(Integer, ForeignKey("parking_meter.id"))
    plate: Mapped[str] = mapped_column(String(20))
    vehicle_kind: Mapped[str] = mapped_column(String(16))
    street_class: Mapped[str] = mapped_column(String(1))
    tariff_version: Mapped[str] = mapped_column(String(20))
    quote_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    extension_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    amount_rial: Mapped[int] = mapped_column(BigInteger)
    paid_rial: Mapped[int] = mapped_column(BigInteger)
    extension_rial: Mapped[int | None] = mapped_column(BigInteger)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(16))
    refunded_rial: Mapped[int] = mapped_column(BigInteger)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def to_domain(self) -> Reservation:
        return Reservation(
            id=ReservationId(self.id),
            citizen_id=self.citizen_id,
            bay_id=self.bay_id,
            meter_id=self.meter_id,
            plate=self.plate,
            vehicle_kind=VehicleKind(self.vehicle_kind),
            street_class=StreetClass(self.street_class),
            tariff_version=self.tariff_version,
            quote_id=self.quote_id,
            status=ReservationStatus(self.status),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            amount_rial=self.amount_rial,
            created_at=self.created_at,
            hold_expires_at=self.hold_expires_at,
            paid_rial=self.paid_rial,
            extension_from=self.extension_from,
            extension_rial=self.extension_rial,
            confirmed_at=self.confirmed_at,
            ended_at=self.ended_at,
            end_reason=EndReason(self.end_reason) if self.end_reason else None,
            refunded_rial=self.refunded_rial,
            reminder_sent_at=self.reminder_sent_at,
        )

    def update_from(self, r: Reservation) -> None:
        for name, value in _columns(r).items():
            setattr(self, name, value)


def _columns(r: Reservation) -> dict[str, Any]:
    """The row's columns but the id, from the domain object."""
    return {
        "citizen_id": r.citizen_id,
        "bay_id": r.bay_id,
        "meter_id": r.meter_id,
        "plate": r.plate,
        "vehicle_kind": r.vehicle_kind.value,
        "street_class": r.street_class.value,
        "tariff_version": r.tariff_version,
        "quote_id": r.quote_id,
        "status": r.status.value,
        "starts_at": r.starts_at,
        "ends_at": r.ends_at,
        "extension_from": r.extension_from,
        "amount_rial": r.amount_rial,
        "paid_rial": r.paid_rial,
        "extension_rial": r.extension_rial,
        "hold_expires_at": r.hold_expires_at,
        "created_at": r.created_at,
        "confirmed_at": r.confirmed_at,
        "ended_at": r.ended_at,
        "end_reason": r.end_reason.value if r.end_reason else None,
        "refunded_rial": r.refunded_rial,
        "reminder_sent_at": r.reminder_sent_at,
    }


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
class Hold:
    """A row that may hold a bay: enough to tell what it holds at a given moment."""

    reservation_id: str
    bay_id: int
    meter_id: int
    status: ReservationStatus
    starts_at: datetime
    ends_at: datetime
    extension_from: datetime | None
    hold_expires_at: datetime | None

    def held(self, now: datetime) -> TimeWindow | None:
        """The range this row holds at `now`: a lapsed hold or extension no longer counts."""
        if self.status is ReservationStatus.pending:
            if self.hold_expires_at is None or now >= self.hold_expires_at:
                return None
            return TimeWindow(self.starts_at, self.ends_at)
        if self.status is not ReservationStatus.confirmed:
            return None
        if self.extension_from is not None and (
            self.hold_expires_at is None or now >= self.hold_expires_at
        ):
            return TimeWindow(self.starts_at, self.extension_from)
        return TimeWindow(self.starts_at, self.ends_at)


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
class DueRefund:
    reservation_id: str
    reason: str
    citizen_id: str
    amount_rial: int


def is_overlap_violation(error: IntegrityError) -> bool:
    return NO_OVERLAP_CONSTRAINT in str(error.orig)


def is_deadlock(error: DBAPIError) -> bool:
    """PostgreSQL failed this transaction to break a deadlock; trying again may succeed."""
    return getattr(error.orig, "sqlstate", None) == DEADLOCK_DETECTED


# The booking path writes through the tables, not the ORM: one statement each, without the
# unit of work's flush or a read of the row before it is saved. The statements are built
# once and take their values as parameters: built per call, each value became a bound
# parameter to coerce and hash into the statement's cache key, every time.
_RESERVATIONS = cast(Table, ReservationRow.__table__)
_PAYMENTS = cast(Table, ReservationPaymentRow.__table__)
_ADD_RESERVATION = insert(_RESERVATIONS)
_SAVE_RESERVATION = update(_RESERVATIONS).where(
    _RESERVATIONS.c.id == bindparam("saved_id")  # not "id": a SET column keeps that name
)
_RECORD_PAYMENT = insert(_PAYMENTS)


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, reservation_id: str, *, lock: bool = False) -> Reservation | None:
        query = select(ReservationRow).where(ReservationRow.id == reservation_id)
        if lock:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else row.to_domain()

    async def by_quote(self, quote_id: str) -> Reservation | None:
        row = await self._session.scalar(
            select(ReservationRow).where(ReservationRow.quote_id == quote_id)
        )
        return None if row is None else row.to_domain()

    async def add(self, reservation: Reservation) -> None:
        await self._session.execute(
            _ADD_RESERVATION, {"id": reservation.id, **_columns(reservation)}
        )

    async def save(self, reservation: Reservation) -> None:
        result = await self._session.execute(
            _SAVE_RESERVATION, {"saved_id": reservation.id, **_columns(reservation)}
        )
        if cast(CursorResult[Any], result).rowcount == 0:
            raise LookupError(reservation.id)
        # A copy of the row this session loaded earlier is stale now: forget it, so that a
        # later read in the same transaction loads the row as saved.
        stale = self._session.identity_map.get(Session.identity_key(ReservationRow, reservation.id))
        if stale is not None:
            self._session.expunge(stale)

    async def delete_unpaid(self, reservation_id: str) -> None:
        """Forget a hold whose payment never started: nothing was booked."""
        row = await self._session.get(ReservationRow, reservation_id)
        if row is not None and row.paid_rial == 0:
            await self._session.delete(row)
            await self._session.flush()

    async def release_lapsed(self, bay_id: int, now: datetime) -> None:
        """Let go of this bay's unpaid holds and extensions whose time has run out."""
        table = ReservationRow
        await self._session.execute(
            update(table)
            .where(
                table.bay_id == bay_id,
                table.status == ReservationStatus.pending.value,
                table.hold_expires_at <= now,
            )
            .values(status=ReservationStatus.lapsed.value, hold_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(
            update(table)
            .where(
                table.bay_id == bay_id,
                table.status == ReservationStatus.confirmed.value,
                table.extension_from.is_not(None),
                table.hold_expires_at <= now,
            )
            .values(
                ends_at=table.extension_from,
                extension_from=None,
                extension_rial=None,
                hold_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def overlapping(
        self, bay_id: int, window: TimeWindow, *, exclude: str | None = None
    ) -> list[Hold]:
        """The rows holding this bay over any part of the window (run after release_lapsed)."""
        query = self._holds().where(
            ReservationRow.bay_id == bay_id,
            ReservationRow.starts_at < window.ends_at,
            ReservationRow.ends_at > window.starts_at,
        )
        if exclude is not None:
            query = query.where(ReservationRow.id != exclude)
        return [hold_of(row) for row in await self._session.execute(query)]

    async def next_hold_after(self, bay_id: int, moment: datetime, *, exclude: str) -> Hold | None:
        query = (
            self._holds()
            .where(
                ReservationRow.bay_id == bay_id,
                ReservationRow.ends_at > moment,
                ReservationRow.id != exclude,
            )
            .order_by(ReservationRow.starts_at)
            .limit(1)
        )
        row = (await self._session.execute(query)).first()
        return None if row is None else hold_of(row)

    def _holds(self) -> Any:
        return _holds_query()

    async def of_citizen(self, citizen_id: str, *, limit: int) -> list[Reservation]:
        rows = await self._session.scalars(
            select(ReservationRow)
            .where(ReservationRow.citizen_id == citizen_id)
            .order_by(ReservationRow.starts_at.desc(), ReservationRow.id)
            .limit(limit)
        )
        return [row.to_domain() for row in rows]

    async def due(
        self, now: datetime, *, reminder_before: timedelta, limit: int
    ) -> list[Reservation]:
        """Rows a job must look at: lapsed holds and extensions, ended stays, reminders."""
        r = ReservationRow
        query = (
            select(r)
            .where(
                or_(
                    and_(r.status == ReservationStatus.pending.value, r.hold_expires_at <= now),
                    and_(
                        r.status == ReservationStatus.confirmed.value,
                        or_(
                            r.ends_at <= now,
                            and_(r.extension_from.is_not(None), r.hold_expires_at <= now),
                            and_(
                                r.reminder_sent_at.is_(None),
                                r.ends_at <= now + reminder_before,
                            ),
                        ),
                    ),
                )
            )
            .order_by(r.ends_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row.to_domain() for row in await self._session.scalars(query)]

    # --- payments parking has handled, and refunds it owes ---

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

    async def record_payment(
        self,
        *,
        payment_id: str,
        reservation_id: str,
        purpose: str,
        amount_rial: int,
        outcome: str,
        verified_at: datetime,
        now: datetime,
    ) -> None:
        await self._session.execute(
            _RECORD_PAYMENT,
            {
                "payment_id": payment_id,
                "reservation_id": reservation_id,
                "purpose": purpose,
                "amount_rial": amount_rial,
                "outcome": outcome,
                "verified_at": verified_at,
                "recorded_at": now,
            },
        )

    async def payments_of(self, reservation_id: str) -> list[ReservationPaymentRow]:
        rows = await self._session.scalars(
            select(ReservationPaymentRow)
            .where(ReservationPaymentRow.reservation_id == reservation_id)
            .order_by(ReservationPaymentRow.verified_at)
        )
        return list(rows)

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

    async def refunds_of(self, reservation_id: str) -> list[RefundRow]:
        rows = await self._session.scalars(
            select(RefundRow)
            .where(RefundRow.reservation_id == reservation_id)
            .order_by(RefundRow.created_at)
        )
        return list(rows)

    # --- in-app notifications ---

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


def _holds_query() -> Any:
    r = ReservationRow
    return select(
        r.id,
        r.bay_id,
        r.meter_id,
        r.status,
        r.starts_at,
        r.ends_at,
        r.extension_from,
        r.hold_expires_at,
    ).where(r.status.in_(_HOLDING))


async def holds_on_meters(
    database: Database, meter_ids: Iterable[int], window: TimeWindow
) -> list[Hold]:
    """Rows that may hold bays of these meters during the window."""
    ids = list(meter_ids)
    if not ids:
        return []
    return await holds_between(database, window.starts_at, window.ends_at, meter_ids=ids)


async def holds_between(
    database: Database,
    starts_at: datetime,
    ends_at: datetime,
    *,
    meter_ids: list[int] | None = None,
) -> list[Hold]:
    """Rows that may hold bays (of these meters, or of any) between the two times (read
    side, no session: search runs this on every request, or once a second per span)."""
    query = _holds_query().where(
        ReservationRow.starts_at < ends_at, ReservationRow.ends_at > starts_at
    )
    if meter_ids is not None:
        query = query.where(ReservationRow.meter_id.in_(meter_ids))
    return [hold_of(row) for row in await database.read(query)]


def hold_of(row: Any) -> Hold:
    """A hold from a row of reservation columns (id, bay, meter, status and times)."""
    return Hold(
        reservation_id=row.id,
        bay_id=row.bay_id,
        meter_id=row.meter_id,
        status=ReservationStatus(row.status),
        starts_at=_aware(row.starts_at),
        ends_at=_aware(row.ends_at),
        extension_from=_aware(row.extension_from) if row.extension_from else None,
        hold_expires_at=_aware(row.hold_expires_at) if row.hold_expires_at else None,
    )


def _aware(moment: datetime) -> datetime:
    # Column-level selects go through UtcDateTime too; this only guards a raw driver value.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ReservationUnitOfWork(UnitOfWork):
    """One transaction over inventory and reservations; `write=True` to book without overlap.

    With `write=True` on SQLite the transaction begins `IMMEDIATE`: the write lock is taken
    first, so a check for an overlap and the write that follows see the same bay state as
    every other writer will. On PostgreSQL the exclusion constraint has the last word and
    rows that change state are read `FOR UPDATE`.
    """

    def __init__(self, database: Database, *, write: bool = False) -> None:
        super().__init__(database)
        self._write = write
        self.is_sqlite = database.is_sqlite

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if self._write and self.is_sqlite:
            await self.session.execute(text("BEGIN IMMEDIATE"))
        self.inventory = InventoryRepository(self.session)
        self.reservations = ReservationRepository(self.session)
        return self

    async def rollback(self) -> None:
        await self.session.rollback()

    def savepoint(self) -> Any:
        """A nested transaction: a constraint it trips rolls back only its own work."""
        return self.session.begin_nested()
