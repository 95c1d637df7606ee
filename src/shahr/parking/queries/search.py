"""Search: the meters near a point or inside a map view, nearest first, with their free bays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import BoolArray, FloatArray, IndexArray, LonLat, PointIndex, haversine_m
from shahr.parking.domain import (
    Meter,
    MeterId,
    ParkingRules,
    Price,
    TimeWindow,
    VehicleKind,
    Zone,
)
from shahr.parking.queries.availability import window_price
from shahr.parking.queries.holds import holds_copy_of
from shahr.parking.queries.inventory import InventoryCache, InventorySnapshot, MetroNearby
from shahr.parking.queries.search_arrays import PriceOutcome, SearchArrays

Box = tuple[float, float, float, float]


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
    bbox: Box | None = None,
    max_price_rial: int | None = None,
    available_only: bool = False,
    limit: int = 20,
) -> SearchResult:
    """Meters near a point or inside a box, nearest first, with free fitting bays for the window.

    Meters with no bay for the vehicle, or dearer than `max_price_rial`, are left out;
    `available_only` leaves out those with no free bay too. The free bays come from a copy
    of the holds kept for about a second (`holds.HoldsCopy`): a count to choose by, never a
    guarantee; the database refuses a double booking whatever search showed (decision 0011).
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
    held = await holds_copy_of(database).held(database, ranked.meter_ids(), window, now=now)
    return ranked.result(held, available_only=available_only, limit=limit)


def _availability_set_directly(
    fields: dict[str, object],
    distance_m: float,
    price: Price | None,
    refusal: DomainError | None,
    bays_free: object,
) -> MeterAvailability:
    """`MeterAvailability(**fields)` with the search's own values, its fields set without
    the frozen dataclass's `__init__` (decision 0022); the same object, as the class has no
    `__post_init__`."""
    one = object.__new__(MeterAvailability)
    one.__dict__.update(
        fields, distance_m=distance_m, price=price, refusal=refusal, bays_free=bays_free
    )
    return one


@dataclass
class RankedMeters:
    """The candidates of a search, nearest first, before the free bays are counted: their
    positions in the snapshot's search arrays, distances and prices.

    Not frozen: one is made per search and read once (decision 0022).
    """

    snapshot: InventorySnapshot
    arrays: SearchArrays
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
            fields = shown[i] or arrays.shown_as(self.snapshot.metro_of, i, vehicle_kind)
            if isinstance(price, Price):
                priced, refusal, free = price, None, fields["bays_total"]
                if held and not held.isdisjoint(bays := fitting[i]):
                    free = len([bay_id for bay_id in bays if bay_id not in held])
            else:
                priced, refusal, free = None, price, 0
            one = _availability_set_directly(fields, round(distance_m, 1), priced, refusal, free)
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


class _Sieve:
    """Which candidates a search keeps (a bay for the vehicle, under the price ceiling),
    and the window's price per meter, each (zone, street class) priced once."""

    def __init__(
        self,
        snapshot: InventorySnapshot,
        rules: ParkingRules,
        *,
        now: datetime,
        window: TimeWindow,
        vehicle_kind: VehicleKind,
        max_price_rial: int | None,
    ) -> None:
        self.snapshot, self.rules, self.now, self.window = snapshot, rules, now, window
        self.vehicle_kind, self.max_price_rial = vehicle_kind, max_price_rial
        self.arrays = arrays = snapshot.search_arrays
        self.fits = arrays.fitting(vehicle_kind)[0]
        self.table = arrays.price_table(rules, vehicle_kind, window, now)

    def priced(self, group: int) -> PriceOutcome:
        outcome = self.table[group]
        if outcome is None:
            zone_code, street_class = self.arrays.groups[group]
            zone = self.snapshot.zones[zone_code]
            try:
                outcome = window_price(
                    self.rules, zone, street_class, self.vehicle_kind, self.window, now=self.now
                )
            except DomainError as error:
                outcome = error
            self.table[group] = outcome
        return outcome

    def keep(self, positions: IndexArray) -> BoolArray:
        wanted = self.fits[positions]
        ceiling = self.max_price_rial
        if ceiling is None:
            return wanted
        groups = self.arrays.group[positions].tolist()
        for i, ok in enumerate(wanted.tolist()):
            if ok:
                price = self.priced(groups[i])
                wanted[i] = isinstance(price, Price) and price.total_rial <= ceiling
        return wanted


def rank_meters(
    snapshot: InventorySnapshot,
    rules: ParkingRules,
    *,
    now: datetime,
    window: TimeWindow,
    vehicle_kind: VehicleKind,
    near: LonLat | None = None,
    radius_m: float = 1_000.0,
    bbox: Box | None = None,
    max_price_rial: int | None = None,
    available_only: bool = False,
    limit: int = 20,
) -> RankedMeters:
    """The in-memory part of `search_meters`: the meters that fit the vehicle and the price
    ceiling, nearest first, with more of them than asked when full ones will be left out."""
    centre = _centre(near, bbox)
    sieve = _Sieve(
        snapshot,
        rules,
        now=now,
        window=window,
        vehicle_kind=vehicle_kind,
        max_price_rial=max_price_rial,
    )
    arrays = sieve.arrays
    # More candidates than asked for: some may have no free bay for the window.
    want = limit * 4 if available_only else limit
    if bbox is not None:
        positions, distances = _inside(snapshot.meter_index, arrays, bbox, centre, sieve, want)
    else:
        positions, distances = snapshot.meter_index.nearest_positions(
            centre, want, max_distance_m=radius_m, keep=sieve.keep
        )
    group_of, table = arrays.group_of, sieve.table
    at = positions.tolist()
    prices = [table[group_of[i]] or sieve.priced(group_of[i]) for i in at]
    return RankedMeters(
        snapshot, arrays, window, vehicle_kind, centre, at, distances.tolist(), prices
    )


def _centre(near: LonLat | None, bbox: Box | None) -> LonLat:
    """Where distances are measured from: the point searched, else the box's middle."""
    if near is not None:
        return near
    if bbox is None:
        raise ValueError("search needs a point or a box")
    min_lon, min_lat, max_lon, max_lat = bbox
    return LonLat((min_lon + max_lon) / 2, (min_lat + max_lat) / 2)


def _inside(
    index: PointIndex[MeterId],
    arrays: SearchArrays,
    bbox: Box,
    centre: LonLat,
    sieve: _Sieve,
    want: int,
) -> tuple[IndexArray, FloatArray]:
    """The kept meters inside the box, nearest the centre first (ties by id), at most `want`."""
    positions = np.array([arrays.position[m] for m in index.within_bbox(*bbox)], dtype=np.intp)
    if len(positions):
        positions = positions[sieve.keep(positions)]
    meters = [arrays.meters[i] for i in positions.tolist()]
    distances = np.array(
        [haversine_m(LonLat(m.lon, m.lat), centre) for m in meters], dtype=np.float64
    )
    ids = np.array([m.id for m in meters], dtype=np.int64)
    order = np.lexsort((ids, distances))[:want]
    return positions[order], distances[order]
