"""The parking area's tables and repositories, split by concept."""

from shahr.kernel.db import UtcDateTime
from shahr.parking.persistence.geography import (
    DistrictRow,
    GeographyRepository,
    MetroStationRow,
    ParkingUnitOfWork,
)
from shahr.parking.persistence.inventory import (
    BayRow,
    InventoryRepository,
    InventoryRevisionRow,
    LoadCounts,
    MeterRow,
    ZoneRow,
)
from shahr.parking.persistence.lights import (
    BayLightRow,
    BayLightView,
    LightRepository,
    LightUnitOfWork,
    LightWindowRow,
    MeterLights,
    MeterPresenceRow,
    bay_light,
    meter_lights,
    meter_presence,
)
from shahr.parking.persistence.reservations import (
    NO_OVERLAP_CONSTRAINT,
    DueRefund,
    Hold,
    Notification,
    NotificationRow,
    RefundRow,
    ReservationPaymentRow,
    ReservationRepository,
    ReservationRow,
    ReservationUnitOfWork,
    hold_of,
    holds_between,
    holds_on_meters,
    is_deadlock,
    is_overlap_violation,
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
    "MeterPresenceRow",
    "bay_light",
    "meter_lights",
    "meter_presence",
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
    "RefundRow",
    "ReservationPaymentRow",
    "ReservationRepository",
    "ReservationRow",
    "ReservationUnitOfWork",
    "UtcDateTime",
    "ZoneRow",
    "hold_of",
    "holds_between",
    "holds_on_meters",
    "is_deadlock",
    "is_overlap_violation",
]
