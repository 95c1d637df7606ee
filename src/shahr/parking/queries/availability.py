"""Availability for a window: its price on a street, the bays held, and one meter's bays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.parking.domain import (
    Bay,
    InvalidWindowError,
    Meter,
    MeterId,
    ParkingRules,
    Price,
    ReservationStatus,
    StreetClass,
    TimeWindow,
    VehicleKind,
    Zone,
    check_window,
)
from shahr.parking.persistence import holds_on_meters
from shahr.parking.queries.inventory import InventoryCache, MetroNearby
from shahr.parking.queries.search_arrays import fits_vehicle


@dataclass(frozen=True)
class BayState:
    """A bay for a window: whether it is held (reserved), paid, and bookable by this vehicle."""

    bay: Bay
    fits: bool | None
    reserved: bool
    paid: bool
    available: bool
    status: str


@dataclass(frozen=True)
class MeterDetail:
    meter: Meter
    zone: Zone
    window: TimeWindow
    vehicle_kind: VehicleKind | None
    bays: list[BayState]
    price: Price | None
    refusal: DomainError | None
    metro: MetroNearby | None


def window_price(
    rules: ParkingRules,
    zone: Zone,
    street_class: StreetClass,
    vehicle_kind: VehicleKind,
    window: TimeWindow,
    *,
    now: datetime,
) -> Price:
    """The price of booking the window on this street, or the rule it breaks."""
    check_window(window, zone.rules, rules.holidays, rules.policy, now=now)
    tariff = rules.tariffs.in_force(in_tehran(window.starts_at).date())
    return tariff.price(window.duration_min, vehicle_kind, street_class)


async def held_bays(
    database: Database, meter_ids: list[MeterId], window: TimeWindow, *, now: datetime
) -> tuple[set[int], set[int]]:
    """The bays held over any part of the window, and those of them paid for."""
    holds = await holds_on_meters(database, meter_ids, window)
    held: set[int] = set()
    paid: set[int] = set()
    for hold in holds:
        span = hold.held(now)
        if span is not None and span.overlaps(window):
            held.add(hold.bay_id)
            if hold.status is ReservationStatus.confirmed:
                paid.add(hold.bay_id)
    return held, paid


async def meter_detail(
    database: Database,
    inventory: InventoryCache,
    rules: ParkingRules,
    *,
    meter_id: int,
    window: TimeWindow,
    vehicle_kind: VehicleKind | None,
    now: datetime,
) -> MeterDetail:
    """A meter and each of its bays for the window: held, paid, fitting, bookable."""
    snapshot = await inventory.current()
    meter = snapshot.meter(meter_id)
    zone = snapshot.zone_of(meter)
    price: Price | None = None
    refusal: DomainError | None = None
    try:
        price = window_price(
            rules, zone, meter.street_class, vehicle_kind or VehicleKind.car, window, now=now
        )
    except DomainError as error:
        refusal = error
    held, paid = await held_bays(database, [meter.id], window, now=now)
    closed = isinstance(refusal, InvalidWindowError) and refusal.field == "starts_at"
    states = []
    for bay in (b for b in meter.bays if b.in_service):
        fits = None if vehicle_kind is None else fits_vehicle(bay, vehicle_kind)
        states.append(
            BayState(
                bay=bay,
                fits=fits,
                reserved=bay.id in held,
                paid=bay.id in paid,
                available=refusal is None and bay.id not in held and fits is not False,
                # No bay sensors yet: occupancy is unknown unless the street is closed.
                status="closed" if closed else "unknown",
            )
        )
    return MeterDetail(
        meter=meter,
        zone=zone,
        window=window,
        vehicle_kind=vehicle_kind,
        bays=states,
        price=price,
        refusal=refusal,
        metro=snapshot.metro_of(meter),
    )
