"""Closing intervals: estimates for unmonitored segments, detector health, the batched event.

Runs as a job every interval in every worker; it is safe to run twice or in two places
(estimates never overwrite measurements, health is set from the same data, and the
event carries an id derived from the interval, so JetStream drops a repeat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.message_ids import message_id
from shahr.traffic.domain.detectors import (
    SILENT_AFTER_S,
    DetectorHealth,
    Fault,
    IntervalSample,
    diagnose,
)
from shahr.traffic.domain.state import INTERVAL_S, LOS_LETTERS
from shahr.traffic.events import DetectorHealthChanged, SegmentStatesUpdated
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.state import state_snapshot

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
            await uow.history.set_mark(JOB, interval)
            if rows:
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
    """Run the fault checks over each counting detector's recent sums; record changes."""
    now = clock.now()
    async with TrafficUnitOfWork(database) as uow:
        detectors = await uow.detectors.all()
        rows = await uow.readings.sums_between(now - HEALTH_LOOKBACK, now + timedelta(minutes=5))
        lanes = await uow.network.lanes_of(sorted({d.segment_id for d in detectors}))
    samples: dict[str, list[IntervalSample]] = {}
    for row in rows:
        samples.setdefault(row.detector_id, []).append(
            IntervalSample(
                interval_start=row.interval_start,
                count=row.count,
                period_s=row.period_s,
                occupancy_pct=row.occupancy_s / row.period_s if row.period_s else 0.0,
            )
        )
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
        fault = Fault.silent if silent else diagnose(own, now=now, lanes_covered=covered)
        health = (
            DetectorHealth.ok
            if fault is None
            else DetectorHealth.silent
            if fault is Fault.silent
            else DetectorHealth.failed
        )
        if health is not detector.health or fault is not detector.fault:
            changes.append((detector.id, health.value, fault))
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
