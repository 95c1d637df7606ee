"""Detectors and cameras, their health, and the fault checks that judge it (IRIS's spirit).

IRIS (MnDOT) marks a detector failed when its samples cannot be real: more vehicles than a
lane can carry ("chatter"), occupancy stuck at 100 % ("locked on"), no vehicles for hours
("no hits"), or flow jumping back and forth. A failed detector's readings are kept but not
used; its segment is filled from the other lanes, or estimated from its neighbours.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

from shahr.traffic.domain.errors import InvalidDetectorError
from shahr.traffic.domain.network import MAX_ID_LENGTH, MAX_LANES, SegmentId

DetectorId = NewType("DetectorId", str)


class DetectorKind(StrEnum):
    loop = "loop"  # an inductive loop in one lane: count, occupancy, often speed
    counting_camera = "counting_camera"  # a camera counting one lane or the whole road
    plate_camera = "plate_camera"  # a plate reader: passages with time, for journey times


class DetectorHealth(StrEnum):
    ok = "ok"
    failed = "failed"  # a fault check failed: readings are kept, not used
    silent = "silent"  # nothing received for a while


class Fault(StrEnum):
    too_many_vehicles = "too_many_vehicles"
    occupancy_stuck = "occupancy_stuck"
    no_vehicles = "no_vehicles"
    sudden_jumps = "sudden_jumps"
    silent = "silent"


# The thresholds, per lane. A lane carries at most ~2,400 veh/h even at saturation.
MAX_LANE_FLOW_VEH_H = 3000.0
STUCK_OCCUPANCY_PCT = 99.0
STUCK_FOR_S = 5 * 60
NO_VEHICLES_FOR_S = 4 * 3600
JUMP_VEH_H = 1800.0  # a lane's flow changing this much from one interval to the next
JUMPS_PER_HOUR = 6
SILENT_AFTER_S = 10 * 60


@dataclass(frozen=True)
class DetectorSpec:
    """A detector or camera to register, placed on a segment (and a lane, 1 = kerb side)."""

    id: str
    segment_id: str
    kind: DetectorKind | str = DetectorKind.loop
    lane: int | None = None
    position_m: float | None = None  # from the segment's start; None means its middle


@dataclass(frozen=True)
class Detector:
    id: DetectorId
    segment_id: SegmentId
    kind: DetectorKind
    lane: int | None
    position_m: float | None
    health: DetectorHealth = DetectorHealth.ok
    fault: Fault | None = None
    health_since: datetime | None = None
    last_seen_at: datetime | None = None

    @property
    def counts(self) -> bool:
        """Whether its readings count vehicles (plate cameras only report passages)."""
        return self.kind is not DetectorKind.plate_camera


def detector_from_spec(spec: DetectorSpec, *, segment_lanes: int | None) -> Detector:
    """Check a spec against the segment it names (None: no such segment)."""
    if (
        not spec.id
        or len(spec.id) > MAX_ID_LENGTH
        or not spec.id.replace("-", "").replace("_", "").isalnum()
        or not spec.id.isascii()
    ):
        raise InvalidDetectorError(
            "A detector id must be 1 to {limit} letters, digits, - or _.", limit=MAX_ID_LENGTH
        )
    try:
        kind = DetectorKind(spec.kind)
    except ValueError:
        raise InvalidDetectorError(
            "Detector {detector} has an unknown kind «{kind}».",
            detector=spec.id,
            kind=str(spec.kind),
        ) from None
    if segment_lanes is None:
        raise InvalidDetectorError(
            "Detector {detector} names segment {segment}, which is not in the network.",
            detector=spec.id,
            segment=spec.segment_id,
        )
    if spec.lane is not None and not 1 <= spec.lane <= min(segment_lanes, MAX_LANES):
        raise InvalidDetectorError(
            "Detector {detector} names lane {lane}; its segment has {lanes} lanes.",
            detector=spec.id,
            lane=spec.lane,
            lanes=segment_lanes,
        )
    return Detector(
        id=DetectorId(spec.id),
        segment_id=SegmentId(spec.segment_id),
        kind=kind,
        lane=spec.lane,
        position_m=spec.position_m,
    )


@dataclass(frozen=True)
class IntervalSample:
    """One detector's totals over one interval, what the fault checks look at."""

    interval_start: datetime
    count: int
    period_s: float
    occupancy_pct: float

    @property
    def flow_veh_h(self) -> float:
        return self.count * 3600.0 / self.period_s if self.period_s > 0 else 0.0


def diagnose(
    samples: Sequence[IntervalSample], *, now: datetime, lanes_covered: int = 1
) -> Fault | None:
    """The first fault the recent samples show (oldest first), or None if they look real.

    `lanes_covered` is 1 for a lane detector, the road's lanes for a whole-road camera.
    """
    if not samples:
        return None
    lanes = max(lanes_covered, 1)
    latest = samples[-1]
    if latest.flow_veh_h / lanes > MAX_LANE_FLOW_VEH_H:
        return Fault.too_many_vehicles
    stuck_s = 0.0
    for sample in reversed(samples):
        if sample.occupancy_pct < STUCK_OCCUPANCY_PCT:
            break
        stuck_s += sample.period_s
    if stuck_s >= STUCK_FOR_S:
        return Fault.occupancy_stuck
    zero_since = None
    for sample in reversed(samples):
        if sample.count > 0:
            break
        zero_since = sample.interval_start
    if zero_since is not None and (now - zero_since).total_seconds() >= NO_VEHICLES_FOR_S:
        return Fault.no_vehicles
    hour_ago = now.timestamp() - 3600
    recent = [s for s in samples if s.interval_start.timestamp() >= hour_ago]
    jumps = sum(
        1
        for a, b in itertools.pairwise(recent)
        if abs(b.flow_veh_h - a.flow_veh_h) / lanes > JUMP_VEH_H
    )
    if jumps >= JUMPS_PER_HOUR:
        return Fault.sudden_jumps
    return None
