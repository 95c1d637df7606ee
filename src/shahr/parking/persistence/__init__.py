"""The parking area's tables and repositories, split by concept."""

from shahr.kernel.db import UtcDateTime
from shahr.parking.persistence.geography import (
    DistrictRow,
    GeographyRepository,
    MetroStationRow,
    ParkingUnitOfWork,
)
from shahr.parking.persistence.holds import Hold, hold_of, holds_between, holds_on_meters
from shahr.parking.persistence.inventory import (
    BayRow,
    InventoryRepository,
    InventoryRevisionRow,
    LoadCounts,
    MeterRow,
    ZoneRow,
)
from shahr.parking.persistence.light_reads import (
    BayLightView,
    MeterLights,
    bay_light,
    meter_lights,
    meter_presence,
    windows_behind_reservations,
)
from shahr.parking.persistence.lights import (
    BayLightRow,
    LightRepository,
    LightUnitOfWork,
    LightWindowRow,
    retry_conflicts,
)
from shahr.parking.persistence.meter_presence import MeterPresenceRepository, MeterPresenceRow
from shahr.parking.persistence.reservation_rows import NO_OVERLAP_CONSTRAINT, ReservationRow
from shahr.parking.persistence.reservations import ReservationRepository, ReservationUnitOfWork
from shahr.parking.persistence.stay_records import (
    DueRefund,
    Notification,
    NotificationRow,
    PaymentRecord,
    RefundRecord,
    RefundRow,
    ReservationPaymentRow,
    StayRecordRepository,
)

__all__ = [
    "DistrictRow",
    "GeographyRepository",
    "MetroStationRow",
    "ParkingUnitOfWork",
]

# Bay lights
__all__ += [
    "BayLightRow",
    "BayLightView",
    "LightRepository",
    "LightUnitOfWork",
    "LightWindowRow",
    "MeterLights",
    "MeterPresenceRepository",
    "MeterPresenceRow",
    "bay_light",
    "meter_lights",
    "meter_presence",
    "retry_conflicts",
    "windows_behind_reservations",
]

# Inventory and reservations
__all__ += [
    "NO_OVERLAP_CONSTRAINT",
    "BayRow",
    "DueRefund",
    "Hold",
    "InventoryRepository",
    "InventoryRevisionRow",
    "LoadCounts",
    "MeterRow",
    "Notification",
    "NotificationRow",
    "PaymentRecord",
    "RefundRecord",
    "RefundRow",
    "ReservationPaymentRow",
    "ReservationRepository",
    "ReservationRow",
    "ReservationUnitOfWork",
    "StayRecordRepository",
    "UtcDateTime",
    "ZoneRow",
    "hold_of",
    "holds_between",
    "holds_on_meters",
]
