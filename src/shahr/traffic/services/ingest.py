"""Ingest: decode and check a batch of messages, store what is new, update segment state.

One transaction per batch: raw readings are inserted with their key (detector, observed_at)
so a repeat inserts nothing; only what was inserted is added to its interval's sums; the
touched segments' state is recomputed from those sums. The stream consumer acknowledges
after the commit, so a redelivered message (a worker killed mid-batch) counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
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
    REASON_CODES,
    DetectorReading,
    PlatePassage,
    ReadingColumns,
    Rejection,
    RejectReason,
    check_passage,
    check_reading,
    decode,
    first_of_each_key,
    is_reading,
    plate_key,
    reading_columns,
    reading_items,
    refusals,
    split_body,
)
from shahr.traffic.domain.state import (
    INTERVAL_S,
    DetectorIntervalSums,
    IntArray,
    ReadingArrays,
    interval_at,
    segment_states_from,
    sum_by_detector_interval,
)
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.persistence.readings import IntervalTotals
from shahr.traffic.queries.registry import Registry, current_registry

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


def _reject(report: IngestReport, reason: RejectReason, times: int = 1) -> None:
    report.rejected[reason.value] += times
    READINGS_REJECTED.labels(reason.value).inc(times)


@dataclass
class _Sorted:
    readings: list[ReadingColumns]  # well-shaped, values not judged yet
    checked: list[DetectorReading]  # judged item by item, values passed
    passages: list[PlatePassage]
    report: IngestReport


def _sort(
    payloads: Sequence[bytes], registry: Registry, now: datetime, *, backfill: bool
) -> _Sorted:
    """Decode the payloads; readings of the right shape go on as columns, the rest item by item."""
    batch = _Sorted([], [], [], IngestReport())
    singles: list[Any] = []  # one-reading messages, judged together
    for payload in payloads:
        body = decode(payload)
        if isinstance(body, Rejection):
            _reject(batch.report, body.reason)
            continue
        items = reading_items(body)
        if items is None:
            _sort_items(batch, split_body(body), registry, now, backfill=backfill)
        elif len(items) == 1 and items[0] is body:
            singles.append(body)
        else:
            _take_columns(batch, items, registry, now, backfill=backfill)
    _take_columns(batch, singles, registry, now, backfill=backfill)
    return batch


def _take_columns(
    batch: _Sorted, items: list[Any], registry: Registry, now: datetime, *, backfill: bool
) -> None:
    if not items:
        return
    columns = reading_columns(items)
    if columns is None:
        # Some item is mistyped: judge these one by one to give each its own reason.
        _sort_items(batch, items, registry, now, backfill=backfill)
    else:
        batch.readings.append(columns)


def _sort_items(
    batch: _Sorted,
    items: Iterable[dict[str, Any] | Rejection],
    registry: Registry,
    now: datetime,
    *,
    backfill: bool,
) -> None:
    report = batch.report
    for item in items:
        if isinstance(item, Rejection):
            _reject(report, item.reason)
            continue
        if not isinstance(item, dict):
            _reject(report, RejectReason.malformed)
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
        elif isinstance(checked, DetectorReading):
            batch.checked.append(checked)
        else:
            detector = registry.detector(checked.camera_id)
            if detector is None:
                _reject(report, RejectReason.unknown_detector)
            elif detector.kind is not DetectorKind.plate_camera:
                _reject(report, RejectReason.wrong_kind)
            else:
                batch.passages.append(checked)


def _accepted_readings(
    batch: _Sorted, registry: Registry, now: datetime, *, backfill: bool
) -> tuple[ReadingColumns, IntArray]:
    """The readings that pass every check, and their detectors' registry positions."""
    readings = ReadingColumns.concat([*batch.readings, ReadingColumns.of(batch.checked)])
    code = refusals(readings, now, backfill=backfill)
    index_of = registry.detector_index.get
    detector = np.array([index_of(d, -1) for d in readings.detector_id], dtype=np.int64)
    known = detector >= 0
    code[(code < 0) & ~known] = REASON_CODES.index(RejectReason.unknown_detector)
    camera = np.zeros(len(readings), dtype=np.bool_)
    camera[known] = registry.is_camera[detector[known]]
    code[(code < 0) & camera] = REASON_CODES.index(RejectReason.wrong_kind)
    refused = code[code >= 0]
    if len(refused):
        for reason_code, times in enumerate(np.bincount(refused).tolist()):
            if times:
                _reject(batch.report, REASON_CODES[reason_code], times)
    accepted = np.flatnonzero(code < 0)
    return readings.take(accepted), detector[accepted]


def _arrays(readings: ReadingColumns, detector: IntArray) -> ReadingArrays:
    middle = readings.observed_us / 1e6 - readings.period_s / 2
    return ReadingArrays(
        detector=detector,
        interval=(middle // INTERVAL_S).astype(np.int64),
        count=readings.count.astype(np.float64),
        period_s=readings.period_s.astype(np.float64),
        occupancy_pct=readings.occupancy_pct,
        speed_kmh=readings.speed_kmh,
    )


def sums_from_totals(totals: IntervalTotals, registry: Registry) -> DetectorIntervalSums:
    """Interval totals as arrays indexed by the registry (unregistered detectors left out)."""
    index_of = registry.detector_index.get
    detector = np.array([index_of(d, -1) for d in totals.detector_id], dtype=np.int64)
    known = detector >= 0
    return DetectorIntervalSums(
        detector=detector[known],
        interval=totals.interval[known],
        readings=totals.readings[known],
        count=totals.count[known],
        period_s=totals.period_s[known],
        occupancy_s=totals.occupancy_s[known],
        speed_count=totals.speed_count[known],
        inv_speed=totals.inv_speed[known],
    )


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
    batch = _sort(payloads, registry, now, backfill=backfill)
    report = batch.report
    readings, detector = _accepted_readings(batch, registry, now, backfill=backfill)
    first = first_of_each_key(detector, readings.observed_us)
    report.duplicates += len(readings) - len(first)
    READINGS_DUPLICATE.inc(len(readings) - len(first))
    unique, detector = readings.take(first), detector[first]
    stored = await _store(database, registry, unique, detector, batch.passages, now, plate_secret)
    report.add(stored)
    return report


async def _store(
    database: Database,
    registry: Registry,
    unique: ReadingColumns,
    detector: IntArray,
    passages: Sequence[PlatePassage],
    now: datetime,
    plate_secret: str,
) -> IngestReport:
    """Store a batch in one transaction: new readings, their sums and states, passages."""
    report = IngestReport()
    async with TrafficUnitOfWork(database) as uow:
        if len(unique):
            inserted = await uow.readings.insert_readings(unique, now)
            fresh = np.flatnonzero(inserted)
            report.duplicates += len(unique) - len(fresh)
            report.accepted = len(fresh)
            if len(fresh):
                await _update_state(uow, registry, unique.take(fresh), detector[fresh], now, report)
        if passages:
            await _store_passages(uow, passages, plate_secret, report)
        if report.segment_states:
            await uow.states.touch(now)  # last: see StateRepository.touch
        await uow.commit()
    READINGS_ACCEPTED.inc(report.accepted)
    READINGS_DUPLICATE.inc(report.duplicates)
    PASSAGES_ACCEPTED.inc(report.passages)
    return report


async def _update_state(
    uow: TrafficUnitOfWork,
    registry: Registry,
    fresh: ReadingColumns,
    detector: IntArray,
    now: datetime,
    report: IngestReport,
) -> None:
    sums = sum_by_detector_interval(_arrays(fresh, detector))
    ids = registry.detector_ids
    # A segment's other detectors in the same interval, which this batch lacks (usually
    # none: lanes report together), are read after the sums are added. Another worker may
    # be adding exactly those at this moment, and each would save a state without the
    # other's lanes; so such (segment, interval) pairs are held first, which makes the
    # second worker wait and read the first's sums. (Batches sharing a detector's row are
    # ordered by that row's lock already; one lacking none of a segment's detectors reads
    # nothing it could miss.)
    missing_detector, missing_interval = _missing_siblings(registry, sums)
    if len(missing_detector):
        segment_of = registry.detector_table.segment[missing_detector].tolist()
        await uow.states.lock_segment_intervals(
            [registry.segments[s].id for s in segment_of], missing_interval.tolist()
        )
    # The totals after this batch come back from the upsert.
    totals = await uow.readings.add_sums(ids[sums.detector].tolist(), sums)
    have = sums_from_totals(totals, registry)
    if len(missing_detector):
        more = await uow.readings.totals_of(ids[missing_detector].tolist(), missing_interval)
        have = sums_from_totals(IntervalTotals.concat(totals, more), registry)
    states = segment_states_from(have, registry.detector_table, registry.segment_table)
    await uow.states.save_measured_states(
        [registry.segments[s].id for s in states.segment.tolist()], states, now
    )
    report.segment_states = len(states)
    report.intervals = [interval_at(i) for i in np.unique(have.interval).tolist()]


def _missing_siblings(registry: Registry, have: DetectorIntervalSums) -> tuple[IntArray, IntArray]:
    """(detector, interval) pairs of counting detectors on the touched segments not in `have`."""
    segment = registry.detector_table.segment[have.detector]
    # Touched (segment, interval) pairs, then every counting detector of each segment.
    pairs = np.unique(np.stack([segment, have.interval]), axis=1)
    start = registry.counting_start[pairs[0]]
    size = registry.counting_start[pairs[0] + 1] - start
    total = int(size.sum())
    if total == len(have):  # each touched segment's detectors all present (the usual case)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(pairs.shape[1]), size)
    offset = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
    wanted_detector = registry.counting_detectors[start[owner] + offset]
    wanted_interval = pairs[1][owner]
    span = np.int64(1) << 32
    present = have.detector * span + have.interval
    wanted = wanted_detector * span + wanted_interval
    missing = ~np.isin(wanted, present)
    return wanted_detector[missing], wanted_interval[missing]


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
