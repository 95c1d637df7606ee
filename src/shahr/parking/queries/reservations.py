"""Reservations as their owner sees them, and the citizen's in-app notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from shahr.kernel.db import Database
from shahr.parking.domain import (
    Bay,
    BayId,
    Meter,
    MeterId,
    Reservation,
    Zone,
    not_found,
)
from shahr.parking.persistence import (
    Notification,
    PaymentRecord,
    RefundRecord,
    ReservationRow,
    ReservationUnitOfWork,
)
from shahr.parking.queries.inventory import InventoryCache, InventorySnapshot


@dataclass(frozen=True)
class PaymentLine:
    payment_id: str
    purpose: str
    amount_rial: int
    outcome: str
    verified_at: datetime


@dataclass(frozen=True)
class RefundLine:
    reason: str
    amount_rial: int
    issued: bool


@dataclass(frozen=True)
class ReservationView:
    """A reservation with its meter, bay, the payments it took and the refunds it gave."""

    reservation: Reservation
    meter: Meter
    bay: Bay
    zone: Zone
    payments: tuple[PaymentLine, ...]
    refunds: tuple[RefundLine, ...]


async def reservation_view(
    database: Database, inventory: InventoryCache, *, reservation_id: str, citizen_id: str
) -> ReservationView:
    """One of the citizen's reservations; anyone else's reads as not found."""
    async with ReservationUnitOfWork(database) as uow:
        reservation = await uow.reservations.get(reservation_id)
        if reservation is None or reservation.citizen_id != citizen_id:
            raise not_found()
        payments = await uow.records.payments_of(reservation_id)
        refunds = await uow.records.refunds_of(reservation_id)
    return _view(await inventory.current(), reservation, payments, refunds)


async def reservations_of(
    database: Database, inventory: InventoryCache, *, citizen_id: str, limit: int = 50
) -> list[ReservationView]:
    """The citizen's reservations, latest start first (payments and refunds not loaded)."""
    async with ReservationUnitOfWork(database) as uow:
        found = await uow.reservations.of_citizen(citizen_id, limit=limit)
    snapshot = await inventory.current()
    return [_view(snapshot, reservation, [], []) for reservation in found]


def _view(
    snapshot: InventorySnapshot,
    reservation: Reservation,
    payments: list[PaymentRecord],
    refunds: list[RefundRecord],
) -> ReservationView:
    meter = snapshot.meters.get(MeterId(reservation.meter_id))
    bay = snapshot.bays.get(BayId(reservation.bay_id))
    if meter is None or bay is None:
        raise not_found()
    return ReservationView(
        reservation=reservation,
        meter=meter,
        bay=bay[1],
        zone=snapshot.zone_of(meter),
        payments=tuple(
            PaymentLine(p.payment_id, p.purpose, p.amount_rial, p.outcome, p.verified_at)
            for p in payments
        ),
        refunds=tuple(
            RefundLine(r.reason, r.amount_rial, r.issued_at is not None) for r in refunds
        ),
    )


async def notifications_of(
    database: Database, *, citizen_id: str, limit: int = 50
) -> list[Notification]:
    """The citizen's in-app notices, newest first."""
    async with ReservationUnitOfWork(database) as uow:
        return await uow.records.notifications_of(citizen_id, limit=limit)


_LAST_PLATE = (
    select(ReservationRow.plate)
    .where(ReservationRow.citizen_id == bindparam("citizen_id"))
    .order_by(ReservationRow.created_at.desc(), ReservationRow.id)
    .limit(1)
)


async def last_plate(database: Database, *, citizen_id: str) -> str | None:
    """The plate of the citizen's latest booking: the vehicle the picker offers first."""
    rows = await database.read(_LAST_PLATE, {"citizen_id": citizen_id})
    return rows[0].plate if rows else None
