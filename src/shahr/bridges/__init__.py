"""The adapters between areas: each gives one area's port another area's services.

Areas never import each other; bootstrap builds these and hands them to the area that
needs them. Each adapter speaks in the needing area's plain values. One module per area
that is given ports.
"""

from shahr.bridges.incidents import (
    CamerasForIncidents,
    DetectorFeedForIncidents,
    RoadsForIncidents,
)
from shahr.bridges.parking import (
    PAYMENT_EVENT_WORKERS,
    PaymentsForParking,
    SmsForParking,
    VehiclesFromIdentity,
    confirm_parking_by_card,
    credit_demo_wallets,
)

__all__ = [
    "PAYMENT_EVENT_WORKERS",
    "CamerasForIncidents",
    "DetectorFeedForIncidents",
    "PaymentsForParking",
    "RoadsForIncidents",
    "SmsForParking",
    "VehiclesFromIdentity",
    "confirm_parking_by_card",
    "credit_demo_wallets",
]
