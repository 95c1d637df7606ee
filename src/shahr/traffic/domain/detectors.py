"""Detectors and cameras, their health, and the fault checks that judge it (IRIS's spirit).

IRIS (MnDOT) marks a detector failed when its samples cannot be real: more vehicles than a
lane can carry ("chatter"), occupancy stuck at 100 % ("locked on"), no vehicles for hours
("no hits"), or flow jumping back and forth. A failed detector's readings are kept but not
used; its segment is filled from the other lanes, or estimated from its neighbours.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    clock_skew = "clock_skew"  # a plate camera whose times disagree with its pair's


# The thresholds, per lane. A lane carries at most ~2,400 veh/h even at saturation.
MAX_LANE_FLOW_VEH_H = 3000.0
STUCK_OCCUPANCY_PCT = 99.0
# Stuck this long while the neighbours contradict it (other lanes or the roads either side
# moving): a fault.
STUCK_FOR_S = 5 * 60
# Stuck this long whatever the neighbours say: longer than any standing queue holds one
# vehicle over a loop without a gap. A signal's queue moves every cycle (2-3 min), a jam
# behind a lane-blocking crash clears within about 45 min (FHWA's typical clearance time),
# and SUMO's twin teleports a vehicle after 5 min of standing.
MAX_QUEUE_S = 45 * 60
# A loop counting nothing yet occupied this much sits under a stopped vehicle: a queue or a
# lock-on, judged like a stuck one.
QUEUED_OCCUPANCY_PCT = 50.0
NO_VEHICLES_FOR_S = 4 * 3600
JUMP_VEH_H = 1800.0  # a lane's flow changing this much from one interval to the next
JUMPS_PER_HOUR = 6
SILENT_AFTER_S = 10 * 60
# A neighbour moves when it counts at least this (per lane) at half its free-flow speed or
# more (or, with no speed, at an occupancy no queue has); it is jammed below a third of it,
# or counting nothing at a queue's occupancy.
MOVING_MIN_FLOW_VEH_H = 240.0
MOVING_SPEED_SHARE = 0.5
MOVING_MAX_OCCUPANCY_PCT = 30.0
JAMMED_SPEED_SHARE = 0.3


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
    retired_at: datetime | None = None  # out of service since: ingest refuses its readings

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
    speed_kmh: float | None = None  # space-mean, where the detector measures speed

    @property
    def flow_veh_h(self) -> float:
        return self.count * 3600.0 / self.period_s if self.period_s > 0 else 0.0


@dataclass(frozen=True)
class NeighbourSamples:
    """A neighbouring detector's recent samples, and the free-flow speed of its segment."""

    samples: Sequence[IntervalSample]
    free_flow_kmh: float
    lanes_covered: int = 1


@dataclass(frozen=True)
class Neighbours:
    """What a loop's neighbours saw: the other lanes of its segment, the roads either side."""

    lanes: Sequence[NeighbourSamples] = ()
    upstream: Sequence[NeighbourSamples] = ()
    downstream: Sequence[NeighbourSamples] = ()


class Movement(StrEnum):
    moving = "moving"
    jammed = "jammed"
    between = "between"


def movement(neighbour: NeighbourSamples, *, since: datetime) -> Movement | None:
    """How a neighbour's traffic moved since `since` (None: it reported nothing)."""
    recent = [s for s in neighbour.samples if s.interval_start >= since and s.period_s > 0]
    if not recent:
        return None
    lanes = max(neighbour.lanes_covered, 1)
    period = sum(s.period_s for s in recent)
    flow = sum(s.count for s in recent) * 3600.0 / period / lanes
    occupancy = sum(s.occupancy_pct * s.period_s for s in recent) / period
    counted = [s for s in recent if s.speed_kmh is not None and s.count > 0]
    speed = (
        sum(s.count for s in counted) / sum(s.count / max(s.speed_kmh or 0.1, 0.1) for s in counted)
        if counted
        else None
    )
    share = None if speed is None else speed / neighbour.free_flow_kmh
    if flow <= 0:
        return Movement.jammed if occupancy >= QUEUED_OCCUPANCY_PCT else Movement.between
    if share is not None and share < JAMMED_SPEED_SHARE:
        return Movement.jammed
    if flow >= MOVING_MIN_FLOW_VEH_H and (
        share >= MOVING_SPEED_SHARE if share is not None else occupancy < MOVING_MAX_OCCUPANCY_PCT
    ):
        return Movement.moving
    return Movement.between


def contradicted(neighbours: Neighbours, *, since: datetime) -> bool:
    """Whether the neighbours show traffic moving where this loop says it stands.

    Most of the other lanes moving contradicts it (one lane cannot hold a queue for minutes
    while the lanes beside it flow); so do the roads either side both moving, unless one of
    the roads it feeds is jammed (a spill-back queue reaching back over the loop).
    """
    lanes = [movement(n, since=since) for n in neighbours.lanes]
    seen = [m for m in lanes if m is not None]
    moving = sum(1 for m in seen if m is Movement.moving)
    if seen and moving * 2 >= len(seen) and moving > 0:
        return True
    down = [m for m in (movement(n, since=since) for n in neighbours.downstream) if m]
    up = [m for m in (movement(n, since=since) for n in neighbours.upstream) if m]
    if not down or not up or Movement.jammed in down:
        return False
    return all(m is Movement.moving for m in down) and any(m is Movement.moving for m in up)


def _run_s(samples: Sequence[IntervalSample], holds: Callable[[IntervalSample], bool]) -> float:
    """How long the latest samples, back from the newest, all satisfy `holds`."""
    run = 0.0
    for sample in reversed(samples):
        if not holds(sample):
            break
        run += sample.period_s
    return run


def _standing(
    samples: Sequence[IntervalSample], neighbours: Neighbours, now: datetime
) -> Fault | None:
    """A loop that says a vehicle stands over it: a fault only if contradicted or too long."""
    stuck_s = _run_s(samples, lambda s: s.occupancy_pct >= STUCK_OCCUPANCY_PCT)
    queued_s = _run_s(samples, lambda s: s.count == 0 and s.occupancy_pct >= QUEUED_OCCUPANCY_PCT)
    since = now - timedelta(seconds=STUCK_FOR_S)
    for run_s, fault in ((stuck_s, Fault.occupancy_stuck), (queued_s, Fault.no_vehicles)):
        if run_s >= MAX_QUEUE_S:
            return fault
        if run_s >= STUCK_FOR_S and contradicted(neighbours, since=since):
            return fault
    return None


def diagnose(
    samples: Sequence[IntervalSample],
    *,
    now: datetime,
    lanes_covered: int = 1,
    neighbours: Neighbours | None = None,
) -> Fault | None:
    """The first fault the recent samples show (oldest first), or None if they look real.

    `lanes_covered` is 1 for a lane detector, the road's lanes for a whole-road camera. A
    loop standing at full occupancy (or counting nothing at a queue's occupancy) is a
    fault only when its `neighbours` contradict it or it outlasts any queue: a standing
    queue over a loop is data.
    """
    if not samples:
        return None
    lanes = max(lanes_covered, 1)
    latest = samples[-1]
    if latest.flow_veh_h / lanes > MAX_LANE_FLOW_VEH_H:
        return Fault.too_many_vehicles
    standing = _standing(samples, neighbours or Neighbours(), now)
    if standing is not None:
        return standing
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
