"""The field inventory's use cases: load a detector file, add, move and retire a detector.

Every change is kept (`traffic_detector_change`) and moves the registry's version, so
ingest's cached registry reloads: a retired detector's readings are refused from the next
batch on, counted as an unknown detector's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat
from shahr.traffic.domain.detectors import Detector, DetectorSpec, detector_from_spec
from shahr.traffic.domain.errors import DetectorNotFoundError, InvalidDetectorError
from shahr.traffic.domain.inventory import (
    MAX_ROWS,
    ChangeKind,
    DetectorChange,
    DetectorEntry,
    InventoryFileError,
    Placing,
    RowProblem,
    change_of,
    check_position,
    detector_entry,
    problem_from,
)
from shahr.traffic.domain.network import Segment
from shahr.traffic.domain.placement import DEFAULT_SNAP_M, SegmentPlacer
from shahr.traffic.persistence import TrafficUnitOfWork

# Which form field an error of `detector_from_spec` is about, by the field it names.
_FIELD_OF_PARAM = {"lane": "lane", "kind": "kind", "segment": "segment_id", "limit": "id"}


@dataclass(frozen=True)
class DetectorImportReport:
    source: str
    rows: int
    counts: dict[ChangeKind, int] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        return self.rows - sum(self.counts.values())


class _Network:
    """The segments, and a placer built only when a row gives a position."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = {s.id: s for s in segments}
        self._all = segments
        self._placer: SegmentPlacer | None = None

    @property
    def placer(self) -> SegmentPlacer:
        if self._placer is None:
            self._placer = SegmentPlacer(self._all)
        return self._placer


def _place(entry: DetectorEntry, network: _Network, max_snap_m: float) -> Detector:
    """The detector a row describes, placed on its segment; a DomainError names the fault."""
    segment_id, position_m = entry.segment_id, entry.position_m
    if segment_id is None:
        try:
            snap = network.placer.snap(
                LonLat(entry.lon or 0.0, entry.lat or 0.0),  # both given: checked on reading
                bearing_deg=entry.bearing_deg,
                max_distance_m=max_snap_m,
                name=entry.id,
            )
        except DomainError as error:
            error.field = "lon"
            raise
        segment_id = snap.segment_id
        position_m = snap.position_m if position_m is None else position_m
    segment = network.segments.get(segment_id)  # type: ignore[call-overload]  # a str id
    spec = DetectorSpec(
        id=entry.id, segment_id=segment_id, kind=entry.kind, lane=entry.lane, position_m=position_m
    )
    try:
        detector = detector_from_spec(spec, segment_lanes=segment.lanes if segment else None)
    except DomainError as error:
        error.field = next((f for p, f in _FIELD_OF_PARAM.items() if p in error.params), None)
        raise
    assert segment is not None  # noqa: S101  # detector_from_spec refuses an unknown segment
    try:
        check_position(entry.id, position_m, segment.length_m)
    except DomainError as error:
        error.field = "position_m"
        raise
    return detector


def _changes(
    built: Sequence[Detector], stored: dict[str, Detector], *, now: datetime, by: str
) -> list[DetectorChange]:
    changes = []
    for detector in built:
        before = stored.get(detector.id)
        change = change_of(before, before is not None and before.retired_at is not None, detector)
        if change is not None:
            changes.append(
                DetectorChange(
                    detector_id=detector.id,
                    change=change,
                    changed_at=now,
                    changed_by=by,
                    before=Placing.of(before) if before else None,
                    after=Placing.of(detector),
                )
            )
    return changes


async def store_detectors(
    uow: TrafficUnitOfWork, built: Sequence[Detector], *, now: datetime, by: str
) -> list[DetectorChange]:
    """Save the detectors that are new or differ, with their changes; the others untouched."""
    stored = await uow.detectors.of([d.id for d in built])
    changes = _changes(built, stored, now=now, by=by)
    changed = {c.detector_id for c in changes}
    await uow.detectors.save([d for d in built if d.id in changed])
    await uow.changes.add(changes)
    if changes:
        await uow.network.bump_version(now)
    return changes


async def import_detectors(
    database: Database,
    clock: Clock,
    *,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    source: str,
    by: str,
    max_snap_m: float = DEFAULT_SNAP_M,
) -> DetectorImportReport:
    """Load a detector file's rows (row number, fields), all or none: any bad row refuses
    the file with every bad row named."""
    if not rows:
        raise InvalidDetectorError("The file holds no detectors to import.")
    if len(rows) > MAX_ROWS:
        raise InvalidDetectorError("A file may hold at most {limit} rows.", limit=MAX_ROWS)
    found: list[RowProblem] = []
    entries: list[DetectorEntry] = []
    for number, fields in rows:
        try:
            entries.append(detector_entry(number, fields))
        except DomainError as error:
            found.append(problem_from(number, error))
    now = clock.now()
    async with TrafficUnitOfWork(database) as uow:
        network = _Network(await uow.network.all())
        built: list[Detector] = []
        seen: dict[str, int] = {}
        for entry in entries:
            if entry.id in seen:
                found.append(
                    RowProblem(
                        entry.row,
                        "Detector {detector} is already on row {row}.",
                        {"detector": entry.id, "row": seen[entry.id]},
                    )
                )
                continue
            seen[entry.id] = entry.row
            try:
                built.append(_place(entry, network, max_snap_m))
            except DomainError as error:
                found.append(problem_from(entry.row, error))
        if found:
            raise InventoryFileError(source, sorted(found, key=lambda p: p.row))
        changes = await store_detectors(uow, built, now=now, by=by)
        await uow.commit()
    counts: dict[ChangeKind, int] = {}
    for change in changes:
        counts[change.change] = counts.get(change.change, 0) + 1
    return DetectorImportReport(source=source, rows=len(built), counts=counts)


async def place_detector(
    database: Database, clock: Clock, *, entry: DetectorEntry, by: str, adding: bool
) -> DetectorChange | None:
    """Add a detector (`adding`) or move one in service; errors name the form's field."""
    now = clock.now()
    async with TrafficUnitOfWork(database) as uow:
        stored = await uow.detectors.of([entry.id])
        before = stored.get(entry.id)
        if adding and before is not None and before.retired_at is None:
            raise InvalidDetectorError(
                "Detector {detector} is already registered: move it instead.",
                field="id",
                detector=entry.id,
            )
        if not adding and (before is None or before.retired_at is not None):
            raise DetectorNotFoundError("No detector in service has this id.")
        network = _Network(await uow.network.all())
        detector = _place(entry, network, DEFAULT_SNAP_M)
        changes = await store_detectors(uow, [detector], now=now, by=by)
        await uow.commit()
    return changes[0] if changes else None


async def retire_detector(
    database: Database, clock: Clock, *, detector_id: str, by: str
) -> DetectorChange:
    """Take a detector out of service: kept with its history, its readings refused."""
    now = clock.now()
    async with TrafficUnitOfWork(database) as uow:
        before = (await uow.detectors.of([detector_id])).get(detector_id)
        if before is None or before.retired_at is not None:
            raise DetectorNotFoundError("No detector in service has this id.")
        change = DetectorChange(
            detector_id=detector_id,
            change=ChangeKind.retired,
            changed_at=now,
            changed_by=by,
            before=Placing.of(before),
            after=None,
        )
        await uow.detectors.retire(detector_id, now)
        await uow.changes.add([change])
        await uow.network.bump_version(now)
        await uow.commit()
    return change
