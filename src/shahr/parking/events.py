"""What happened to reservations, for the meter gateway and other areas (after the commit).

The bay-light gateway listens to `ReservationConfirmed`, `ReservationExtended` and
`ReservationEnded` by exactly these names and fields; treat them as a public contract.
Delivery is at least once, so handlers must be idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReservationConfirmed:
    """Paid: the bay is held for [starts_at, ends_at) (its light goes green for it)."""

    reservation_id: str
    bay_id: int
    meter_id: int
    meter_device_id: str
    bay_number: int
    plate: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class ReservationExtended:
    """A paid extension: the stay now ends at `ends_at`."""

    reservation_id: str
    meter_id: int
    meter_device_id: str
    bay_number: int
    ends_at: datetime


@dataclass(frozen=True)
class ReservationEnded:
    """A confirmed stay stopped holding its bay; `reason` is ended_early, cancelled or expired."""

    reservation_id: str
    meter_id: int
    meter_device_id: str
    bay_number: int
    ended_at: datetime
    reason: str


@dataclass(frozen=True)
class ReservationPlateChanged:
    """The vehicle on a reservation changed before its start (for enforcement)."""

    reservation_id: str
    bay_id: int
    meter_id: int
    plate: str
    changed_at: datetime
