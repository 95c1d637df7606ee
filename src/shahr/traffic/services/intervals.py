"""Closing intervals: estimates for unmonitored segments, detector health, the batched event.

Runs as a job every interval in every worker; it is safe to run twice or in two places
(estimates never overwrite measurements, health is set from the same data, and the
event carries an id derived from the interval, so JetStream drops a repeat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.message_ids import message_id
from shahr.traffic.domain.detectors import (
    SILENT_AFTER_S,
    Detector,
    DetectorHealth,
    Fault,
    IntervalSample,
    Neighbours,
    NeighbourSamples,
    diagnose,
)
from shahr.traffic.domain.journeys import clock_skewed
from shahr.traffic.domain.state import INTERVAL_S, LOS_LETTERS, interval_index
from shahr.traffic.events import DetectorHealthChanged, SegmentStatesUpdated
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import Registry, current_registry
from shahr.traffic.queries.state import state_snapshot
from shahr.traffic.services.journey_fusion import SKEW_WINDOW, chains_of, fuse_journeys

JOB = "finalise"
# An interval is closed once readings for it can no longer arrive on time: the longest
# usual period (60 s) after its end.
CLOSE_AFTER = timedelta(seconds=2 * INTERVAL_S)
MAX_INTERVALS_PER_RUN = 30
HEALTH_LOOKBACK = timedelta(hours=4, minutes=5)


class Publisher(Protocol):
    async def publish(self, event: object) -> None: ...


@dataclass
class FinaliseReport:
    intervals: list[datetime] = field(default_factory=list)
    estimated: int = 0
    health_changes: list[tuple[str, str]] = field(default_factory=list)


async def finalise_intervals(
    database: Database, clock: Clock, *, bus: Publisher | None = None
) -> FinaliseReport:
    """Persist estimates for each closed interval since the last run; judge detector health."""
    now = clock.now()
    report = FinaliseReport()
    last_closed = _floor(now - CLOSE_AFTER)
    async with TrafficUnitOfWork(database) as uow:
        done = await uow.history.mark(JOB)
        latest_measured = await uow.states.latest_interval(at_or_before=last_closed)
    if latest_measured is None:
        report.health_changes = await judge_health(database, clock, bus=bus)
        return report
    start = done + timedelta(seconds=INTERVAL_S) if done else latest_measured
    start = max(start, last_closed - timedelta(seconds=INTERVAL_S * (MAX_INTERVALS_PER_RUN - 1)))
    interval = start
    while interval <= last_closed:
        snapshot = await state_snapshot(database, at=interval)
        measured = any(not v.estimated for v in snapshot.states)
        # Without a single measurement (the feed was down) an estimate is a guess: skip it.
        rows = [_estimate_row(v, now) for v in snapshot.states if v.estimated and measured]
        async with TrafficUnitOfWork(database) as uow:
            await uow.states.save_estimates(rows)
            # Late readings may have replaced fused states since their journeys came.
            fusion = await fuse_journeys(uow, snapshot.registry, [interval_index(interval)], now)
            await uow.history.set_mark(JOB, interval)
            if rows or fusion.fused:
                await uow.states.touch(now)  # last: see StateRepository.touch
            await uow.commit()
        if measured:
            report.intervals.append(interval)
        report.estimated += len(rows)
        if bus is not None and measured:
            await bus.publish(_event(snapshot.states, interval))
        interval += timedelta(seconds=INTERVAL_S)
    report.health_changes = await judge_health(database, clock, bus=bus)
    return report


async def _camera_changes(
    database: Database, registry: Registry, detectors: Sequence[Detector], now: datetime
) -> list[tuple[str, str, Fault | None]]:
    """Plate cameras in a pair whose clocks disagree (impossible journey times) are failed
    with `clock_skew`, and back to ok once their recent journeys are possible again."""
    async with TrafficUnitOfWork(database) as uow:
        journeys = await uow.readings.journeys_between(now - SKEW_WINDOW, now)
    by_pair: dict[tuple[str, str], list[float]] = {}
    for journey in journeys:
        by_pair.setdefault((journey.from_camera, journey.to_camera), []).append(
            journey.travel_time_s
        )
    chains = chains_of(registry)
    skewed: set[str] = set()
    for pair, times in by_pair.items():
        chain = chains.get(registry, pair)
        if chain is not None and clock_skewed(times, chain.free_flow_s):
            skewed.update(pair)
    changes: list[tuple[str, str, Fault | None]] = []
    for detector in detectors:
        if detector.counts:
            continue
        if detector.id in skewed and detector.fault is not Fault.clock_skew:
            changes.append((detector.id, DetectorHealth.failed.value, Fault.clock_skew))
        elif detector.id not in skewed and detector.fault is Fault.clock_skew:
            changes.append((detector.id, DetectorHealth.ok.value, None))
    return changes


def _samples_by_detector(rows: Sequence[Any]) -> dict[str, list[IntervalSample]]:
    samples: dict[str, list[IntervalSample]] = {}
    for row in rows:
        samples.setdefault(row.detector_id, []).append(
            IntervalSample(
                interval_start=row.interval_start,
                count=row.count,
                period_s=row.period_s,
                occupancy_pct=row.occupancy_s / row.period_s if row.period_s else 0.0,
                speed_kmh=row.speed_count / row.inv_speed if row.inv_speed > 0 else None,
            )
        )
    return samples


class _Around:
    """Each detector's neighbours: the other counting detectors of its segment, upstream
    and downstream, with their samples (those with none are left out)."""

    def __init__(
        self,
        registry: Registry,
        detectors: Sequence[Detector],
        samples: dict[str, list[IntervalSample]],
        lanes: dict[str, int],
    ) -> None:
        self.registry = registry
        self.by_segment: dict[str, list[NeighbourSamples]] = {}
        self.ids: dict[str, list[str]] = {}
        for detector in detectors:
            segment = (
                registry.segments[registry.segment_index[detector.segment_id]]
                if (detector.segment_id in registry.segment_index)
                else None
            )
            own = samples.get(detector.id)
            if not detector.counts or segment is None or not own:
                continue
            covered = 1 if detector.lane is not None else lanes.get(detector.segment_id, 1)
            self.by_segment.setdefault(detector.segment_id, []).append(
                NeighbourSamples(own, segment.free_flow_kmh, covered)
            )
            self.ids.setdefault(detector.segment_id, []).append(detector.id)

    def of(self, detector: Detector) -> Neighbours:
        segment = detector.segment_id
        adjacency = self.registry.adjacency
        same = [
            n
            for n, other in zip(
                self.by_segment.get(segment, []), self.ids.get(segment, []), strict=True
            )
            if other != detector.id
        ]
        return Neighbours(
            lanes=same,
            upstream=[
                n for s in adjacency.upstream.get(segment, []) for n in self.by_segment.get(s, [])
            ],
            downstream=[
                n for s in adjacency.downstream.get(segment, []) for n in self.by_segment.get(s, [])
            ],
        )


def _floor(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() // INTERVAL_S * INTERVAL_S, moment.tzinfo)


def _estimate_row(view: Any, now: datetime) -> dict[str, Any]:
    return {
        "segment_id": view.segment_id,
        "interval_start": view.interval_start,
        "flow_veh_h": view.flow_veh_h,
        "speed_kmh": view.speed_kmh,
        "occupancy_pct": None,
        "density_veh_km": view.density_veh_km,
        "vc_ratio": view.vc_ratio,
        "los": LOS_LETTERS.index(view.los),
        "congestion_level": view.congestion_level,
        "confidence": view.confidence,
        "estimated": True,
        "source": view.source,
        "updated_at": now,
    }


def _event(states: list[Any], interval: datetime) -> SegmentStatesUpdated:
    measured = sum(1 for s in states if not s.estimated)
    flows = sum(s.flow_veh_h for s in states)
    speed = flows / sum(s.density_veh_km for s in states) if flows > 0 else None
    return SegmentStatesUpdated(
        event_id=message_id("SegmentStatesUpdated", int(interval.timestamp())),
        interval_start=interval,
        measured=measured,
        estimated=len(states) - measured,
        city_speed_kmh=None if speed is None else round(speed, 1),
        congested_share=round(sum(1 for s in states if s.los in "EF") / len(states), 3),
    )


async def judge_health(
    database: Database, clock: Clock, *, bus: Publisher | None = None
) -> list[tuple[str, str]]:
    """Run the fault checks over each counting detector's recent sums (with its neighbours:
    the other detectors of its segment and of the segments either side); record changes."""
    now = clock.now()
    registry = await current_registry(database)
    async with TrafficUnitOfWork(database) as uow:
        detectors = await uow.detectors.all()
        rows = await uow.readings.sums_between(now - HEALTH_LOOKBACK, now + timedelta(minutes=5))
        lanes = await uow.network.lanes_of(sorted({d.segment_id for d in detectors}))
    samples = _samples_by_detector(rows)
    around = _Around(registry, detectors, samples, lanes)
    changes: list[tuple[str, str, Fault | None]] = []
    for detector in detectors:
        if not detector.counts:
            continue
        own = samples.get(detector.id, [])
        covered = 1 if detector.lane is not None else lanes.get(detector.segment_id, 1)
        if own:
            last = own[-1].interval_start
            silent = (now - last).total_seconds() > SILENT_AFTER_S
        else:
            silent = bool(rows)  # the others report and this one says nothing
        fault = (
            Fault.silent
            if silent
            else diagnose(own, now=now, lanes_covered=covered, neighbours=around.of(detector))
        )
        health = (
            DetectorHealth.ok
            if fault is None
            else DetectorHealth.silent
            if fault is Fault.silent
            else DetectorHealth.failed
        )
        if health is not detector.health or fault is not detector.fault:
            changes.append((detector.id, health.value, fault))
    changes += await _camera_changes(database, registry, detectors, now)
    async with TrafficUnitOfWork(database) as uow:
        await uow.detectors.mark_seen({d: s[-1].interval_start for d, s in samples.items() if s})
        for detector_id, health_value, fault in changes:
            await uow.detectors.set_health(detector_id, DetectorHealth(health_value), fault, now)
        if changes:
            await uow.network.bump_version(now)
        await uow.commit()
    if bus is not None:
        for detector_id, health_value, fault in changes:
            await bus.publish(
                DetectorHealthChanged(
                    event_id=message_id("DetectorHealthChanged", detector_id, int(now.timestamp())),
                    detector_id=detector_id,
                    health=health_value,
                    fault=fault.value if fault else None,
                    changed_at=now,
                )
            )
    return [(d, h) for d, h, _ in changes]
