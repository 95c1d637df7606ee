"""Availability: meters found by place with their free bays, and one meter's bays, for a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat, haversine_m
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
    bay_fits,
    check_window,
)
from shahr.parking.persistence import (
    holds_on_meters,
)
from shahr.parking.queries.inventory import InventoryCache, MetroNearby


@dataclass(frozen=True)
class MeterAvailability:
    """A meter as search shows it: how many fitting bays are free for the window, at what price."""

    meter: Meter
    zone: Zone
    distance_m: float | None
    bays_total: int
    bays_free: int
    price: Price | None
    refusal: DomainError | None
    metro: MetroNearby | None


@dataclass(frozen=True)
class SearchResult:
    window: TimeWindow
    vehicle_kind: VehicleKind
    nearest_metro: MetroNearby | None
    meters: list[MeterAvailability]


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


def fits_vehicle(bay: Bay, vehicle_kind: VehicleKind) -> bool:
    """Search counts a disabled bay for cars and vans: the plate decides at the quote."""
    return bay.in_service and bay_fits(bay.kind, vehicle_kind, disabled_plate=True)


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


async def search_meters(
    database: Database,
    inventory: InventoryCache,
    rules: ParkingRules,
    *,
    now: datetime,
    window: TimeWindow,
    vehicle_kind: VehicleKind,
    near: LonLat | None = None,
    radius_m: float = 1_000.0,
    bbox: tuple[float, float, float, float] | None = None,
    max_price_rial: int | None = None,
    available_only: bool = False,
    limit: int = 20,
) -> SearchResult:
    """Meters near a point or inside a box, nearest first, with free fitting bays for the window.

    Meters with no bay for the vehicle, or dearer than `max_price_rial`, are left out;
    `available_only` leaves out those with no free bay too.
    """
    snapshot = await inventory.current()
    centre = near
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        centre = centre or LonLat((min_lon + max_lon) / 2, (min_lat + max_lat) / 2)
    if centre is None:
        raise ValueError("search needs a point or a box")
    prices: dict[tuple[str, StreetClass], Price | DomainError] = {}

    def priced(meter: Meter) -> Price | DomainError:
        key = (meter.zone_code, meter.street_class)
        if key not in prices:
            try:
                prices[key] = window_price(
                    rules,
                    snapshot.zone_of(meter),
                    meter.street_class,
                    vehicle_kind,
                    window,
                    now=now,
                )
            except DomainError as error:
                prices[key] = error
        return prices[key]

    def wanted(meter_id: MeterId) -> bool:
        meter = snapshot.meters[meter_id]
        if not any(fits_vehicle(bay, vehicle_kind) for bay in meter.bays):
            return False
        price = priced(meter)
        if max_price_rial is not None:
            return isinstance(price, Price) and price.total_rial <= max_price_rial
        return True

    # More candidates than asked for: some may have no free bay for the window.
    want = limit * 4 if available_only else limit
    if bbox is not None:
        inside = [m for m in snapshot.meter_index.within_bbox(*bbox) if wanted(m)]
        ranked = sorted(
            ((m, _distance(snapshot.meters[m], centre)) for m in inside),
            key=lambda pair: (pair[1], pair[0]),
        )
        candidates: list[tuple[MeterId, float]] = ranked[: max(want, limit)]
    else:
        candidates = snapshot.meter_index.nearest(
            centre, max(want, limit), max_distance_m=radius_m, where=wanted
        )
    held, _paid = await held_bays(database, [m for m, _ in candidates], window, now=now)
    found: list[MeterAvailability] = []
    for meter_id, distance_m in candidates:
        meter = snapshot.meters[meter_id]
        fitting = [bay for bay in meter.bays if fits_vehicle(bay, vehicle_kind)]
        price = priced(meter)
        bookable = isinstance(price, Price)
        free = sum(1 for bay in fitting if bay.id not in held) if bookable else 0
        if available_only and free == 0:
            continue
        found.append(
            MeterAvailability(
                meter=meter,
                zone=snapshot.zone_of(meter),
                distance_m=round(distance_m, 1),
                bays_total=len(fitting),
                bays_free=free,
                price=price if isinstance(price, Price) else None,
                refusal=None if isinstance(price, Price) else price,
                metro=snapshot.metro_of(meter),
            )
        )
        if len(found) == limit:
            break
    return SearchResult(
        window=window,
        vehicle_kind=vehicle_kind,
        nearest_metro=snapshot.nearest_metro(centre.lon, centre.lat),
        meters=found,
    )


def _distance(meter: Meter, point: LonLat) -> float:
    return haversine_m(LonLat(meter.lon, meter.lat), point)


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
