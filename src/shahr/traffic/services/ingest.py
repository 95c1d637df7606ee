"""Ingest: decode and check a batch of messages, store what is new, update segment state.

One transaction per batch: raw readings are inserted with their key (detector, observed_at)
so a repeat inserts nothing; only what was inserted is added to its interval's sums; the
touched segments' state is recomputed from those sums. The stream consumer acknowledges
after the commit, so a redelivered message (a worker killed mid-batch) counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from prometheus_client import Counter as PrometheusCounter

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.traffic.domain.detectors import DetectorKind
from shahr.traffic.domain.indices import MAX_JOURNEY_S, match_journeys
from shahr.traffic.domain.readings import (
    DetectorReading,
    PlatePassage,
    Rejection,
    RejectReason,
    check_passage,
    check_reading,
    dedupe_readings,
    is_reading,
    plate_key,
    split_payload,
)
from shahr.traffic.domain.state import (
    INTERVAL_S,
    DetectorIntervalSums,
    ReadingArrays,
    SegmentStates,
    interval_at,
    segment_states_from,
    sum_by_detector_interval,
)
from shahr.traffic.persistence import DetectorIntervalRow, TrafficUnitOfWork
from shahr.traffic.persistence.readings import IntervalSums
from shahr.traffic.services.registry import Registry, current_registry

READINGS_REJECTED = PrometheusCounter(
    "shahr_traffic_readings_rejected_total",
    "Traffic readings and passages refused at ingest, by reason",
    ["reason"],
)
READINGS_ACCEPTED = PrometheusCounter(
    "shahr_traffic_readings_accepted_total", "Traffic detector readings stored and counted"
)
READINGS_DUPLICATE = PrometheusCounter(
    "shahr_traffic_readings_duplicate_total",
    "Traffic readings and passages already stored (redeliveries, repeats): not counted again",
)
PASSAGES_ACCEPTED = PrometheusCounter(
    "shahr_traffic_passages_accepted_total", "Plate passages stored"
)
for _reason in RejectReason:
    READINGS_REJECTED.labels(_reason.value)


@dataclass
class IngestReport:
    """What one batch did; `rejected` counts by reason (the same as in /metrics)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    passages: int = 0
    journeys: int = 0
    segment_states: int = 0
    intervals: list[datetime] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def add(self, other: IngestReport) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.update(other.rejected)
        self.passages += other.passages
        self.journeys += other.journeys
        self.segment_states += other.segment_states
        self.intervals = sorted(set(self.intervals) | set(other.intervals))


def _reject(report: IngestReport, reason: RejectReason) -> None:
    report.rejected[reason.value] += 1
    READINGS_REJECTED.labels(reason.value).inc()


def _sort(
    payloads: Sequence[bytes], registry: Registry, now: datetime, *, backfill: bool
) -> tuple[list[DetectorReading], list[PlatePassage], IngestReport]:
    report = IngestReport()
    readings: list[DetectorReading] = []
    passages: list[PlatePassage] = []
    for payload in payloads:
        for item in split_payload(payload):
            if isinstance(item, Rejection):
                _reject(report, item.reason)
                continue
            checked: DetectorReading | PlatePassage | Rejection
            if is_reading(item):
                checked = check_reading(item, now, backfill=backfill)
            elif "camera_id" in item:
                checked = check_passage(item, now, backfill=backfill)
            else:
                checked = Rejection(RejectReason.malformed, "neither a reading nor a passage")
            if isinstance(checked, Rejection):
                _reject(report, checked.reason)
                continue
            device_id = (
                checked.detector_id if isinstance(checked, DetectorReading) else checked.camera_id
            )
            detector = registry.detector(device_id)
            if detector is None:
                _reject(report, RejectReason.unknown_detector)
                continue
            is_camera = detector.kind is DetectorKind.plate_camera
            if isinstance(checked, DetectorReading) != (not is_camera):
                _reject(report, RejectReason.wrong_kind)
                continue
            if isinstance(checked, DetectorReading):
                readings.append(checked)
            else:
                passages.append(checked)
    return readings, passages, report


def _arrays(readings: Sequence[DetectorReading], registry: Registry) -> ReadingArrays:
    middle = np.array(
        [r.observed_at.timestamp() - r.period_s / 2 for r in readings], dtype=np.float64
    )
    return ReadingArrays(
        detector=np.array(
            [registry.detector_index[r.detector_id] for r in readings], dtype=np.int64
        ),
        interval=(middle // INTERVAL_S).astype(np.int64),
        count=np.array([r.count for r in readings], dtype=np.float64),
        period_s=np.array([r.period_s for r in readings], dtype=np.float64),
        occupancy_pct=np.array([r.occupancy_pct for r in readings], dtype=np.float64),
        speed_kmh=np.array(
            [np.nan if r.speed_kmh is None else r.speed_kmh for r in readings], dtype=np.float64
        ),
    )


def sums_from_rows(
    rows: Sequence[DetectorIntervalRow | IntervalSums], registry: Registry
) -> DetectorIntervalSums:
    """Stored interval sums as arrays (rows of detectors no longer registered are left out)."""
    known = [r for r in rows if r.detector_id in registry.detector_index]
    return DetectorIntervalSums(
        detector=np.array([registry.detector_index[r.detector_id] for r in known], dtype=np.int64),
        interval=np.array(
            [int(r.interval_start.timestamp()) // INTERVAL_S for r in known], dtype=np.int64
        ),
        readings=np.array([r.readings for r in known], dtype=np.float64),
        count=np.array([r.count for r in known], dtype=np.float64),
        period_s=np.array([r.period_s for r in known], dtype=np.float64),
        occupancy_s=np.array([r.occupancy_s for r in known], dtype=np.float64),
        speed_count=np.array([r.speed_count for r in known], dtype=np.float64),
        inv_speed=np.array([r.inv_speed for r in known], dtype=np.float64),
    )


def state_rows(
    states: SegmentStates, registry: Registry, now: datetime, *, source: str = "detectors"
) -> list[dict[str, Any]]:
    """Segment states as table rows (measured)."""
    segments = registry.segments
    return [
        {
            "segment_id": segments[seg].id,
            "interval_start": interval_at(interval),
            "flow_veh_h": flow,
            "speed_kmh": speed,
            "occupancy_pct": occupancy,
            "density_veh_km": flow / speed,
            "vc_ratio": vc,
            "los": los,
            "congestion_level": level,
            "confidence": confidence,
            "estimated": False,
            "source": source,
            "updated_at": now,
        }
        for seg, interval, flow, speed, occupancy, vc, los, level, confidence in zip(
            states.segment.tolist(),
            states.interval.tolist(),
            states.flow_veh_h.tolist(),
            states.speed_kmh.tolist(),
            states.occupancy_pct.tolist(),
            states.vc_ratio.tolist(),
            states.los.tolist(),
            states.congestion_level.tolist(),
            states.confidence.tolist(),
            strict=True,
        )
    ]


async def ingest_batch(
    database: Database,
    clock: Clock,
    payloads: Sequence[bytes],
    *,
    backfill: bool = False,
    plate_secret: str = "",
) -> IngestReport:
    """Decode, check and store a batch of stream messages; recompute the touched segments.

    Idempotent: the same payloads again change nothing and count as duplicates. Bad
    items are counted by reason and skipped; they never fail the batch. `backfill` accepts
    readings older than the late window (`shahr import readings`).
    """
    now = clock.now()
    registry = await current_registry(database)
    readings, passages, report = _sort(payloads, registry, now, backfill=backfill)
    unique = dedupe_readings(readings)
    report.duplicates += len(readings) - len(unique)
    async with TrafficUnitOfWork(database) as uow:
        if unique:
            inserted = await uow.readings.insert_new(
                [
                    {
                        "detector_id": r.detector_id,
                        "observed_at": r.observed_at,
                        "period_s": r.period_s,
                        "count": r.count,
                        "occupancy_pct": r.occupancy_pct,
                        "speed_kmh": r.speed_kmh,
                        "received_at": now,
                    }
                    for r in unique
                ]
            )
            fresh = [r for r in unique if (r.detector_id, r.observed_at) in inserted]
            report.duplicates += len(unique) - len(fresh)
            report.accepted = len(fresh)
            if fresh:
                await _update_state(uow, registry, fresh, now, report)
        if passages:
            await _store_passages(uow, passages, plate_secret, report)
        await uow.commit()
    READINGS_ACCEPTED.inc(report.accepted)
    READINGS_DUPLICATE.inc(report.duplicates)
    PASSAGES_ACCEPTED.inc(report.passages)
    return report


async def _update_state(
    uow: TrafficUnitOfWork,
    registry: Registry,
    fresh: Sequence[DetectorReading],
    now: datetime,
    report: IngestReport,
) -> None:
    sums = sum_by_detector_interval(_arrays(fresh, registry))
    detectors = registry.detectors
    rows = [
        {
            "detector_id": detectors[det].id,
            "interval_start": interval_at(interval),
            "segment_id": detectors[det].segment_id,
            "readings": int(n),
            "count": int(count),
            "period_s": period,
            "occupancy_s": occupancy,
            "speed_count": speed_count,
            "inv_speed": inv_speed,
        }
        for det, interval, n, count, period, occupancy, speed_count, inv_speed in zip(
            sums.detector.tolist(),
            sums.interval.tolist(),
            sums.readings.tolist(),
            sums.count.tolist(),
            sums.period_s.tolist(),
            sums.occupancy_s.tolist(),
            sums.speed_count.tolist(),
            sums.inv_speed.tolist(),
            strict=True,
        )
    ]
    # The totals after this batch come back from the upsert; a segment's other detectors in
    # the same interval (usually none: lanes report together) are read.
    totals = await uow.readings.add_to_intervals(rows)
    have = {(t.detector_id, t.interval_start) for t in totals}
    wanted = {
        (other, t.interval_start)
        for t in totals
        for other in registry.counting_on.get(
            detectors[registry.detector_index[t.detector_id]].segment_id, []
        )
    }
    missing = sorted(wanted - have)
    if missing:
        totals += await uow.readings.sums_of(missing)
    states = segment_states_from(
        sums_from_rows(totals, registry), registry.detector_table, registry.segment_table
    )
    measured = state_rows(states, registry, now)
    await uow.states.save_measured(measured)
    report.segment_states = len(measured)
    report.intervals = sorted({t.interval_start for t in totals})


async def _store_passages(
    uow: TrafficUnitOfWork, passages: Sequence[PlatePassage], secret: str, report: IngestReport
) -> None:
    rows = []
    seen: set[tuple[str, datetime, str]] = set()
    for passage in passages:
        key = plate_key(passage.plate, passage.observed_at, secret)
        if (passage.camera_id, passage.observed_at, key) in seen:
            report.duplicates += 1
            continue
        seen.add((passage.camera_id, passage.observed_at, key))
        rows.append(
            {
                "camera_id": passage.camera_id,
                "observed_at": passage.observed_at,
                "plate_key": key,
                "lane": passage.lane,
            }
        )
    inserted = await uow.readings.insert_passages(rows)
    report.duplicates += len(rows) - len(inserted)
    report.passages = len(inserted)
    if not inserted:
        return
    times = [r["observed_at"] for r in inserted]
    window = timedelta(seconds=MAX_JOURNEY_S)
    sightings = await uow.readings.sightings_of(
        [r["plate_key"] for r in inserted], min(times) - window, max(times) + window
    )
    journeys = match_journeys(sightings)
    new_keys = {(r["camera_id"], r["observed_at"], r["plate_key"]) for r in inserted}
    journey_rows = []
    for journey in journeys:
        arrived_at = journey.departed_at + timedelta(seconds=journey.travel_time_s)
        ends = {
            (journey.to_camera, arrived_at, journey.plate_key),
            (journey.from_camera, journey.departed_at, journey.plate_key),
        }
        if not ends & new_keys:
            continue
        journey_rows.append(
            {
                "to_camera": journey.to_camera,
                "plate_key": journey.plate_key,
                "arrived_at": arrived_at,
                "from_camera": journey.from_camera,
                "departed_at": journey.departed_at,
                "travel_time_s": journey.travel_time_s,
            }
        )
    await uow.readings.save_journeys(journey_rows)
    report.journeys = len(journey_rows)
