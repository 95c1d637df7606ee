"""Per-minute station data as the detectors see it, in numpy arrays.

A station is the loops of one segment at one place (a loop per lane); its minute is the
lanes' mean occupancy (0..1), their summed flow (veh/h) and their flow-weighted mean speed.
A station pair is a station and the next one downstream along the direction of travel;
incident detection compares the two. Missing data is NaN, never zero: a silent loop must
not look like an empty road.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
Cube = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LaneMinute:
    """One loop's minute: `minute` counts from the series' start."""

    station: str
    lane: int  # 1 = kerb side
    minute: int
    occupancy: float | None  # 0..1
    flow_veh_h: float | None
    speed_kmh: float | None


@dataclass(frozen=True)
class Stations:
    """Station values, arrays (stations, minutes); NaN where no loop of it reported."""

    names: tuple[str, ...]
    occupancy: Matrix
    flow_veh_h: Matrix
    speed_kmh: Matrix
    lane_flow_veh_h: Cube  # (stations, lanes, minutes), NaN where a lane has no data
    lane_occupancy: Cube | None = None  # (stations, lanes, minutes), 0..1

    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}


@dataclass(frozen=True)
class PairSeries:
    """The station values of each pair's upstream and downstream station, arrays
    (pairs, minutes); what every detection method reads."""

    upstream_occupancy: Matrix
    downstream_occupancy: Matrix
    upstream_speed_kmh: Matrix
    downstream_speed_kmh: Matrix
    upstream_flow_veh_h: Matrix
    downstream_flow_veh_h: Matrix
    upstream_lane_flow_veh_h: Cube  # (pairs, lanes, minutes)
    # None where the feed gives no lane occupancy: the lane test then goes without it.
    upstream_lane_occupancy: Cube | None = None

    @property
    def shape(self) -> tuple[int, int]:
        rows, columns = self.upstream_occupancy.shape
        return int(rows), int(columns)


def stations_of(lanes: Sequence[LaneMinute], names: Sequence[str], minutes: int) -> Stations:
    """The lanes' minutes summed into stations (lanes with no data left out of the mean)."""
    index = {name: i for i, name in enumerate(names)}
    shape = (len(names), minutes)
    occupancy_sum, occupancy_n = np.zeros(shape), np.zeros(shape)
    flow_sum, flow_n = np.zeros(shape), np.zeros(shape)
    speed_weighted, speed_weight = np.zeros(shape), np.zeros(shape)
    lane_count = max((lane.lane for lane in lanes), default=1)
    lane_flow = np.full((len(names), lane_count, minutes), np.nan)
    lane_occupancy = np.full((len(names), lane_count, minutes), np.nan)
    for lane in lanes:
        row = index.get(lane.station)
        if row is None or not 0 <= lane.minute < minutes:
            continue
        at = (row, lane.minute)
        if lane.occupancy is not None:
            occupancy_sum[at] += lane.occupancy
            occupancy_n[at] += 1
            if lane.lane >= 1:
                lane_occupancy[row, lane.lane - 1, lane.minute] = lane.occupancy
        if lane.flow_veh_h is not None:
            flow_sum[at] += lane.flow_veh_h
            flow_n[at] += 1
            if lane.lane >= 1:
                lane_flow[row, lane.lane - 1, lane.minute] = lane.flow_veh_h
            if lane.speed_kmh is not None and lane.flow_veh_h > 0:
                speed_weighted[at] += lane.speed_kmh * lane.flow_veh_h
                speed_weight[at] += lane.flow_veh_h
    with np.errstate(invalid="ignore", divide="ignore"):
        return Stations(
            names=tuple(names),
            occupancy=np.where(occupancy_n > 0, occupancy_sum / occupancy_n, np.nan),
            flow_veh_h=np.where(flow_n > 0, flow_sum, np.nan),
            speed_kmh=np.where(speed_weight > 0, speed_weighted / speed_weight, np.nan),
            lane_flow_veh_h=lane_flow,
            lane_occupancy=lane_occupancy,
        )


def pairs_of(stations: Stations, pairs: Sequence[tuple[str, str]]) -> PairSeries:
    """The (upstream, downstream) station pairs' series, in the order given."""
    index = stations.index()
    up = np.array([index[u] for u, _ in pairs], dtype=np.int64)
    down = np.array([index[d] for _, d in pairs], dtype=np.int64)
    return PairSeries(
        upstream_occupancy=stations.occupancy[up],
        downstream_occupancy=stations.occupancy[down],
        upstream_speed_kmh=stations.speed_kmh[up],
        downstream_speed_kmh=stations.speed_kmh[down],
        upstream_flow_veh_h=stations.flow_veh_h[up],
        downstream_flow_veh_h=stations.flow_veh_h[down],
        upstream_lane_flow_veh_h=stations.lane_flow_veh_h[up],
        upstream_lane_occupancy=(
            None if stations.lane_occupancy is None else stations.lane_occupancy[up]
        ),
    )


def onsets(alarm: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(pair, minute) where each alarm starts: an alarm lasting several minutes is one."""
    before = np.zeros_like(alarm)
    before[:, 1:] = alarm[:, :-1]
    rows, columns = np.nonzero(alarm & ~before)
    return sorted(zip(rows.tolist(), columns.tolist(), strict=True), key=lambda rc: (rc[1], rc[0]))
