"""The read side of segment state: the latest interval, with estimates filling the gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.traffic.domain.estimates import Estimates, History, Observed, estimate
from shahr.traffic.domain.state import INTERVAL_S, LOS_LETTERS
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import Registry, current_registry

HISTORY_WEEKS = 4
# Earlier intervals whose measurements steady this one's (one query fetches them all).
RECENT_INTERVALS = 3


@dataclass(frozen=True)
class SegmentStateView:
    """A segment's state over one interval; `estimated` ones carry no occupancy."""

    segment_id: str
    interval_start: datetime
    flow_veh_h: float
    speed_kmh: float
    occupancy_pct: float | None
    density_veh_km: float
    vc_ratio: float
    los: str
    congestion_level: int
    confidence: float
    estimated: bool
    source: str


@dataclass(frozen=True)
class StateSnapshot:
    """Every segment's state over one interval, and what it was built from."""

    interval_start: datetime | None
    states: list[SegmentStateView]
    registry: Registry
    updated_at: datetime | None

    @property
    def version(self) -> str:
        stamp = self.updated_at.timestamp() if self.updated_at else 0
        start = self.interval_start.timestamp() if self.interval_start else 0
        return f"{self.registry.version}-{int(start)}-{stamp:.6f}"


def interval_holding(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() // INTERVAL_S * INTERVAL_S, moment.tzinfo)


async def history_shares(
    uow: TrafficUnitOfWork, registry: Registry, interval_start: datetime
) -> History:
    """Each segment's usual speed share and v/c at this hour of the week (NaN: no history)."""
    n = len(registry.segments)
    hour = interval_start.replace(minute=0, second=0, microsecond=0)
    vht = np.zeros(n)
    ff = np.zeros(n)
    flow = np.zeros(n)
    hours = np.zeros(n)
    for week in range(1, HISTORY_WEEKS + 1):
        start = hour - timedelta(weeks=week)
        for row in await uow.history.segment_hours(start, start + timedelta(hours=1)):
            index = registry.segment_index.get(row.segment_id)
            if index is None:
                continue
            vht[index] += row.vht
            ff[index] += row.ff_vht
            flow[index] += row.flow_veh_h
            hours[index] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(vht > 0, ff / vht, np.nan)
        vc = np.where(
            hours > 0, flow / np.maximum(hours, 1) / registry.segment_table.capacity_veh_h, np.nan
        )
    return History(share, vc)


async def recent_shares(
    uow: TrafficUnitOfWork, registry: Registry, interval_start: datetime
) -> np.ndarray:
    """Measured speed shares of the RECENT_INTERVALS before this one, most recent first
    (rows), NaN where a segment was not measured."""
    n = len(registry.segments)
    shares = np.full((RECENT_INTERVALS, n), np.nan)
    since = interval_start - timedelta(seconds=INTERVAL_S * RECENT_INTERVALS)
    rows = await uow.states.measured_speeds(since, interval_start)
    index = registry.segment_index
    segment = np.fromiter((index.get(r[0], -1) for r in rows), dtype=np.int64, count=len(rows))
    stamp = interval_start.timestamp()
    back = np.fromiter(
        (round((stamp - r[1].timestamp()) / INTERVAL_S) - 1 for r in rows),
        dtype=np.int64,
        count=len(rows),
    )
    speed = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    use = (segment >= 0) & (back >= 0) & (back < RECENT_INTERVALS)
    shares[back[use], segment[use]] = (
        speed[use] / registry.segment_table.free_flow_kmh[segment[use]]
    )
    return shares


async def state_snapshot(
    database: Database, *, at: datetime | None = None, estimate_missing: bool = True
) -> StateSnapshot:
    """The latest interval with measurements (or the interval holding `at`), every segment."""
    registry = await current_registry(database)
    async with TrafficUnitOfWork(database) as uow:
        if at is None:
            interval = await uow.states.latest_interval()
        else:
            interval = interval_holding(at)
        updated_at = await uow.states.last_update()
        if interval is None or not registry.segments:
            return StateSnapshot(None, [], registry, updated_at)
        rows = await uow.states.at_interval(interval)
        known = registry.segment_index
        # Rows unpacked by position: attribute access on 10,000 rows is what made this slow.
        views: dict[str, SegmentStateView] = {
            segment_id: SegmentStateView(
                segment_id,
                interval,
                flow_veh_h,
                speed_kmh,
                occupancy_pct,
                density_veh_km,
                vc_ratio,
                LOS_LETTERS[los],
                congestion_level,
                confidence,
                estimated,
                source,
            )
            for (
                segment_id,
                flow_veh_h,
                speed_kmh,
                occupancy_pct,
                density_veh_km,
                vc_ratio,
                los,
                congestion_level,
                confidence,
                estimated,
                source,
            ) in rows
            if segment_id in known
        }
        if estimate_missing and len(views) < len(registry.segments):
            history = await history_shares(uow, registry, interval)
            recent = await recent_shares(uow, registry, interval)
            views.update(_estimates(registry, views, interval, history, recent))
    ordered = [views[s.id] for s in registry.segments if s.id in views]
    return StateSnapshot(interval, ordered, registry, updated_at)


def _estimates(
    registry: Registry,
    known: dict[str, SegmentStateView],
    interval: datetime,
    history: History,
    recent: np.ndarray,
) -> dict[str, SegmentStateView]:
    n = len(registry.segments)
    table = registry.segment_table
    index = registry.segment_index
    views = list(known.values())
    rows = np.fromiter((index[v.segment_id] for v in views), dtype=np.int64, count=len(views))
    is_estimate = np.fromiter((v.estimated for v in views), dtype=np.bool_, count=len(views))
    speed = np.fromiter((v.speed_kmh for v in views), dtype=np.float64, count=len(views))
    flow_in = np.fromiter((v.flow_veh_h for v in views), dtype=np.float64, count=len(views))
    unknown = np.ones(n, dtype=np.bool_)
    unknown[rows] = False
    # A stored estimate stands, but only measurements are spread to neighbours.
    measured_rows = rows[~is_estimate]
    measured = np.zeros(n, dtype=np.bool_)
    measured[measured_rows] = True
    share = np.zeros(n)
    share[measured_rows] = speed[~is_estimate] / table.free_flow_kmh[measured_rows]
    flow = np.zeros(n)
    flow[measured_rows] = flow_in[~is_estimate]
    result = estimate(
        unknown=unknown,
        observed=Observed(measured, share, flow, recent),
        network=registry.directed,
        history=history,
        segments=table,
    )
    return _views(result, registry.segment_ids[result.segment].tolist(), interval)


def _views(result: Estimates, ids: list[str], interval: datetime) -> dict[str, SegmentStateView]:
    letters = np.array(list(LOS_LETTERS), dtype=object)[result.los].tolist()
    return {
        segment_id: SegmentStateView(
            segment_id,
            interval,
            flow_veh_h,
            speed_kmh,
            None,
            density,
            vc,
            los,
            level,
            confidence,
            True,
            source,
        )
        for segment_id, flow_veh_h, speed_kmh, density, vc, los, level, confidence, source in zip(
            ids,
            result.flow_veh_h.tolist(),
            result.speed_kmh.tolist(),
            result.density_veh_km.tolist(),
            result.vc_ratio.tolist(),
            letters,
            result.congestion_level.tolist(),
            result.confidence.tolist(),
            result.source,
            strict=True,
        )
    }


async def segment_states(
    database: Database, *, at: datetime | None = None
) -> list[SegmentStateView]:
    """Every segment's state for the latest interval (or the one holding `at`).

    Segments without usable detectors are estimated from neighbours and history, and
    say so (`estimated=True`, `source`). Empty when nothing has been measured yet.
    """
    return (await state_snapshot(database, at=at)).states


def tehran_hour_of_week(moment: datetime) -> tuple[int, int]:
    """(weekday with Saturday = 0, hour) in Tehran: Iran's week starts on Saturday."""
    local = in_tehran(moment)
    return (local.weekday() + 2) % 7, local.hour
