"""The inventory in memory: zones, meters and bays with spatial indexes, rebuilt on change."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select

from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat, PointIndex
from shahr.kernel.memory import settle_long_lived
from shahr.parking.domain import (
    Bay,
    BayId,
    BayNotFoundError,
    Meter,
    MeterId,
    MeterNotFoundError,
    MetroStation,
    Zone,
)
from shahr.parking.persistence import (
    BayRow,
    InventoryRepository,
    MeterRow,
    MetroStationRow,
)
from shahr.parking.queries.search_arrays import SearchArrays


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

    @functools.cached_property
    def search_arrays(self) -> SearchArrays:
        """The snapshot laid out for search, built at its first search."""
        return SearchArrays.of([self.meters[m] for m in self.meter_index.keys], self.zones)

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
                settle_long_lived()
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
