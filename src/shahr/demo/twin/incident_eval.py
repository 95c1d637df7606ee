"""Scoring incident detection on the twin: alarms against the injected incidents.

A scenario's loop minutes become station series (a station per edge, its lanes' loops
together) and station pairs (an edge's station and the one on the edge straight on). A
method turns the series into alarm states; each alarm's first minute is one alarm, raised
at the end of that minute (when its data exists).

- An incident is *detected* when an alarm starts between its start and its end plus
  `GRACE_S`, on a pair whose upstream station is on the incident's edge or on the edge just
  upstream of it (the pair that straddles it). Time to detect: that alarm's time minus the
  incident's start; the mean over detected incidents.
- A *false alarm* is an alarm that matches no incident; the rate is per 100 station-hours
  (a station = the loops of one edge), counted over the scored minutes (after warm-up) of
  every scenario, quiet and with incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shahr.demo.twin.incident_run import IncidentRun, IncidentTruth
from shahr.demo.twin.incident_scenarios import WARM_UP_MINUTES
from shahr.incidents.domain.detection.pairs import SegmentShape, straight_on
from shahr.incidents.domain.detection.series import (
    LaneMinute,
    PairSeries,
    onsets,
    pairs_of,
    stations_of,
)

GRACE_S = 180.0
PERIOD_S = 60

Method = Callable[[PairSeries], npt.NDArray[np.bool_]]


@dataclass(frozen=True)
class Prepared:
    """A run as the detectors see it: the pairs (upstream edge, downstream edge), their
    series, and the ground truth."""

    name: str
    role: str
    pairs: tuple[tuple[str, str], ...]
    series: PairSeries
    truth: tuple[IncidentTruth, ...]
    stations: int


def prepare(run: IncidentRun) -> Prepared:
    scenario = run.scenario
    station_of = {d.id: d.edge_id for d in scenario.detectors}
    lane_of = {d.id: d.lane for d in scenario.detectors}
    minutes = (scenario.end_s - scenario.begin_s) // PERIOD_S
    lanes = [
        LaneMinute(
            station=station_of[loop.detector_id],
            lane=lane_of[loop.detector_id],
            minute=loop.begin_s // PERIOD_S,
            occupancy=loop.occupancy_pct / 100.0,
            flow_veh_h=loop.count * 3600.0 / PERIOD_S,
            speed_kmh=loop.speed_kmh,
        )
        for loop in run.loops
        if loop.detector_id in station_of
    ]
    names = sorted(scenario.monitored_edges)
    stations = stations_of(lanes, names, minutes)
    successors = straight_on(
        [SegmentShape(e.id, e.from_node, e.to_node, e.geometry) for e in scenario.edges]
    )
    monitored = set(names)
    pairs = tuple(
        (edge, successors[edge])
        for edge in names
        if edge in successors and successors[edge] in monitored
    )
    return Prepared(
        name=run.spec.name,
        role=run.spec.role,
        pairs=pairs,
        series=pairs_of(stations, pairs),
        truth=run.truth,
        stations=len(names),
    )


@dataclass(frozen=True)
class Outcome:
    incidents: int
    detected: int
    times_to_detect_s: tuple[float, ...]
    false_alarms: int
    station_hours: float

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            incidents=self.incidents + other.incidents,
            detected=self.detected + other.detected,
            times_to_detect_s=self.times_to_detect_s + other.times_to_detect_s,
            false_alarms=self.false_alarms + other.false_alarms,
            station_hours=self.station_hours + other.station_hours,
        )

    @property
    def detection_rate_pct(self) -> float | None:
        return 100.0 * self.detected / self.incidents if self.incidents else None

    @property
    def mean_time_to_detect_min(self) -> float | None:
        times = self.times_to_detect_s
        return sum(times) / len(times) / 60.0 if times else None

    @property
    def false_alarms_per_100_station_hours(self) -> float:
        return 100.0 * self.false_alarms / self.station_hours if self.station_hours else 0.0


EMPTY = Outcome(0, 0, (), 0, 0.0)


def _matches(pair: tuple[str, str], incident: IncidentTruth) -> bool:
    # The pair on the incident's edge, or the pair whose downstream station is on it.
    return incident.edge_id in pair


def score(prepared: Prepared, method: Method) -> Outcome:
    alarm = method(prepared.series)
    alarm[:, :WARM_UP_MINUTES] = False
    raised = [(prepared.pairs[pair], (minute + 1) * PERIOD_S) for pair, minute in onsets(alarm)]
    first: dict[int, float] = {}
    false_alarms = 0
    for pair, at_s in raised:
        hits = [
            index
            for index, incident in enumerate(prepared.truth)
            if _matches(pair, incident) and incident.begin_s < at_s <= incident.end_s + GRACE_S
        ]
        if not hits:
            false_alarms += 1
        for index in hits:
            first[index] = min(first.get(index, at_s), at_s)
    minutes = prepared.series.shape[1] - WARM_UP_MINUTES
    return Outcome(
        incidents=len(prepared.truth),
        detected=len(first),
        times_to_detect_s=tuple(first[i] - prepared.truth[i].begin_s for i in sorted(first)),
        false_alarms=false_alarms,
        station_hours=prepared.stations * minutes / 60.0,
    )


def score_all(prepared: Sequence[Prepared], method: Method) -> Outcome:
    total = EMPTY
    for item in prepared:
        total = total + score(item, method)
    return total
