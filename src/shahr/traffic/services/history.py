"""History: hourly and daily rollups, pruning by policy, and back-filling from files.

Retention (docs/decisions/0012-traffic-state.md): raw readings and passages 2 days,
per-detector interval sums and journeys 7 days, per-interval segment state 14 days,
per-segment hours 120 days, area hours 800 days, area days for good. An area's week this
year is compared with the same week last year from the area days.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from shahr.kernel.clock import TEHRAN, Clock, in_tehran
from shahr.kernel.db import Database
from shahr.traffic.domain.indices import weighted_percentile
from shahr.traffic.domain.state import INTERVAL_S
from shahr.traffic.persistence import SegmentStateRow, TrafficUnitOfWork
from shahr.traffic.queries.indices import CITY_ID
from shahr.traffic.queries.registry import Registry, current_registry
from shahr.traffic.services.ingest import ingest_batch
from shahr.traffic.services.ingest_report import IngestReport

HOUR = timedelta(hours=1)
HOUR_JOB = "rollup-hour"
DAY_JOB = "rollup-day"
MAX_HOURS_PER_RUN = 48

KEEP_READINGS = timedelta(days=2)
KEEP_SUMS = timedelta(days=7)
KEEP_STATES = timedelta(days=14)
KEEP_SEGMENT_HOURS = timedelta(days=120)
KEEP_AREA_HOURS = timedelta(days=800)


@dataclass
class RollupReport:
    hours: list[datetime] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    segment_hours: int = 0


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def roll_up(
    database: Database,
    clock: Clock,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RollupReport:
    """Roll closed hours (and the Tehran days they complete) up; or exactly [since, until)."""
    report = RollupReport()
    registry = await current_registry(database)
    explicit = since is not None
    if since is None or until is None:
        last = _floor_hour(clock.now() - timedelta(seconds=2 * INTERVAL_S))
        async with TrafficUnitOfWork(database) as uow:
            done = await uow.history.mark(HOUR_JOB)
            first = await uow.states.latest_interval(measured=False) if done is None else None
        start = done if done is not None else (_floor_hour(first) if first else last)
        start = max(start, last - HOUR * MAX_HOURS_PER_RUN)
        end = last
    else:
        start, end = _floor_hour(since), _floor_hour(until - timedelta(microseconds=1)) + HOUR
    hour = start
    while hour < end:
        async with TrafficUnitOfWork(database) as uow:
            rows = await uow.states.between(hour, hour + HOUR)
            segment_rows, area_rows = hour_rollups(rows, registry, hour)
            await uow.history.save_segment_hours(segment_rows)
            await uow.history.save_area_hours(area_rows)
            if not explicit:
                await uow.history.set_mark(HOUR_JOB, hour + HOUR)
            await uow.commit()
        report.hours.append(hour)
        report.segment_hours += len(segment_rows)
        hour += HOUR
    report.days = await _roll_days(database, start, end, explicit=explicit)
    return report


def hour_rollups(
    rows: list[SegmentStateRow], registry: Registry, hour: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One hour's per-segment and per-area sums from its interval states."""
    known = [r for r in rows if r.segment_id in registry.segment_index]
    if not known:
        return [], []
    measures = _Measures.of(known, registry)
    return _segment_hours(measures, registry, hour), _area_hours(measures, registry, hour)


@dataclass(frozen=True)
class _Measures:
    """Each interval state's travel: vehicle-km, vehicle-hours, and the free-flow ratio."""

    seg: npt.NDArray[np.int64]
    flow: npt.NDArray[np.float64]
    estimated: npt.NDArray[np.float64]
    vkt: npt.NDArray[np.float64]
    vht: npt.NDArray[np.float64]
    ff_vht: npt.NDArray[np.float64]
    ratio: npt.NDArray[np.float64]

    @classmethod
    def of(cls, known: list[SegmentStateRow], registry: Registry) -> _Measures:
        seg = np.array([registry.segment_index[r.segment_id] for r in known], dtype=np.int64)
        flow = np.array([r.flow_veh_h for r in known])
        speed = np.maximum(np.array([r.speed_kmh for r in known]), 0.1)
        table = registry.segment_table
        length_km = table.length_m[seg] / 1000.0
        free_flow = table.free_flow_kmh[seg]
        vkt = flow * (INTERVAL_S / 3600.0) * length_km
        return cls(
            seg=seg,
            flow=flow,
            estimated=np.array([r.estimated for r in known], dtype=np.float64),
            vkt=vkt,
            vht=vkt / speed,
            ff_vht=vkt / free_flow,
            ratio=free_flow / speed,
        )


def _segment_hours(measures: _Measures, registry: Registry, hour: datetime) -> list[dict[str, Any]]:
    segments_u, group = np.unique(measures.seg, return_inverse=True)
    n = len(segments_u)
    sums = {
        "intervals": np.bincount(group, minlength=n),
        "estimated_intervals": np.bincount(group, weights=measures.estimated, minlength=n),
        "vkt": np.bincount(group, weights=measures.vkt, minlength=n),
        "vht": np.bincount(group, weights=measures.vht, minlength=n),
        "ff_vht": np.bincount(group, weights=measures.ff_vht, minlength=n),
        "flow": np.bincount(group, weights=measures.flow, minlength=n),
    }
    ratio = measures.ratio
    order = np.lexsort((ratio, group))
    starts = np.searchsorted(group[order], np.arange(n))
    ends = np.append(starts[1:], len(order))
    p95 = np.array(
        [
            ratio[order[s:e]][min(int(0.95 * (e - s)), e - s - 1)]
            for s, e in zip(starts, ends, strict=True)
        ]
    )
    return [
        {
            "segment_id": registry.segments[s].id,
            "hour_start": hour,
            "intervals": int(sums["intervals"][i]),
            "estimated_intervals": int(sums["estimated_intervals"][i]),
            "vkt": float(sums["vkt"][i]),
            "vht": float(sums["vht"][i]),
            "ff_vht": float(sums["ff_vht"][i]),
            "p95_ratio": float(p95[i]),
            "flow_veh_h": float(sums["flow"][i] / sums["intervals"][i]),
        }
        for i, s in enumerate(segments_u.tolist())
    ]


def _area_hours(measures: _Measures, registry: Registry, hour: datetime) -> list[dict[str, Any]]:
    m = measures
    area_rows = []
    for scope, scope_id, mask in _areas(registry, m.seg):
        if not mask.any():
            continue
        area_rows.append(
            {
                "scope": scope,
                "scope_id": scope_id,
                "hour_start": hour,
                "intervals": int(mask.sum()),
                "estimated_intervals": int(m.estimated[mask].sum()),
                "vkt": float(m.vkt[mask].sum()),
                "vht": float(m.vht[mask].sum()),
                "ff_vht": float(m.ff_vht[mask].sum()),
                "p95_ratio": weighted_percentile(
                    m.ratio[mask], np.maximum(m.vkt[mask], 1e-9), 95.0
                ),
                "flow_veh_h": float(m.flow[mask].mean()),
            }
        )
    return area_rows


def _areas(registry: Registry, seg: np.ndarray) -> Iterator[tuple[str, str, np.ndarray]]:
    yield "city", CITY_ID, np.ones(len(seg), dtype=np.bool_)
    district = np.array([s.district if s.district is not None else -1 for s in registry.segments])
    for number in sorted(set(district.tolist()) - {-1}):
        yield "district", str(number), district[seg] == number
    names = [s.name for s in registry.segments]
    by_name: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        if name:
            by_name.setdefault(name, []).append(index)
    for name, members in sorted(by_name.items()):
        if len(members) > 1:
            yield "corridor", name, np.isin(seg, members)


def tehran_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), TEHRAN).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), TEHRAN).astimezone(UTC)
    return start, end


async def _roll_days(
    database: Database, start: datetime, end: datetime, *, explicit: bool
) -> list[date]:
    """Every Tehran day that ends by `end` and overlaps [start, end)."""
    days = []
    day = in_tehran(start).date()
    while True:
        day_start, day_end = tehran_day_bounds(day)
        if day_end > end:
            break
        async with TrafficUnitOfWork(database) as uow:
            hours = []
            for scope in ("city", "district", "corridor"):
                hours.extend(await uow.history.area_hours(scope, day_start, day_end))
            rows = day_rollups(hours, day)
            await uow.history.save_area_days(rows)
            if not explicit:
                await uow.history.set_mark(DAY_JOB, day_end)
            await uow.commit()
        days.append(day)
        day += timedelta(days=1)
    return days


def day_rollups(hours: list[Any], day: date) -> list[dict[str, Any]]:
    by_area: dict[tuple[str, str], list[Any]] = {}
    for row in hours:
        by_area.setdefault((row.scope, row.scope_id), []).append(row)
    rows = []
    for (scope, scope_id), members in sorted(by_area.items()):
        vkt = np.array([m.vkt for m in members])
        vht = np.array([m.vht for m in members])
        ff = np.array([m.ff_vht for m in members])
        ratio = np.divide(vht, ff, out=np.ones(len(members)), where=ff > 0)
        rows.append(
            {
                "scope": scope,
                "scope_id": scope_id,
                "day": day,
                "intervals": sum(m.intervals for m in members),
                "estimated_intervals": sum(m.estimated_intervals for m in members),
                "vkt": float(vkt.sum()),
                "vht": float(vht.sum()),
                "ff_vht": float(ff.sum()),
                "p95_ratio": weighted_percentile(ratio, np.maximum(vkt, 1e-9), 95.0),
                "flow_veh_h": float(np.mean([m.flow_veh_h for m in members])),
            }
        )
    return rows


async def prune(database: Database, clock: Clock) -> int:
    """Delete what the retention policy no longer keeps; how many rows went."""
    now = clock.now()
    async with TrafficUnitOfWork(database) as uow:
        removed = await uow.readings.prune(
            readings_before=now - KEEP_READINGS, sums_before=now - KEEP_SUMS
        )
        removed += await uow.states.prune(now - KEEP_STATES)
        removed += await uow.history.prune_segment_hours(now - KEEP_SEGMENT_HOURS)
        removed += await uow.history.prune_area_hours(now - KEEP_AREA_HOURS)
        await uow.commit()
    return removed


@dataclass
class BackfillReport:
    ingest: IngestReport
    first: datetime | None
    last: datetime | None
    rollup: RollupReport | None


async def backfill_readings(
    database: Database,
    clock: Clock,
    *,
    payloads: Iterable[bytes],
    first: datetime | None = None,
    last: datetime | None = None,
    chunk: int = 2000,
    on_progress: Any = None,
) -> BackfillReport:
    """Ingest old payloads (no late window), then roll up the hours and days they cover.

    `first` and `last` bound the readings' times for the rollup; without them the
    caller's payloads' times are not known here, so nothing is rolled up.
    """
    total = IngestReport()
    batch: list[bytes] = []
    for payload in payloads:
        batch.append(payload)
        if len(batch) >= chunk:
            total.add(await ingest_batch(database, clock, batch, backfill=True))
            batch = []
            if on_progress is not None:
                on_progress(total.accepted + total.duplicates + total.rejected_total)
    if batch:
        total.add(await ingest_batch(database, clock, batch, backfill=True))
    rollup = None
    if first is not None and last is not None:
        rollup = await roll_up(database, clock, since=first, until=last + timedelta(seconds=1))
    return BackfillReport(ingest=total, first=first, last=last, rollup=rollup)
