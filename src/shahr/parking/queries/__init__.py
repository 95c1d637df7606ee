"""Parking's read side, split by concept: what pages, the API, open data and other areas read."""

from shahr.parking.queries.availability import (
    BayState,
    MeterDetail,
    held_bays,
    meter_detail,
    window_price,
)
from shahr.parking.queries.geography import (
    district_count,
    districts,
    metro_station_count,
    metro_stations,
)
from shahr.parking.queries.inventory import (
    InventoryCache,
    InventorySnapshot,
    MetroNearby,
    bay_count,
    meter_count,
)
from shahr.parking.queries.reservations import (
    PaymentLine,
    RefundLine,
    ReservationView,
    last_plate,
    notifications_of,
    reservation_view,
    reservations_of,
)
from shahr.parking.queries.search import MeterAvailability, SearchResult, search_meters
from shahr.parking.queries.search_arrays import fits_vehicle

__all__ = [
    "BayState",
    "InventoryCache",
    "InventorySnapshot",
    "MeterAvailability",
    "MeterDetail",
    "MetroNearby",
    "PaymentLine",
    "RefundLine",
    "ReservationView",
    "SearchResult",
    "bay_count",
    "district_count",
    "districts",
    "fits_vehicle",
    "held_bays",
    "last_plate",
    "meter_count",
    "meter_detail",
    "metro_station_count",
    "metro_stations",
    "notifications_of",
    "reservation_view",
    "reservations_of",
    "search_meters",
    "window_price",
]
