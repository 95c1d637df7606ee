"""The read side of segment state: the latest interval, with estimates filling the gaps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

import numpy as np

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.traffic.domain.estimates import Estimates, History, Observed, estimate
from shahr.traffic.domain.state import INTERVAL_S, LOS_LETTERS, IntArray
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import Registry, current_registry

HISTORY_WEEKS = 4
# Earlier intervals whose measurements steady this one's (one query fetches them all).
RECENT_INTERVALS = 3


@dataclass
class SegmentStateView:
    """A segment's state over one interval; `estimated` ones carry no occupancy.

    Not to be changed once made, yet not a frozen dataclass: the live map makes one per
    segment on every change of the city's state, and a frozen one is built five times slower.
    """

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


async def recent_states(
    uow: TrafficUnitOfWork, registry: Registry, interval_start: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Measured speed shares and flows of the RECENT_INTERVALS before this one, most recent
    first (rows), NaN where a segment was not measured."""
    shares = np.full((RECENT_INTERVALS, len(registry.segments)), np.nan)
    flows = shares.copy()
    free_flow = registry.segment_table.free_flow_kmh
    for back in range(RECENT_INTERVALS):
        rows = await uow.states.measured_speeds(
            interval_start - timedelta(seconds=INTERVAL_S * (back + 1))
        )
        if not rows:
            continue
        ids, speeds, flow = zip(*rows, strict=True)
        segment = _positions(registry.segment_index, ids)
        use = segment >= 0
        at = segment[use]
        shares[back, at] = np.asarray(speeds, dtype=np.float64)[use] / free_flow[at]
        flows[back, at] = np.asarray(flow, dtype=np.float64)[use]
    return shares, flows


def _positions(index: Mapping[str, int], ids: Sequence[str]) -> IntArray:
    """Each id's position in the registry, -1 where it is not there."""
    return np.fromiter(map(index.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))


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
        stored = _Stored.of(await uow.states.at_interval(interval), interval, registry)
        views = stored.views
        if estimate_missing and len(views) < len(registry.segments):
            history = await history_shares(uow, registry, interval)
            recent = await recent_states(uow, registry, interval)
            views = stored.with_estimates(registry, interval, history, recent)
    return StateSnapshot(interval, views, registry, updated_at)


@dataclass(frozen=True)
class _Stored:
    """The states stored for one interval: views, and as arrays for the estimator."""

    views: list[SegmentStateView]  # in registry order
    segment: IntArray  # each view's position in the registry
    estimated: np.ndarray
    speed_kmh: np.ndarray
    flow_veh_h: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[Any], interval: datetime, registry: Registry) -> _Stored:
        """Rows of (segment_id, *VIEW_COLUMNS), as columns: no Python work per row but the
        tuple each view is."""
        if not rows:
            empty = np.empty(0)
            return cls([], np.empty(0, dtype=np.int64), empty.astype(np.bool_), empty, empty)
        segment = _positions(registry.segment_index, [row[0] for row in rows])
        if (segment < 0).any():
            rows = [row for row, at in zip(rows, segment, strict=True) if at >= 0]
            segment = segment[segment >= 0]
        order = np.argsort(segment, kind="stable")
        columns = list(zip(*(rows[i] for i in order.tolist()), strict=True))
        ids, flow, speed, occupancy, density, vc, los, level, confidence, estimated, source = (
            columns
        )
        letters = map(LOS_LETTERS.__getitem__, los)
        views = list(
            map(
                SegmentStateView,
                ids, repeat(interval), flow, speed, occupancy, density, vc, letters,
                level, confidence, estimated, source,
            )
        )  # fmt: skip
        return cls(
            views,
            segment[order],
            np.asarray(estimated, dtype=np.bool_),
            np.asarray(speed, dtype=np.float64),
            np.asarray(flow, dtype=np.float64),
        )

    def with_estimates(
        self,
        registry: Registry,
        interval: datetime,
        history: History,
        recent: tuple[np.ndarray, np.ndarray],
    ) -> list[SegmentStateView]:
        """These views and the estimates for every segment without one, in registry order."""
        result = _estimates(registry, self, history, recent)
        views = self.views + _views(result, registry.segment_ids[result.segment], interval)
        order = np.argsort(np.concatenate([self.segment, result.segment]), kind="stable")
        return [views[i] for i in order.tolist()]


def _estimates(
    registry: Registry,
    stored: _Stored,
    history: History,
    recent: tuple[np.ndarray, np.ndarray],
) -> Estimates:
    n = len(registry.segments)
    table = registry.segment_table
    unknown = np.ones(n, dtype=np.bool_)
    unknown[stored.segment] = False
    # A stored estimate stands, but only measurements are spread to neighbours.
    measured_rows = stored.segment[~stored.estimated]
    measured = np.zeros(n, dtype=np.bool_)
    measured[measured_rows] = True
    share = np.zeros(n)
    share[measured_rows] = stored.speed_kmh[~stored.estimated] / table.free_flow_kmh[measured_rows]
    flow = np.zeros(n)
    flow[measured_rows] = stored.flow_veh_h[~stored.estimated]
    return estimate(
        unknown=unknown,
        observed=Observed(measured, share, flow, *recent),
        network=registry.directed,
        history=history,
        segments=table,
    )


def _views(result: Estimates, ids: np.ndarray, interval: datetime) -> list[SegmentStateView]:
    letters = np.array(list(LOS_LETTERS), dtype=object)[result.los]
    return list(
        map(
            SegmentStateView,
            ids, repeat(interval), result.flow_veh_h.tolist(), result.speed_kmh.tolist(),
            repeat(None), result.density_veh_km.tolist(), result.vc_ratio.tolist(), letters,
            result.congestion_level.tolist(), result.confidence.tolist(), repeat(True),
            result.source,
        )
    )  # fmt: skip


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
