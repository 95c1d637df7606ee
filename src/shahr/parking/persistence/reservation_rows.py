"""The reservations table, and the mapping between its rows and the domain's `Reservation`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.parking.domain import (
    EndReason,
    Reservation,
    ReservationId,
    ReservationStatus,
    StreetClass,
    VehicleKind,
)

NO_OVERLAP_CONSTRAINT = "parking_reservation_no_overlap"


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


def row_values(r: Reservation) -> dict[str, Any]:
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
