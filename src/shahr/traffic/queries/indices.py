"""Indices over history: per segment, corridor, district and city; by time of day and week."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat, haversine_m
from shahr.traffic.domain.errors import InvalidQueryError
from shahr.traffic.domain.indices import Indices, indices_from, robust_travel_time
from shahr.traffic.domain.network import SegmentId
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import Registry, current_registry
from shahr.traffic.queries.state import StateSnapshot, tehran_hour_of_week

MAX_SPAN = timedelta(days=400)
# The one area of Scope.city: its id in the area rollups history writes.
CITY_ID = "all"


class Scope(StrEnum):
    city = "city"
    district = "district"
    corridor = "corridor"
    segment = "segment"


def _check_span(since: datetime, until: datetime) -> None:
    if until <= since:
        raise InvalidQueryError("The end of the period must come after its start.")
    if until - since > MAX_SPAN:
        raise InvalidQueryError("Ask for at most {days} days at once.", days=MAX_SPAN.days)


async def _hour_rows(
    database: Database, scope: Scope, scope_id: str | None, since: datetime, until: datetime
) -> Sequence[Any]:
    async with TrafficUnitOfWork(database) as uow:
        if scope is Scope.segment:
            if not scope_id:
                raise InvalidQueryError("Name the segment.")
            return await uow.history.segment_hours(since, until, [scope_id])
        wanted = CITY_ID if scope is Scope.city else scope_id
        if not wanted:
            raise InvalidQueryError("Name the district or corridor.")
        return await uow.history.area_hours(scope.value, since, until, wanted)


def _indices(rows: Sequence[Any]) -> Indices | None:
    if not rows:
        return None
    return indices_from(
        np.array([r.vht for r in rows]),
        np.array([r.ff_vht for r in rows]),
        np.array([r.vkt for r in rows]),
    )


async def indices(
    database: Database, *, scope: Scope, scope_id: str | None, since: datetime, until: datetime
) -> Indices | None:
    """TTI, PTI, BI, congestion (TomTom) and VKT over hours in [since, until)."""
    _check_span(since, until)
    return _indices(await _hour_rows(database, scope, scope_id, since, until))


@dataclass(frozen=True)
class ProfileCell:
    weekday: int  # Saturday = 0 (Iran's week)
    hour: int  # Tehran time
    indices: Indices


async def index_profile(
    database: Database, *, scope: Scope, scope_id: str | None, since: datetime, until: datetime
) -> list[ProfileCell]:
    """The indices for each (day of week, hour of day) with data, in Tehran time."""
    _check_span(since, until)
    rows = await _hour_rows(database, scope, scope_id, since, until)
    cells: dict[tuple[int, int], list[Any]] = {}
    for row in rows:
        cells.setdefault(tehran_hour_of_week(row.hour_start), []).append(row)
    profile = []
    for (weekday, hour), members in sorted(cells.items()):
        found = _indices(members)
        if found is not None:
            profile.append(ProfileCell(weekday, hour, found))
    return profile


@dataclass(frozen=True)
class DistrictCard:
    district: int
    segments: int
    measured: int
    speed_kmh: float | None
    travel_time_index: float | None
    congestion_pct: float | None
    usual_travel_time_index: float | None  # the same hour of the week, the last four weeks
    trend: str  # "worse", "better", "usual" or "unknown"
    last_hours: list[float | None]  # TTI of each of the last 12 hours, oldest first


def _tti_of(snapshot: StateSnapshot, members: list[int]) -> tuple[float | None, float | None]:
    table = snapshot.registry.segment_table
    states = {s.segment_id: s for s in snapshot.states}
    vht = ff = vkt = 0.0
    for index in members:
        segment = snapshot.registry.segments[index]
        state = states.get(segment.id)
        if state is None or state.flow_veh_h <= 0:
            continue
        km = state.flow_veh_h * table.length_m[index] / 1000.0
        vkt += km
        vht += km / max(state.speed_kmh, 0.1)
        ff += km / table.free_flow_kmh[index]
    if ff <= 0:
        return None, None
    return vht / ff, vkt / vht


async def district_cards(
    database: Database, snapshot: StateSnapshot, *, now: datetime
) -> list[DistrictCard]:
    """Each district's traffic now, against its usual for this hour, with the last hours."""
    registry = snapshot.registry
    members: dict[int, list[int]] = {}
    for index, segment in enumerate(registry.segments):
        if segment.district is not None:
            members.setdefault(segment.district, []).append(index)
    hour = now.replace(minute=0, second=0, microsecond=0)
    async with TrafficUnitOfWork(database) as uow:
        recent = await uow.history.area_hours("district", hour - timedelta(hours=12), hour)
        usual_rows = []
        for week in range(1, 5):
            start = hour - timedelta(weeks=week)
            usual_rows += await uow.history.area_hours(
                "district", start, start + timedelta(hours=1)
            )
    measured_ids = {s.segment_id for s in snapshot.states if not s.estimated}
    cards = []
    for district, indexes in sorted(members.items()):
        tti, speed = _tti_of(snapshot, indexes)
        usual = _indices([r for r in usual_rows if r.scope_id == str(district)])
        usual_tti = usual.travel_time_index if usual else None
        if tti is None or usual_tti is None:
            trend = "unknown"
        elif tti > usual_tti * 1.1:
            trend = "worse"
        elif tti < usual_tti / 1.1:
            trend = "better"
        else:
            trend = "usual"
        by_hour = {r.hour_start: r for r in recent if r.scope_id == str(district)}
        last_hours = []
        for back in range(12, 0, -1):
            row = by_hour.get(hour - timedelta(hours=back))
            last_hours.append(round(row.vht / row.ff_vht, 3) if row and row.ff_vht > 0 else None)
        cards.append(
            DistrictCard(
                district=district,
                segments=len(indexes),
                measured=sum(1 for i in indexes if registry.segments[i].id in measured_ids),
                speed_kmh=None if speed is None else round(speed, 1),
                travel_time_index=None if tti is None else round(tti, 3),
                congestion_pct=None if tti is None else round((tti - 1) * 100, 1),
                usual_travel_time_index=usual_tti,
                trend=trend,
                last_hours=last_hours,
            )
        )
    return cards


@dataclass(frozen=True)
class AreaComparison:
    scope: str
    scope_id: str
    this_week: Indices | None
    last_year: Indices | None
    vkt_change_pct: float | None
    tti_change_pct: float | None


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / before * 100.0, 1)


async def week_comparison(
    database: Database, *, week_start: date, scope: Scope = Scope.district
) -> list[AreaComparison]:
    """This week (7 Tehran days from `week_start`) against the same week a year before.

    "The same week" is 52 weeks earlier, so Saturdays meet Saturdays.
    """
    if scope is Scope.segment:
        raise InvalidQueryError("Compare cities, districts or corridors.")
    before = week_start - timedelta(weeks=52)
    async with TrafficUnitOfWork(database) as uow:
        now_rows = await uow.history.area_days(
            scope.value, week_start, week_start + timedelta(days=7)
        )
        then_rows = await uow.history.area_days(scope.value, before, before + timedelta(days=7))
    ids = sorted({r.scope_id for r in now_rows} | {r.scope_id for r in then_rows}, key=_natural)
    result = []
    for scope_id in ids:
        this_week = _indices([r for r in now_rows if r.scope_id == scope_id])
        last_year = _indices([r for r in then_rows if r.scope_id == scope_id])
        result.append(
            AreaComparison(
                scope=scope.value,
                scope_id=scope_id,
                this_week=this_week,
                last_year=last_year,
                vkt_change_pct=_change(
                    this_week.vkt if this_week else None, last_year.vkt if last_year else None
                ),
                tti_change_pct=_change(
                    this_week.travel_time_index if this_week else None,
                    last_year.travel_time_index if last_year else None,
                ),
            )
        )
    return result


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (10**9, text)


def week_start_of(moment: datetime) -> date:
    """The Saturday that starts the Tehran week holding `moment`."""
    local = in_tehran(moment).date()
    return local - timedelta(days=(local.weekday() + 2) % 7)


@dataclass(frozen=True)
class JourneyTime:
    from_camera: str
    to_camera: str
    travel_time_s: float
    journeys: int
    distance_m: float | None
    speed_kmh: float | None


async def journey_times(
    database: Database, *, since: datetime, until: datetime
) -> list[JourneyTime]:
    """Median plate-to-plate travel time per camera pair, outliers removed."""
    _check_span(since, until)
    registry = await current_registry(database)
    async with TrafficUnitOfWork(database) as uow:
        rows = await uow.readings.journeys_between(since, until)
    pairs: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        pairs.setdefault((row.from_camera, row.to_camera), []).append(row.travel_time_s)
    result = []
    for (a, b), times in sorted(pairs.items()):
        robust = robust_travel_time(times)
        if robust is None:
            continue
        travel_time, kept = robust
        distance = _camera_distance(registry, a, b)
        result.append(
            JourneyTime(
                from_camera=a,
                to_camera=b,
                travel_time_s=round(travel_time, 1),
                journeys=kept,
                distance_m=None if distance is None else round(distance),
                speed_kmh=None if distance is None else round(distance / travel_time * 3.6, 1),
            )
        )
    return result


def detector_position(registry: Registry, detector_id: str) -> LonLat | None:
    """Where a detector sits: `position_m` along its segment, else the segment's middle."""
    detector = registry.detector(detector_id)
    if detector is None:
        return None
    segment = registry.segments[registry.segment_index[detector.segment_id]]
    if detector.position_m is None:
        return segment.midpoint
    left = detector.position_m
    for a, b in zip(segment.geometry, segment.geometry[1:], strict=False):
        step = haversine_m(a, b)
        if left <= step and step > 0:
            t = left / step
            return LonLat(a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat))
        left -= step
    return segment.geometry[-1]


def _camera_distance(registry: Registry, a: str, b: str) -> float | None:
    """Metres along the road from camera a to camera b, through the network's segments."""
    first, second = registry.detector(a), registry.detector(b)
    if first is None or second is None:
        return None
    path = _shortest_path_m(registry, first.segment_id, second.segment_id)
    if path is None:
        return None
    start_seg = registry.segments[registry.segment_index[first.segment_id]]
    end_seg = registry.segments[registry.segment_index[second.segment_id]]
    from_a = start_seg.length_m - (
        first.position_m if first.position_m is not None else start_seg.length_m / 2
    )
    to_b = second.position_m if second.position_m is not None else end_seg.length_m / 2
    if first.segment_id == second.segment_id:
        return max(to_b - (start_seg.length_m - from_a), 0.0) or None
    return from_a + path + to_b


def _shortest_path_m(registry: Registry, source: str, target: str) -> float | None:
    """Length of the segments strictly between source and target (Dijkstra), or None."""
    if source == target:
        return 0.0
    lengths = {s.id: s.length_m for s in registry.segments}
    queue: list[tuple[float, str]] = [(0.0, source)]
    best = {source: 0.0}
    while queue:
        distance, segment_id = heapq.heappop(queue)
        if segment_id == target:
            return distance
        if distance > best.get(segment_id, float("inf")) or distance > 50_000:
            continue
        for following in registry.adjacency.downstream.get(SegmentId(segment_id), []):
            step = 0.0 if following == target else lengths[following]
            through = distance + step
            if through < best.get(following, float("inf")):
                best[following] = through
                heapq.heappush(queue, (through, following))
    return None
