"""Availability: meters found by place with their free bays, and one meter's bays, for a window."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import BoolArray, IndexArray, LonLat, haversine_m
from shahr.parking.domain import (
    Bay,
    BayId,
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
from shahr.parking.queries.holds import held_bays_of
from shahr.parking.queries.inventory import InventoryCache, InventorySnapshot, MetroNearby


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


# A search prices each (zone, street class) once per window and vehicle; a window's price
# does not depend on the moment it is asked while `check_window`'s tests of `now` pass, so
# a price is kept for as long as they do (see `_now_allows`). Bounded: the whole table is
# dropped when it fills.
_MAX_PRICED_WINDOWS = 2_000
PriceOutcome = Price | DomainError


def _now_allows(window: TimeWindow, rules: ParkingRules, now: datetime) -> bool:
    """Whether `check_window`'s only tests that read `now` pass (it is not too late, and
    not too far ahead): then its answer, and so the price, is the same at any such `now`."""
    policy = rules.policy
    return (
        window.starts_at >= now - policy.start_grace
        and window.ends_at > now
        and window.starts_at <= now + policy.max_advance
    )


@dataclass
class _SearchArrays:
    """One inventory snapshot laid out for search: per meter (in the meter index's order),
    its id, zone and price group; per vehicle kind, the bays that take it and what an answer
    shows of it (once shown); per (vehicle kind, window), each group's price once known."""

    meters: list[Meter]
    ids: list[MeterId]
    zones: list[Zone]
    position: dict[MeterId, int]
    group: npt.NDArray[np.intp]
    group_of: list[int]
    groups: list[tuple[str, StreetClass]]
    by_kind: dict[VehicleKind, tuple[BoolArray, list[list[BayId]]]] = field(default_factory=dict)
    prices: dict[tuple[VehicleKind, TimeWindow], tuple[ParkingRules, list[PriceOutcome | None]]] = (
        field(default_factory=dict)
    )
    shown_by_kind: dict[VehicleKind, list[dict[str, object] | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: InventorySnapshot) -> _SearchArrays:
        meters = [snapshot.meters[meter_id] for meter_id in snapshot.meter_index.keys]
        number: dict[tuple[str, StreetClass], int] = {}
        group_of = [
            number.setdefault((meter.zone_code, meter.street_class), len(number))
            for meter in meters
        ]
        return cls(
            meters=meters,
            ids=[meter.id for meter in meters],
            zones=[snapshot.zone_of(meter) for meter in meters],
            position={meter.id: i for i, meter in enumerate(meters)},
            group=np.array(group_of, dtype=np.intp),
            group_of=group_of,
            groups=list(number),
        )

    def fitting(self, vehicle_kind: VehicleKind) -> tuple[BoolArray, list[list[BayId]]]:
        """Per meter: whether any bay takes the vehicle, and which bays do."""
        if vehicle_kind not in self.by_kind:
            bays = [
                [bay.id for bay in meter.bays if fits_vehicle(bay, vehicle_kind)]
                for meter in self.meters
            ]
            fits = np.fromiter((bool(b) for b in bays), dtype=np.bool_, count=len(bays))
            self.by_kind[vehicle_kind] = (fits, bays)
        return self.by_kind[vehicle_kind]

    def shown(self, vehicle_kind: VehicleKind) -> list[dict[str, object] | None]:
        """Per meter, what an answer shows of it whatever the window (`_shown_as`), once
        the meter has been in an answer for this vehicle kind."""
        found = self.shown_by_kind.get(vehicle_kind)
        if found is None:
            found = self.shown_by_kind[vehicle_kind] = [None] * len(self.meters)
        return found

    def _shown_as(
        self, snapshot: InventorySnapshot, position: int, vehicle_kind: VehicleKind
    ) -> dict[str, object]:
        """A `MeterAvailability`'s fields that depend on the meter and vehicle kind alone,
        with every fitting bay free: the meter, its zone and closest metro station."""
        meter = self.meters[position]
        total = len(self.fitting(vehicle_kind)[1][position])
        shown: dict[str, object] = {
            "meter": meter,
            "zone": self.zones[position],
            "distance_m": None,
            "bays_total": total,
            "bays_free": total,
            "price": None,
            "refusal": None,
            "metro": snapshot.metro_of(meter),
        }
        self.shown(vehicle_kind)[position] = shown
        return shown

    def price_table(
        self, rules: ParkingRules, vehicle_kind: VehicleKind, window: TimeWindow, now: datetime
    ) -> list[PriceOutcome | None]:
        """Per price group, the window's price once worked out (None until then): shared by
        the searches for which `_now_allows` holds, this search's own otherwise."""
        if not _now_allows(window, rules, now):
            return [None] * len(self.groups)
        key = (vehicle_kind, window)
        kept = self.prices.get(key)
        if kept is None or kept[0] is not rules:
            if len(self.prices) >= _MAX_PRICED_WINDOWS:
                self.prices.clear()
            kept = self.prices[key] = (rules, [None] * len(self.groups))
        return kept[1]


# By the snapshot's id (a snapshot holds dicts, so it cannot be hashed), each entry
# dropped when its snapshot is (so the arrays must not refer to the snapshot itself).
_arrays_of: dict[int, _SearchArrays] = {}


def _search_arrays(snapshot: InventorySnapshot) -> _SearchArrays:
    """The snapshot's search arrays, built at its first search and dropped with it."""
    arrays = _arrays_of.get(id(snapshot))
    if arrays is None:
        arrays = _arrays_of[id(snapshot)] = _SearchArrays.of(snapshot)
        weakref.finalize(snapshot, _arrays_of.pop, id(snapshot), None)
    return arrays


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
    `available_only` leaves out those with no free bay too. The free bays come from a copy
    of the holds this process drops at its own reservation writes and otherwise keeps for
    about a second (`holds.HeldBays`): a count to choose by, never a guarantee; the
    database refuses a double booking whatever search showed (decision 0011).
    """
    snapshot = await inventory.current()
    ranked = rank_meters(
        snapshot,
        rules,
        now=now,
        window=window,
        vehicle_kind=vehicle_kind,
        near=near,
        radius_m=radius_m,
        bbox=bbox,
        max_price_rial=max_price_rial,
        available_only=available_only,
        limit=limit,
    )
    held = await held_bays_of(database).held(database, ranked.meter_ids(), window, now=now)
    return ranked.result(held, available_only=available_only, limit=limit)


_new = object.__new__


@dataclass
class RankedMeters:
    """The candidates of a search, nearest first, before the free bays are counted: their
    positions in the snapshot's search arrays, distances and prices.

    Not frozen: one is made per search and read once, and a frozen dataclass's `__init__`
    (an `object.__setattr__` per field) costs a few percent of a search.
    """

    snapshot: InventorySnapshot
    arrays: _SearchArrays
    window: TimeWindow
    vehicle_kind: VehicleKind
    centre: LonLat
    positions: list[int]
    distances: list[float]
    prices: list[PriceOutcome]

    def meter_ids(self) -> list[MeterId]:
        ids = self.arrays.ids
        return [ids[i] for i in self.positions]

    def result(self, held: set[int], *, available_only: bool, limit: int) -> SearchResult:
        """The answer, given the bays held over any part of the window."""
        arrays = self.arrays
        vehicle_kind = self.vehicle_kind
        _, fitting = arrays.fitting(vehicle_kind)
        shown = arrays.shown(vehicle_kind)
        found: list[MeterAvailability] = []
        for i, distance_m, price in zip(self.positions, self.distances, self.prices, strict=True):
            fields = shown[i] or arrays._shown_as(self.snapshot, i, vehicle_kind)
            # The frozen dataclass's fields set directly: its `__init__` (one
            # `object.__setattr__` per field) cost more than the rest of this loop. The
            # object is equal to `MeterAvailability(**fields)` (there is no __post_init__).
            one = _new(MeterAvailability)
            if isinstance(price, Price):
                priced, refusal, free = price, None, fields["bays_total"]
                if held and not held.isdisjoint(bays := fitting[i]):
                    free = len([bay_id for bay_id in bays if bay_id not in held])
            else:
                priced, refusal, free = None, price, 0
            one.__dict__.update(
                fields,
                distance_m=round(distance_m, 1),
                price=priced,
                refusal=refusal,
                bays_free=free,
            )
            if available_only and free == 0:
                continue
            found.append(one)
            if len(found) == limit:
                break
        return SearchResult(
            window=self.window,
            vehicle_kind=self.vehicle_kind,
            nearest_metro=self.snapshot.nearest_metro(self.centre.lon, self.centre.lat),
            meters=found,
        )


def rank_meters(
    snapshot: InventorySnapshot,
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
) -> RankedMeters:
    """The in-memory part of `search_meters`: the meters that fit the vehicle and the price
    ceiling, nearest first, with more of them than asked when full ones will be left out."""
    centre = near
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        centre = centre or LonLat((min_lon + max_lon) / 2, (min_lat + max_lat) / 2)
    if centre is None:
        raise ValueError("search needs a point or a box")
    arrays = _search_arrays(snapshot)
    fits, _fitting = arrays.fitting(vehicle_kind)
    table = arrays.price_table(rules, vehicle_kind, window, now)

    def priced(group: int) -> PriceOutcome:
        outcome = table[group]
        if outcome is None:
            zone_code, street_class = arrays.groups[group]
            try:
                outcome = window_price(
                    rules, snapshot.zones[zone_code], street_class, vehicle_kind, window, now=now
                )
            except DomainError as error:
                outcome = error
            table[group] = outcome
        return outcome

    def keep(positions: IndexArray) -> BoolArray:
        wanted = fits[positions]
        if max_price_rial is None:
            return wanted
        groups = arrays.group[positions].tolist()
        for i, ok in enumerate(wanted.tolist()):
            if ok:
                price = priced(groups[i])
                wanted[i] = isinstance(price, Price) and price.total_rial <= max_price_rial
        return wanted

    # More candidates than asked for: some may have no free bay for the window.
    want = max(limit * 4 if available_only else limit, limit)
    index = snapshot.meter_index
    if bbox is not None:
        inside = [arrays.position[m] for m in index.within_bbox(*bbox)]
        positions = np.array(inside, dtype=np.intp)
        if len(positions):
            positions = positions[keep(positions)]
        distances = np.array(
            [_distance(arrays.meters[i], centre) for i in positions.tolist()], dtype=np.float64
        )
        ids = np.array([arrays.meters[i].id for i in positions.tolist()], dtype=np.int64)
        order = np.lexsort((ids, distances))[:want]
        positions, distances = positions[order], distances[order]
    else:
        positions, distances = index.nearest_positions(
            centre, want, max_distance_m=radius_m, keep=keep
        )
    group_of = arrays.group_of
    at = positions.tolist()
    prices = [table[group_of[i]] or priced(group_of[i]) for i in at]
    return RankedMeters(
        snapshot, arrays, window, vehicle_kind, centre, at, distances.tolist(), prices
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
