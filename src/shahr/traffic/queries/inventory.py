"""The detector inventory for staff: every detector with its street, and its changes."""

from __future__ import annotations

from dataclasses import dataclass

from shahr.kernel.db import Database
from shahr.traffic.domain.detectors import Detector
from shahr.traffic.domain.inventory import DetectorChange
from shahr.traffic.domain.network import Segment
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import current_registry


@dataclass(frozen=True)
class InventoryLine:
    detector: Detector
    street: str
    lanes: int | None  # its segment's lanes (None: the segment is gone)
    length_m: float | None


async def detector_inventory(database: Database, *, retired: bool = True) -> list[InventoryLine]:
    """Every detector by id, in service first, with its segment's street name."""
    registry = await current_registry(database)  # the segments, cached per version
    async with TrafficUnitOfWork(database) as uow:
        detectors = await uow.detectors.all(retired=retired)
    lines = []
    for detector in detectors:
        index = registry.segment_index.get(detector.segment_id)
        segment: Segment | None = None if index is None else registry.segments[index]
        lines.append(
            InventoryLine(
                detector,
                segment.name if segment else "",
                segment.lanes if segment else None,
                segment.length_m if segment else None,
            )
        )
    return sorted(lines, key=lambda line: (line.detector.retired_at is not None, line.detector.id))


async def detector_changes(
    database: Database, detector_id: str | None = None, *, limit: int = 200
) -> list[DetectorChange]:
    """The latest changes to the inventory (or to one detector), newest first."""
    async with TrafficUnitOfWork(database) as uow:
        return await uow.changes.of(detector_id, limit=limit)
