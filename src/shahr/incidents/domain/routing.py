"""Which units reach an incident first, by travel time over the roads at their current speeds.

Straight-line distance sends the car across the river from the crash, or the one just past
it on a one-way street; the network does not. Each unit's time is: to the end of the
segment it is on, then the fastest way between junctions, then along the incident's segment
to the incident. Units that cannot be ranked are listed with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shahr.incidents.domain.routing_graph import (
    MIN_SPEED_KMH,
    OFF_NETWORK_M,
    SAME_ROAD_M,
    LinkLike,
    NetworkTimes,
    Place,
    RoadGraph,
    RoadNotInNetworkError,
    Snaps,
)
from shahr.kernel.geo import EARTH_RADIUS_M, FloatArray

__all__ = [
    "AT_THE_INCIDENT_M",
    "AVAILABLE",
    "MIN_SPEED_KMH",
    "OFF_NETWORK_M",
    "SAME_ROAD_M",
    "SKIP_REASONS",
    "GraphCache",
    "LinkLike",
    "Place",
    "Recommendation",
    "RoadGraph",
    "RoadNotInNetworkError",
    "UnitPosition",
    "rank_units",
]

AVAILABLE = "available"
# A unit snapped this close past the incident is at it: the snapped offset carries the
# projection's rounding, and a unit standing at the crash must not be sent round the block.
AT_THE_INCIDENT_M = 0.01
# In the order they are checked: a unit busy elsewhere is "unavailable" even if its phone is
# also silent.
SKIP_REASONS = ("unavailable", "stale", "off_network", "unreachable")
RANKED = ""  # no reason to skip


@dataclass(frozen=True)
class UnitPosition:
    """A unit's last reported position and its status when asked."""

    unit_id: str
    kind: str
    status: str
    lon: float
    lat: float
    reported_at: datetime


@dataclass(frozen=True)
class Recommendation:
    """One unit's place in the ranking, with what explains it (or why it was left out)."""

    unit_id: str
    travel_s: float | None
    network_m: float | None
    straight_m: float
    position_age_s: float
    snapped_segment_id: str | None
    skipped: str | None  # None = ranked; else one of SKIP_REASONS
    off_road_m: float | None = None  # how far the position was from the segment it snapped to
    via: tuple[str, ...] = ()  # the named streets of the fastest way, in order


@dataclass(frozen=True)
class _Best:
    """Per snapped unit: its fastest candidate segment, where on it, and the time."""

    unit: np.ndarray
    segment: np.ndarray
    offset_m: FloatArray
    off_road_m: FloatArray
    travel_s: FloatArray
    direct: np.ndarray  # on the incident's segment, behind the incident: no junction passed


class GraphCache:
    """The graph of the last road snapshot seen, rebuilt only when the snapshot's version moves.

    A new version on the same network (only the speeds moved, as every state interval)
    keeps the junctions and the snapping index and reweighs the links.
    """

    def __init__(self) -> None:
        self._version: str | None = None
        self._network_version: str | None = None
        self._graph: RoadGraph | None = None

    def graph_for(
        self, version: str, links: Sequence[LinkLike], *, network_version: str = ""
    ) -> RoadGraph:
        if self._graph is not None and self._version == version:
            return self._graph
        if self._graph is not None and network_version and network_version == self._network_version:
            self._graph = self._graph.with_speeds(links)
        else:
            self._graph = RoadGraph.build(links)
        self._version, self._network_version = version, network_version
        return self._graph


def rank_units(
    graph: RoadGraph,
    target: Place,
    units: Sequence[UnitPosition],
    *,
    now: datetime,
    stale_after_s: float = 120.0,
    limit: int = 5,
) -> list[Recommendation]:
    """The `limit` fastest units by travel time, then up to `limit` skipped ones with why.

    The skipped listed are those nearest in a straight line: the ones a dispatcher looking at
    the map would ask about. Ties in time go to the unit id, so a ranking is reproducible.
    """
    goal = graph.segment_of(target)
    goal_offset = min(max(target.offset_m, 0.0), float(graph.length_m[goal]))
    here_lon, here_lat = graph.point_at(Place(target.segment_id, goal_offset))
    lons = np.array([u.lon for u in units], dtype=np.float64)
    lats = np.array([u.lat for u in units], dtype=np.float64)
    straight = _great_circle_m(here_lon, here_lat, lons, lats)
    age = np.array([max((now - u.reported_at).total_seconds(), 0.0) for u in units])
    reason = np.full(len(units), RANKED, dtype=object)
    reason[[u.status != AVAILABLE for u in units]] = "unavailable"
    reason[(reason == RANKED) & (age > stale_after_s)] = "stale"
    asked = np.flatnonzero(reason == RANKED)
    times = graph.times_to_junction(int(graph.from_node[goal]))
    best = _fastest(graph, times, goal, goal_offset, graph.snap_all(lons[asked], lats[asked]))
    best_unit = asked[best.unit]
    reachable = np.isfinite(best.travel_s)
    reason[asked] = "off_network"
    reason[best_unit[reachable]] = RANKED
    reason[best_unit[~reachable]] = "unreachable"
    rows = np.flatnonzero(reachable)
    unit_ids = np.array([u.unit_id for u in units], dtype=object)[best_unit[rows]].astype(str)
    rows = rows[np.lexsort((unit_ids, best.travel_s[rows]))][:limit]
    result = [
        _ranked(graph, times, best, row, goal, goal_offset, units[int(best_unit[row])],
                float(straight[best_unit[row]]), float(age[best_unit[row]]))
        for row in rows.tolist()
    ]  # fmt: skip
    snapped = {int(unit): row for row, unit in enumerate(best_unit.tolist())}
    for i in [i for i in np.argsort(straight, kind="stable").tolist() if reason[i] != RANKED][
        :limit
    ]:
        row = snapped.get(i)
        result.append(
            Recommendation(
                unit_id=units[i].unit_id,
                travel_s=None,
                network_m=None,
                straight_m=float(straight[i]),
                position_age_s=float(age[i]),
                snapped_segment_id=None if row is None else graph.segment_ids[best.segment[row]],
                skipped=str(reason[i]),
                off_road_m=None if row is None else float(best.off_road_m[row]),
            )
        )
    return result


def _fastest(
    graph: RoadGraph, times: NetworkTimes, goal: int, goal_offset: float, snaps: Snaps
) -> _Best:
    """Each snapped unit's time over each of its candidate segments, and the fastest one."""
    segment = snaps.segment
    offset = np.minimum(snaps.offset_m, graph.length_m[segment])
    speed = graph.speed_ms[segment]
    last_leg_s = goal_offset / graph.speed_ms[goal]
    around = (graph.length_m[segment] - offset) / speed + times.seconds[graph.to_node[segment]]
    direct = (segment == goal) & (offset <= goal_offset + AT_THE_INCIDENT_M)
    travel = np.where(direct, np.maximum(goal_offset - offset, 0.0) / speed, around + last_leg_s)
    order = np.lexsort((travel, snaps.point))
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = snaps.point[order][1:] != snaps.point[order][:-1]
    pick = order[first]
    return _Best(
        unit=snaps.point[pick],
        segment=segment[pick],
        offset_m=offset[pick],
        off_road_m=snaps.distance_m[pick],
        travel_s=travel[pick],
        direct=direct[pick],
    )


def _ranked(
    graph: RoadGraph,
    times: NetworkTimes,
    best: _Best,
    row: int,
    goal: int,
    goal_offset: float,
    unit: UnitPosition,
    straight_m: float,
    age_s: float,
) -> Recommendation:
    segment = int(best.segment[row])
    offset = float(best.offset_m[row])
    if best.direct[row]:
        network_m, way = goal_offset - offset, [segment]
    else:
        between = graph.way_from(int(graph.to_node[segment]), times)
        way = [segment, *between, goal]
        network_m = (
            float(graph.length_m[segment]) - offset
            + float(graph.length_m[between].sum()) + goal_offset
        )  # fmt: skip
    return Recommendation(
        unit_id=unit.unit_id,
        travel_s=float(best.travel_s[row]),
        network_m=network_m,
        straight_m=straight_m,
        position_age_s=age_s,
        snapped_segment_id=graph.segment_ids[segment],
        skipped=None,
        off_road_m=float(best.off_road_m[row]),
        via=_street_names(graph, way),
    )


def _street_names(graph: RoadGraph, way: list[int]) -> tuple[str, ...]:
    names: list[str] = []
    for segment in way:
        name = graph.names[segment]
        if name and (not names or names[-1] != name):
            names.append(name)
    return tuple(names)


def _great_circle_m(lon: float, lat: float, lons: FloatArray, lats: FloatArray) -> FloatArray:
    """Haversine metres from one point to many (NaN where a coordinate is not a number)."""
    phi, phis = np.radians(lat), np.radians(lats)
    s = (
        np.sin((phis - phi) / 2) ** 2
        + np.cos(phi) * np.cos(phis) * np.sin(np.radians(lons - lon) / 2) ** 2
    )
    metres: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(s, 0.0, 1.0)))
    return metres
