"""Parking's read side: what the map, open data and other areas may read."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat, PointIndex, haversine_m
from shahr.parking.domain import (
    Bay,
    BayId,
    BayNotFoundError,
    District,
    InvalidWindowError,
    Meter,
    MeterId,
    MeterNotFoundError,
    MetroStation,
    ParkingRules,
    Price,
    Reservation,
    ReservationStatus,
    StreetClass,
    TimeWindow,
    VehicleKind,
    Zone,
    bay_fits,
    check_window,
    not_found,
)
from shahr.parking.persistence import (
    BayRow,
    DistrictRow,
    InventoryRepository,
    MeterRow,
    MetroStationRow,
    Notification,
    RefundRow,
    ReservationPaymentRow,
    ReservationRepository,
    holds_on_meters,
)


async def districts(database: Database) -> list[District]:
    """Every district, by number."""
    async with database.session() as session:
        rows = await session.scalars(select(DistrictRow).order_by(DistrictRow.number))
        return [row.to_domain() for row in rows]


async def metro_stations(database: Database) -> list[MetroStation]:
    """Every metro station, by English name (a stable order for caches and diffs)."""
    async with database.session() as session:
        rows = await session.scalars(select(MetroStationRow).order_by(MetroStationRow.name_en))
        return [row.to_domain() for row in rows]


async def district_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(DistrictRow))
        return count or 0


async def metro_station_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(MetroStationRow))
        return count or 0


# --- the inventory in memory, for search -----------------------------------------------------


@dataclass(frozen=True)
class InventorySnapshot:
    """Zones, meters and bays as of one revision, with spatial indexes over meters and metro."""

    revision: int
    zones: dict[str, Zone]
    meters: dict[MeterId, Meter]
    bays: dict[BayId, tuple[Meter, Bay]]
    meter_index: PointIndex[MeterId]
    metro_stations: tuple[MetroStation, ...]
    metro_index: PointIndex[int]
    metro_by_meter: dict[MeterId, MetroNearby | None] = field(default_factory=dict)

    def meter(self, meter_id: int) -> Meter:
        meter = self.meters.get(MeterId(meter_id))
        if meter is None:
            raise MeterNotFoundError("This parking meter does not exist.", field="meter_id")
        return meter

    def bay(self, bay_id: int) -> tuple[Meter, Bay]:
        found = self.bays.get(BayId(bay_id))
        if found is None or not found[1].in_service:
            raise BayNotFoundError("This parking bay does not exist.", field="bay_id")
        return found

    def zone_of(self, meter: Meter) -> Zone:
        return self.zones[meter.zone_code]

    def metro_of(self, meter: Meter) -> MetroNearby | None:
        """The metro station closest to a meter (worked out once per snapshot)."""
        if meter.id not in self.metro_by_meter:
            self.metro_by_meter[meter.id] = self.nearest_metro(meter.lon, meter.lat)
        return self.metro_by_meter[meter.id]

    def nearest_metro(self, lon: float, lat: float) -> MetroNearby | None:
        found = self.metro_index.nearest(LonLat(lon, lat), 1)
        if not found:
            return None
        index, distance_m = found[0]
        station = self.metro_stations[index]
        return MetroNearby(station.name_fa, station.name_en, station.lines, round(distance_m, 1))


@dataclass(frozen=True)
class MetroNearby:
    """The closest metro station: park and ride."""

    name_fa: str
    name_en: str
    lines: tuple[int, ...]
    distance_m: float


class InventoryCache:
    """The inventory in memory, rebuilt when its revision (or the metro list) changes.

    Every process keeps its own copy; it asks the database for the revision at most every
    `check_every_s` seconds, and this process's own inventory writes invalidate it at once.
    """

    def __init__(self, database: Database, *, check_every_s: float = 1.0) -> None:
        self._database = database
        self._check_every_s = check_every_s
        self._snapshot: InventorySnapshot | None = None
        self._checked_at = -math.inf
        self._metro_count = -1
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._checked_at = -math.inf
        self._snapshot = None

    async def current(self) -> InventorySnapshot:
        snapshot = self._snapshot
        if snapshot is not None and (
            time.monotonic() - self._checked_at < self._check_every_s or self._lock.locked()
        ):
            # While one request checks the revision, the others go on with what is there.
            return snapshot
        async with self._lock:
            if self._snapshot is not None and (
                time.monotonic() - self._checked_at < self._check_every_s
            ):
                return self._snapshot
            async with self._database.session() as session:
                revision = await InventoryRepository(session).revision()
                metro_count = await session.scalar(
                    select(func.count()).select_from(MetroStationRow)
                )
            self._checked_at = time.monotonic()
            current = self._snapshot
            if (
                current is None
                or current.revision != revision
                or self._metro_count != (metro_count or 0)
            ):
                current = self._snapshot = await self._build()
                self._metro_count = len(current.metro_stations)
            return current

    async def _build(self) -> InventorySnapshot:
        async with self._database.session() as session:
            repository = InventoryRepository(session)
            revision = await repository.revision()
            zones = await repository.zones()
            meters = await repository.meters()
            metro_rows = await session.scalars(
                select(MetroStationRow).order_by(MetroStationRow.name_en)
            )
            metro = tuple(row.to_domain() for row in metro_rows)
        by_id = {meter.id: meter for meter in meters}
        return InventorySnapshot(
            revision=revision,
            zones=zones,
            meters=by_id,
            bays={bay.id: (meter, bay) for meter in meters for bay in meter.bays},
            meter_index=PointIndex((m.id, LonLat(m.lon, m.lat)) for m in meters),
            metro_stations=metro,
            metro_index=PointIndex((i, LonLat(s.lon, s.lat)) for i, s in enumerate(metro)),
        )


# --- availability: search and a meter's bays ---------------------------------------------------


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


# --- reservations, as their owner sees them ----------------------------------------------------


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
    async with database.session() as session:
        repository = ReservationRepository(session)
        reservation = await repository.get(reservation_id)
        if reservation is None or reservation.citizen_id != citizen_id:
            raise not_found()
        payments = await repository.payments_of(reservation_id)
        refunds = await repository.refunds_of(reservation_id)
    return _view(await inventory.current(), reservation, payments, refunds)


async def reservations_of(
    database: Database, inventory: InventoryCache, *, citizen_id: str, limit: int = 50
) -> list[ReservationView]:
    """The citizen's reservations, latest start first (payments and refunds not loaded)."""
    async with database.session() as session:
        found = await ReservationRepository(session).of_citizen(citizen_id, limit=limit)
    snapshot = await inventory.current()
    return [_view(snapshot, reservation, [], []) for reservation in found]


def _view(
    snapshot: InventorySnapshot,
    reservation: Reservation,
    payments: list[ReservationPaymentRow],
    refunds: list[RefundRow],
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
    async with database.session() as session:
        return await ReservationRepository(session).notifications_of(citizen_id, limit=limit)


async def meter_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(MeterRow))
        return count or 0


async def bay_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(BayRow).where(BayRow.in_service)
        )
        return count or 0
