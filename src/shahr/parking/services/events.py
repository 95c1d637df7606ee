"""The events parking publishes after a commit, built from a reservation and its bay."""

from __future__ import annotations

from datetime import datetime

from shahr.parking.domain import Bay, BayId, Meter, Reservation
from shahr.parking.events import ReservationConfirmed, ReservationEnded, ReservationExtended
from shahr.parking.queries import InventorySnapshot


def confirmed_event(reservation: Reservation, meter: Meter, bay: Bay) -> ReservationConfirmed:
    return ReservationConfirmed(
        reservation_id=reservation.id,
        bay_id=bay.id,
        meter_id=meter.id,
        meter_device_id=meter.device_id,
        bay_number=bay.number,
        plate=reservation.plate,
        starts_at=reservation.starts_at,
        ends_at=reservation.paid_ends_at,
    )


def extended_event_of(reservation: Reservation, meter: Meter, bay: Bay) -> ReservationExtended:
    return ReservationExtended(
        reservation_id=reservation.id,
        meter_id=meter.id,
        meter_device_id=meter.device_id,
        bay_number=bay.number,
        ends_at=reservation.paid_ends_at,
    )


def extended_event(snapshot: InventorySnapshot, reservation: Reservation) -> ReservationExtended:
    meter, bay = snapshot.bays[BayId(reservation.bay_id)]
    return extended_event_of(reservation, meter, bay)


def ended_event(
    snapshot: InventorySnapshot, reservation: Reservation, *, reason: str, at: datetime
) -> ReservationEnded:
    """The stay's end (when it ended, or `at` if it has no end time yet) for the bay's light."""
    meter, bay = snapshot.bays[BayId(reservation.bay_id)]
    return ReservationEnded(
        reservation_id=reservation.id,
        meter_id=meter.id,
        meter_device_id=meter.device_id,
        bay_number=bay.number,
        ended_at=reservation.ended_at or at,
        reason=reason,
    )
