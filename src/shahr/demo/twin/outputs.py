"""SUMO's output files, read into plain records: loop intervals, passages, edge ground truth.

Times are simulation seconds. Only whole intervals are kept: a run that stops one step
past its end (so its state can be saved at the end) writes a one-second stub interval.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shahr.demo.twin.sumo_files import CAMERA_LANE_MARK


@dataclass(frozen=True)
class LoopInterval:
    """An E1 induction loop's aggregate over one period.

    `count` is SUMO's nVehContrib (vehicles whose front passed the loop in the period);
    `harmonic_speed_ms` the harmonic mean of their spot speeds, None when none passed.
    """

    detector_id: str
    begin_s: float
    end_s: float
    count: int
    occupancy_pct: float
    harmonic_speed_ms: float | None
    mean_speed_ms: float | None


@dataclass(frozen=True)
class Passage:
    """A vehicle's front reaching a camera's line in one lane (1 = kerb side)."""

    camera_id: str
    lane: int
    time_s: float
    vehicle_id: str


@dataclass(frozen=True)
class EdgeTruth:
    """SUMO's edgeData for one edge and period: what really happened there.

    `speed_kmh` is the space-mean speed (distance driven / time spent on the edge),
    `density_veh_km` the mean number of vehicles on it per km (all lanes), and
    `flow_veh_h` their product, Edie's generalised flow (vehicle-km per hour per km).
    """

    edge_id: str
    begin_s: float
    period_s: float
    speed_kmh: float
    density_veh_km: float
    flow_veh_h: float
    traveltime_s: float
    sampled_s: float
    entered: int


def _intervals(path: Path, tag: str) -> Iterator[ET.Element]:
    # Files SUMO just wrote into the twin's own directory, not input from outside.
    for _, element in ET.iterparse(path, events=("end",)):  # noqa: S314
        if element.tag == tag:
            yield element
            element.clear()


def _speed(text: str | None) -> float | None:
    value = float(text) if text is not None else -1.0
    return value if value >= 0 else None


def read_loops(path: Path, period_s: int) -> list[LoopInterval]:
    if not path.exists():
        return []
    loops = []
    for element in _intervals(path, "interval"):
        begin, end = float(element.get("begin", "0")), float(element.get("end", "0"))
        if round(end - begin) != period_s:
            continue
        count = int(element.get("nVehContrib", "0"))
        loops.append(
            LoopInterval(
                detector_id=element.get("id", ""),
                begin_s=begin,
                end_s=end,
                count=count,
                occupancy_pct=float(element.get("occupancy", "0")),
                harmonic_speed_ms=_speed(element.get("harmonicMeanSpeed")) if count else None,
                mean_speed_ms=_speed(element.get("speed")) if count else None,
            )
        )
    return loops


def read_passages(path: Path, *, until_s: float) -> list[Passage]:
    """Vehicles entering each camera's line before `until_s` (a run's last step is dropped)."""
    if not path.exists():
        return []
    passages = []
    for element in _intervals(path, "instantOut"):
        if element.get("state") != "enter":
            continue
        time_s = float(element.get("time", "0"))
        if time_s >= until_s:
            continue
        camera_id, _, lane = element.get("id", "").rpartition(CAMERA_LANE_MARK)
        passages.append(
            Passage(
                camera_id=camera_id,
                lane=int(lane),
                time_s=time_s,
                vehicle_id=element.get("vehID", ""),
            )
        )
    return passages


def read_edge_truth(path: Path, period_s: int) -> list[EdgeTruth]:
    if not path.exists():
        return []
    truth = []
    for _, interval in ET.iterparse(path, events=("end",)):  # noqa: S314  # SUMO's own output
        if interval.tag != "interval":
            continue
        begin, end = float(interval.get("begin", "0")), float(interval.get("end", "0"))
        if round(end - begin) == period_s:
            for edge in interval.iter("edge"):
                speed_ms = _speed(edge.get("speed"))
                sampled = float(edge.get("sampledSeconds", "0"))
                if speed_ms is None or sampled <= 0:
                    continue
                density = float(edge.get("density", "0"))
                truth.append(
                    EdgeTruth(
                        edge_id=edge.get("id", ""),
                        begin_s=begin,
                        period_s=end - begin,
                        speed_kmh=speed_ms * 3.6,
                        density_veh_km=density,
                        flow_veh_h=density * speed_ms * 3.6,
                        traveltime_s=float(edge.get("traveltime", "0")),
                        sampled_s=sampled,
                        entered=int(float(edge.get("entered", "0"))),
                    )
                )
        interval.clear()
    return truth
