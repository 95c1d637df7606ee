"""Ingest: decode and check a batch of messages, store what is new, update segment state.

One transaction per batch: raw readings are inserted with their key (detector, observed_at)
so a repeat inserts nothing; only what was inserted is added to its interval's sums; the
touched segments' state is recomputed from those sums. The stream consumer acknowledges
after the commit, so a redelivered message (a worker killed mid-batch) counts once.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.traffic.domain.readings import PlatePassage, ReadingColumns, first_of_each_key
from shahr.traffic.domain.state import (
    INTERVAL_S,
    DetectorIntervalSums,
    IntArray,
    ReadingArrays,
    interval_at,
    interval_index,
    segment_states_from,
    sum_by_detector_interval,
)
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.persistence.readings import IntervalTotals
from shahr.traffic.queries.registry import Registry, current_registry
from shahr.traffic.services.ingest_checks import accepted_readings, sort_batch
from shahr.traffic.services.ingest_report import (
    PASSAGES_ACCEPTED,
    READINGS_ACCEPTED,
    READINGS_DUPLICATE,
    IngestReport,
)
from shahr.traffic.services.journey_fusion import fuse_journeys
from shahr.traffic.services.passages import store_passages


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
    batch = sort_batch(payloads, registry, now, backfill=backfill)
    report = batch.report
    readings, detector = accepted_readings(batch, registry, now, backfill=backfill)
    first = first_of_each_key(detector, readings.observed_us)
    report.duplicates += len(readings) - len(first)
    READINGS_DUPLICATE.inc(len(readings) - len(first))
    unique, detector = readings.take(first), detector[first]
    stored = await _store(database, registry, unique, detector, batch.passages, now, plate_secret)
    report.add(stored)
    if stored.intervals:
        await _learn_vehicle_lengths(database, max(stored.intervals), now)
    return report


# Detectors learn their effective vehicle length from their own free-flow minutes every
# half hour of data (by the data's clock, so a back-fill learns as it goes), leaving the
# late window's minutes, which may still grow, for the next time.
LEARN_EVERY_INTERVALS = 30
LATE_INTERVALS = 15
_last_learnt: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()


async def _learn_vehicle_lengths(database: Database, newest: datetime, now: datetime) -> None:
    index = interval_index(newest)
    last = _last_learnt.get(database)
    if last is not None and index - last < LEARN_EVERY_INTERVALS:
        return
    _last_learnt[database] = index
    async with TrafficUnitOfWork(database) as uow:
        if await uow.detectors.learn_vehicle_lengths(interval_at(index - LATE_INTERVALS)):
            await uow.network.bump_version(now)  # every process reloads the lengths
        await uow.commit()


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
            await store_passages(uow, passages, plate_secret, report)
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
    have = registry.sums_of(totals)
    if len(missing_detector):
        more = await uow.readings.totals_of(ids[missing_detector].tolist(), missing_interval)
        have = registry.sums_of(IntervalTotals.concat(totals, more))
    states = segment_states_from(have, registry.detector_table, registry.segment_table)
    await uow.states.save_measured_states(
        [registry.segments[s].id for s in states.segment.tolist()], states, now
    )
    report.segment_states = len(states)
    # Journeys stored before these readings arrived are fused in now (back-fill order).
    await fuse_journeys(uow, registry, np.unique(states.interval).tolist(), now)
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
