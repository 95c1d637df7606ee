"""The field inventory: detector files checked row by row, and the history of each device.

A city's file is refused whole when any row is wrong, with every wrong row named, so a
half-loaded inventory never reaches ingest. Each add, move, change and retirement is kept
with who made it and what the device was before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shahr.kernel.errors import DomainError
from shahr.traffic.domain.detectors import Detector, DetectorKind
from shahr.traffic.domain.errors import InvalidDetectorError

# The most rows one file may hold: Tehran has a few thousand loops and cameras.
MAX_ROWS = 50_000


class ChangeKind(StrEnum):
    added = "added"
    moved = "moved"  # another segment, lane or position
    changed = "changed"  # another kind
    retired = "retired"  # taken out of service: its readings are refused from then on
    restored = "restored"  # a retired device put back in service


@dataclass(frozen=True)
class Placing:
    """What a change records of a detector, before and after."""

    segment_id: str
    lane: int | None
    position_m: float | None
    kind: DetectorKind

    @classmethod
    def of(cls, detector: Detector) -> Placing:
        return cls(detector.segment_id, detector.lane, detector.position_m, detector.kind)


@dataclass(frozen=True)
class DetectorChange:
    detector_id: str
    change: ChangeKind
    changed_at: datetime
    changed_by: str  # the staff member's id, or what loaded it ("import:<file>")
    before: Placing | None
    after: Placing | None


def change_of(before: Detector | None, retired: bool, after: Detector) -> ChangeKind | None:
    """What registering `after` does to a detector that was `before` (None: nothing)."""
    if before is None:
        return ChangeKind.added
    if retired:
        return ChangeKind.restored
    old, new = Placing.of(before), Placing.of(after)
    if (old.segment_id, old.lane, old.position_m) != (new.segment_id, new.lane, new.position_m):
        return ChangeKind.moved
    if old.kind is not new.kind:
        return ChangeKind.changed
    return None


@dataclass(frozen=True)
class RowProblem:
    """A row of a file that cannot be loaded: its number and why (an msgid and fields)."""

    row: int
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


class InventoryFileError(InvalidDetectorError):
    """A detector or camera file refused whole; `problems` names every bad row."""

    def __init__(self, source: str, problems: Sequence[RowProblem]) -> None:
        super().__init__(
            "{source}: {count} rows cannot be loaded, so nothing was stored.",
            source=source,
            count=len(problems),
        )
        self.problems = tuple(problems)


def problem_from(row: int, error: DomainError) -> RowProblem:
    return RowProblem(row, error.message, dict(error.params))


@dataclass(frozen=True)
class DetectorEntry:
    """One row of a detector file, read but not yet placed on the network."""

    row: int
    id: str
    kind: str
    segment_id: str | None
    lon: float | None
    lat: float | None
    bearing_deg: float | None
    lane: int | None
    position_m: float | None


def _number(fields: Mapping[str, Any], name: str) -> float | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidDetectorError(
            "The {column} column holds «{value}», not a number.",
            field=name,
            column=name,
            value=str(value)[:40],
        )
    return number


def _whole(fields: Mapping[str, Any], name: str) -> int | None:
    number = _number(fields, name)
    if number is None:
        return None
    if number != int(number):
        raise InvalidDetectorError(
            "The {column} column must be a whole number.", field=name, column=name
        )
    return int(number)


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return "" if value is None else str(value).strip()


def detector_entry(row: int, fields: Mapping[str, Any]) -> DetectorEntry:
    """A row's values, typed; refuses a row that names neither a segment nor a position."""
    lon, lat = _number(fields, "lon"), _number(fields, "lat")
    bearing = _number(fields, "bearing_deg")
    segment_id = _text(fields, "segment_id") or None
    detector_id = _text(fields, "id")
    if segment_id is None and (lon is None or lat is None):
        raise InvalidDetectorError(
            "Detector {detector} needs a segment_id, or a lon and lat to place it.",
            field="segment_id",
            detector=detector_id,
        )
    if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidDetectorError(
            "Detector {detector} has a position off the map.", field="lon", detector=detector_id
        )
    if bearing is not None and not 0 <= bearing < 360:
        raise InvalidDetectorError(
            "Detector {detector}: a bearing is in degrees from north, 0 to 359.",
            field="bearing_deg",
            detector=detector_id,
        )
    return DetectorEntry(
        row=row,
        id=detector_id,
        kind=_text(fields, "kind") or DetectorKind.loop.value,
        segment_id=segment_id,
        lon=lon,
        lat=lat,
        bearing_deg=bearing,
        lane=_whole(fields, "lane"),
        position_m=_number(fields, "position_m"),
    )


def check_position(detector_id: str, position_m: float | None, length_m: float) -> None:
    """A position along the segment must lie on it (0 = its start)."""
    if position_m is not None and not 0 <= position_m <= length_m + 0.5:
        raise InvalidDetectorError(
            "Detector {detector} is placed {position} m along a segment {length} m long.",
            detector=detector_id,
            position=round(position_m, 1),
            length=round(length_m, 1),
        )


class InventoryFormatError(DomainError):
    """A detector or camera file that cannot be read at all (not its rows)."""
