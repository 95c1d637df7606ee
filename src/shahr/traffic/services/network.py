"""Use cases on the network and the registry: import segments, place detectors, set capacity."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shahr.kernel.clock import Clock, SystemClock
from shahr.kernel.db import Database
from shahr.kernel.geo import AreaIndex
from shahr.traffic.domain.detectors import DetectorSpec, detector_from_spec
from shahr.traffic.domain.errors import (
    InvalidDetectorError,
    InvalidNetworkError,
    SegmentNotFoundError,
)
from shahr.traffic.domain.network import Segment, SegmentSpec, capacity_veh_h, segment_from_spec
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.services.inventory import store_detectors

MAX_CAPACITY_VEH_H = 20_000


@dataclass(frozen=True)
class NetworkImportReport:
    source: str
    segments: int
    with_district: int
    nodes: int


def districts_locator(
    districts: Sequence[tuple[int, Mapping[str, Any]]],
) -> Callable[[Segment], int | None]:
    """Which district (number, GeoJSON polygon) holds a segment's middle."""
    index: AreaIndex[int] = AreaIndex(districts)
    return lambda segment: index.locate(segment.midpoint)


async def import_road_network(
    database: Database,
    *,
    segments: Sequence[SegmentSpec],
    source: str,
    districts: Sequence[tuple[int, Mapping[str, Any]]] = (),
    clock: Clock | None = None,
) -> NetworkImportReport:
    """Add or update segments, all or nothing; `districts` places each in its district.

    A spec's own `district` wins over the polygons. A capacity set by hand survives.
    """
    if not segments:
        raise InvalidNetworkError("The file holds no roads to import.")
    built = [segment_from_spec(spec, source=source) for spec in segments]
    seen: set[str] = set()
    for segment in built:
        if segment.id in seen:
            raise InvalidNetworkError(
                "Segment {segment} appears twice in the network.", segment=segment.id
            )
        seen.add(segment.id)
    if districts:
        locate = districts_locator(districts)
        built = [
            s if s.district is not None else Segment(**{**s.__dict__, "district": locate(s)})
            for s in built
        ]
    now = (clock or SystemClock()).now()
    async with TrafficUnitOfWork(database) as uow:
        await uow.network.save(built, now)
        await uow.network.bump_version(now)
        await uow.commit()
    nodes = {s.from_node for s in built} | {s.to_node for s in built}
    return NetworkImportReport(
        source=source,
        segments=len(built),
        with_district=sum(1 for s in built if s.district is not None),
        nodes=len(nodes),
    )


async def register_detectors(
    database: Database,
    *,
    detectors: Sequence[DetectorSpec],
    clock: Clock | None = None,
    by: str = "system",
) -> int:
    """Add or move detectors and cameras, all or nothing, each change kept; how many were
    registered."""
    ids = [spec.id for spec in detectors]
    if len(set(ids)) != len(ids):
        raise InvalidDetectorError("A detector id appears twice in the list.")
    now = (clock or SystemClock()).now()
    async with TrafficUnitOfWork(database) as uow:
        lanes = await uow.network.lanes_of(sorted({spec.segment_id for spec in detectors}))
        built = [
            detector_from_spec(spec, segment_lanes=lanes.get(spec.segment_id)) for spec in detectors
        ]
        await store_detectors(uow, built, now=now, by=by)
        await uow.network.bump_version(now)
        await uow.commit()
    return len(built)


async def set_segment_capacity(
    database: Database, clock: Clock, *, segment_id: str, capacity_veh_h_override: int | None
) -> Segment:
    """Override a segment's capacity (veh/h), or with None go back to class x lanes."""
    if (
        capacity_veh_h_override is not None
        and not 1 <= capacity_veh_h_override <= MAX_CAPACITY_VEH_H
    ):
        raise InvalidNetworkError(
            "A capacity must be between 1 and {limit} vehicles an hour.", limit=MAX_CAPACITY_VEH_H
        )
    async with TrafficUnitOfWork(database) as uow:
        segment = await uow.network.get(segment_id)
        if segment is None:
            raise SegmentNotFoundError("No road segment has this id.")
        default = capacity_veh_h(segment.road_class, segment.lanes)
        await uow.network.set_capacity(segment_id, capacity_veh_h_override, default)
        await uow.network.bump_version(clock.now())
        await uow.commit()
        updated = await uow.network.get(segment_id)
    assert updated is not None  # noqa: S101  # it was there a moment ago, in this transaction
    return updated
