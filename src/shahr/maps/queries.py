"""The atlas: the place index and the base layer, built from parking's and traffic's read side.

Built once and kept in memory; rebuilt only when the data under it changed (the parking
inventory's revision, the road network's version, the district and station counts), which
is checked at most every `check_every_s` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from shahr.kernel.container import Part
from shahr.kernel.db import Database
from shahr.kernel.web.etag import etag_of
from shahr.maps.domain import (
    DistrictOutline,
    Place,
    PlaceIndex,
    PlaceKind,
    Road,
    Station,
    base_layer,
    street_line,
)
from shahr.parking import queries as parking_queries
from shahr.parking.domain import District, Meter, MetroStation, Zone
from shahr.traffic.domain.network import Segment
from shahr.traffic.queries.registry import current_registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Atlas:
    """One build: the place index and the base layer as the bytes served, with their ETag."""

    places: PlaceIndex
    base_layer: bytes
    base_layer_etag: str
    fingerprint: tuple[int, ...]


def _bbox(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float]:
    lons, lats = zip(*points, strict=True)
    return (min(lons), min(lats), max(lons), max(lats))


def _outline_points(geometry: dict[str, object]) -> list[tuple[float, float]]:
    def walk(value: object) -> Iterable[tuple[float, float]]:
        if (
            isinstance(value, list | tuple)
            and len(value) >= 2
            and isinstance(value[0], int | float)
        ):
            yield (float(value[0]), float(value[1]))
        elif isinstance(value, list | tuple):
            for item in value:
                yield from walk(item)

    return list(walk(geometry.get("coordinates", [])))


def district_places(districts: Sequence[District]) -> list[Place]:
    places = []
    for d in districts:
        points = _outline_points(d.geometry)
        places.append(
            Place(
                PlaceKind.district,
                d.name_fa,
                d.name_en,
                d.centroid_lon,
                d.centroid_lat,
                bbox=_bbox(points) if points else None,
                district=d.number,
            )
        )
    return places


def _streets_of(meters: Iterable[Meter]) -> dict[tuple[str, str], list[Meter]]:
    streets: dict[tuple[str, str], list[Meter]] = defaultdict(list)
    for meter in meters:
        streets[(meter.zone_code, meter.street_fa)].append(meter)
    return streets


def inventory_places(zones: dict[str, Zone], meters: Sequence[Meter]) -> list[Place]:
    """Each parking zone and each street with meters, covering the meters on it."""
    places = []
    by_zone: dict[str, list[Meter]] = defaultdict(list)
    for meter in meters:
        by_zone[meter.zone_code].append(meter)
    for code, zone in zones.items():
        points = [(m.lon, m.lat) for m in by_zone.get(code, [])]
        if points:
            box = _bbox(points)
            centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
            places.append(
                Place(
                    PlaceKind.zone,
                    zone.name_fa,
                    zone.name_en,
                    *centre,
                    bbox=box,
                    district=zone.district,
                )
            )
    for (code, _), on_street in _streets_of(meters).items():
        box = _bbox((m.lon, m.lat) for m in on_street)
        street_zone = zones.get(code)
        places.append(
            Place(
                PlaceKind.street,
                on_street[0].street_fa,
                on_street[0].street_en,
                (box[0] + box[2]) / 2,
                (box[1] + box[3]) / 2,
                bbox=box,
                district=street_zone.district if street_zone else None,
            )
        )
    return places


def metro_places(stations: Iterable[MetroStation]) -> list[Place]:
    return [
        Place(PlaceKind.metro_station, s.name_fa, s.name_en, s.lon, s.lat, metro_lines=s.lines)
        for s in stations
    ]


def road_places(segments: Iterable[Segment]) -> list[Place]:
    """The named roads of the traffic network, one place per name (both directions, all parts)."""
    by_name: dict[str, list[tuple[float, float]]] = defaultdict(list)
    districts: dict[str, int | None] = {}
    for segment in segments:
        if segment.name:
            by_name[segment.name].extend((p.lon, p.lat) for p in segment.geometry)
            districts.setdefault(segment.name, segment.district)
    places = []
    for name, points in by_name.items():
        box = _bbox(points)
        places.append(
            Place(
                PlaceKind.street,
                name,
                name,
                (box[0] + box[2]) / 2,
                (box[1] + box[3]) / 2,
                bbox=box,
                district=districts[name],
            )
        )
    return places


def roads_of(segments: Iterable[Segment], meters: Sequence[Meter]) -> list[Road]:
    """Each road once: a two-way road is two segments on one line, drawn once."""
    roads: dict[frozenset[str], Road] = {}
    for segment in segments:
        key = frozenset((segment.from_node, segment.to_node))
        roads.setdefault(
            key,
            Road(
                segment.name, segment.road_class.value, [(p.lon, p.lat) for p in segment.geometry]
            ),
        )
    streets = [
        Road(on_street[0].street_fa, "street", street_line([(m.lon, m.lat) for m in on_street]))
        for on_street in _streets_of(meters).values()
    ]
    return [*roads.values(), *streets]


def build_atlas(
    fingerprint: tuple[int, ...],
    districts: Sequence[District],
    zones: dict[str, Zone],
    meters: Sequence[Meter],
    stations: Sequence[MetroStation],
    segments: Sequence[Segment],
) -> Atlas:
    """The place index and the simplified base layer, serialised once."""
    places = PlaceIndex(
        [
            *district_places(districts),
            *metro_places(stations),
            *inventory_places(zones, meters),
            *road_places(segments),
        ]
    )
    collection = base_layer(
        [DistrictOutline(d.number, d.name_fa, d.name_en, d.geometry) for d in districts],
        roads_of(segments, meters),
        [Station(s.name_fa, s.name_en, s.lines, s.lon, s.lat) for s in stations],
    )
    body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
    return Atlas(places, body, etag_of(body), fingerprint)


class AtlasCache:
    """The atlas in memory, rebuilt when the data under it changed."""

    def __init__(self, database: Database, *, check_every_s: float = 1.0) -> None:
        self._database = database
        self._inventory = parking_queries.InventoryCache(database, check_every_s=0)
        self._check_every_s = check_every_s
        self._atlas: Atlas | None = None
        self._checked_at = -math.inf
        self._lock = asyncio.Lock()

    async def warm(self) -> None:
        """Build the atlas now, and still check the data at the next request: a process may
        start before its data is loaded. A database not ready yet is left to that request."""
        try:
            await self.current()
        except SQLAlchemyError:
            log.warning("the map atlas could not be built at start; the first request builds it")
        self._checked_at = -math.inf

    async def current(self) -> Atlas:
        atlas = self._atlas
        if atlas is not None and (
            time.monotonic() - self._checked_at < self._check_every_s or self._lock.locked()
        ):
            return atlas
        async with self._lock:
            if (
                self._atlas is not None
                and time.monotonic() - self._checked_at < self._check_every_s
            ):
                return self._atlas
            inventory = await self._inventory.current()
            registry = await current_registry(self._database)
            district_count = await parking_queries.district_count(self._database)
            fingerprint = (
                inventory.revision,
                len(inventory.metro_stations),
                district_count,
                registry.version,
            )
            self._checked_at = time.monotonic()
            if self._atlas is None or self._atlas.fingerprint != fingerprint:
                districts = await parking_queries.districts(self._database)
                self._atlas = build_atlas(
                    fingerprint,
                    districts,
                    inventory.zones,
                    list(inventory.meters.values()),
                    inventory.metro_stations,
                    registry.segments,
                )
            return self._atlas


ATLAS: Part[AtlasCache] = Part("maps.atlas")
