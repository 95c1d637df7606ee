"""The platform's segment states against SUMO's ground truth: the accuracy figures.

Each (segment, interval) the platform reports is paired with SUMO's edgeData for the same
edge and minute. Percentages are mean absolute percentage errors over the pairs where the
edge carried traffic in SUMO (at least `MIN_TRUTH_VEHICLES` vehicle-minutes, so that one
car more or less is not a 50 % error) and, for flow, at least `MIN_TRUTH_FLOW_VEH_H`.
The same figures over 5-minute means are given beside the 1-minute ones.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shahr.demo.twin.outputs import EdgeTruth
from shahr.demo.twin.run import Span
from shahr.demo.twin.scenario import Scenario
from shahr.demo.twin.seed import load_into_platform
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.traffic.domain import DetectorReading, PlatePassage

Send = Callable[["Span"], Awaitable[None]]

MIN_TRUTH_VEHICLES = 1.0  # vehicle-minutes on the edge in the interval (sampledSeconds / 60)
MIN_TRUTH_FLOW_VEH_H = 60.0
AGGREGATE_S = 300


@dataclass(frozen=True)
class StatePair:
    """One segment and interval: what the platform said, and what SUMO saw."""

    segment_id: str
    interval_start: datetime
    monitored: bool
    estimated: bool
    speed_kmh: float
    flow_veh_h: float
    density_veh_km: float
    truth_speed_kmh: float
    truth_flow_veh_h: float
    truth_density_veh_km: float
    truth_sampled_s: float


@dataclass(frozen=True)
class Figure:
    """One error measure over a set of pairs."""

    mape_pct: float | None
    bias_pct: float | None  # mean signed percentage error: + means the platform overstates
    pairs: int

    def __str__(self) -> str:
        if self.mape_pct is None:
            return "   n/a"
        return f"{self.mape_pct:6.2f} % (bias {self.bias_pct:+.2f} %, n={self.pairs})"


@dataclass
class AccuracyReport:
    """The accuracy figures; `table()` prints them, `write()` keeps them as JSON."""

    scenario: str
    period_s: int
    intervals: int
    segments: int
    monitored_segments: int
    speed_monitored: Figure
    speed_unmonitored: Figure
    flow_monitored: Figure
    flow_unmonitored: Figure
    speed_monitored_5min: Figure
    speed_unmonitored_5min: Figure
    flow_monitored_5min: Figure
    flow_unmonitored_5min: Figure
    # Identities on the platform's own output, as the largest relative deviation seen.
    flow_from_counts_max_error: float
    flow_density_speed_max_error: float
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        rows = [
            f"Twin accuracy: scenario {self.scenario}, {self.intervals} intervals of"
            f" {self.period_s} s, {self.segments} segments ({self.monitored_segments} monitored)",
            f"{'measure':<44}{'1-minute states':<40}5-minute means",
            f"{'speed MAPE, monitored (target < 10 %)':<44}"
            f"{self.speed_monitored!s:<40}{self.speed_monitored_5min}",
            f"{'speed MAPE, estimated (target < 25 %)':<44}"
            f"{self.speed_unmonitored!s:<40}{self.speed_unmonitored_5min}",
            f"{'flow MAPE, monitored (target < 10 %)':<44}"
            f"{self.flow_monitored!s:<40}{self.flow_monitored_5min}",
            f"{'flow MAPE, estimated (no target)':<44}"
            f"{self.flow_unmonitored!s:<40}{self.flow_unmonitored_5min}",
            f"identity flow = count x 3600 / period: largest deviation"
            f" {self.flow_from_counts_max_error:.2e}",
            f"identity flow = density x speed: largest deviation"
            f" {self.flow_density_speed_max_error:.2e}",
            *self.notes,
        ]
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")


def truth_by_key(
    truth: Iterable[EdgeTruth], *, day_start: datetime
) -> dict[tuple[str, datetime], EdgeTruth]:
    return {(edge.edge_id, day_start + timedelta(seconds=edge.begin_s)): edge for edge in truth}


def _figure(pairs: Sequence[tuple[float, float]]) -> Figure:
    errors = [(estimate - truth) / truth for estimate, truth in pairs if truth > 0]
    if not errors:
        return Figure(None, None, 0)
    return Figure(
        mape_pct=round(100 * statistics.fmean(abs(e) for e in errors), 2),
        bias_pct=round(100 * statistics.fmean(errors), 2),
        pairs=len(errors),
    )


def _speed_pairs(pairs: Iterable[StatePair]) -> list[tuple[float, float]]:
    return [
        (p.speed_kmh, p.truth_speed_kmh)
        for p in pairs
        if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60
    ]


def _flow_pairs(pairs: Iterable[StatePair]) -> list[tuple[float, float]]:
    return [
        (p.flow_veh_h, p.truth_flow_veh_h)
        for p in pairs
        if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60
        and p.truth_flow_veh_h >= MIN_TRUTH_FLOW_VEH_H
    ]


def _aggregated(pairs: Sequence[StatePair], seconds: int) -> list[StatePair]:
    """Means over `seconds` per segment: speed as flow over density, as a space mean."""
    groups: dict[tuple[str, int], list[StatePair]] = {}
    for pair in pairs:
        bucket = int(pair.interval_start.timestamp()) // seconds
        groups.setdefault((pair.segment_id, bucket), []).append(pair)
    merged = []
    for (_, bucket), members in groups.items():
        n = len(members)
        flow = sum(p.flow_veh_h for p in members) / n
        density = sum(p.density_veh_km for p in members) / n
        truth_flow = sum(p.truth_flow_veh_h for p in members) / n
        truth_density = sum(p.truth_density_veh_km for p in members) / n
        first = members[0]
        merged.append(
            StatePair(
                segment_id=first.segment_id,
                interval_start=datetime.fromtimestamp(bucket * seconds, UTC),
                monitored=first.monitored,
                estimated=first.estimated,
                speed_kmh=flow / density if density > 0 else first.speed_kmh,
                flow_veh_h=flow,
                density_veh_km=density,
                truth_speed_kmh=truth_flow / truth_density if truth_density > 0 else 0.0,
                truth_flow_veh_h=truth_flow,
                truth_density_veh_km=truth_density,
                truth_sampled_s=sum(p.truth_sampled_s for p in members) / n,
            )
        )
    return merged


def flow_from_counts_error(
    readings: Sequence[DetectorReading],
    detector_lanes: Mapping[str, tuple[str, int]],
    lanes_of: Mapping[str, int],
    states: Mapping[tuple[str, datetime], float],
    period_s: int,
) -> float:
    """Largest relative gap between a fully reporting segment's flow and Σ count x 3600 / period."""
    totals: dict[tuple[str, datetime], tuple[float, set[int]]] = {}
    for reading in readings:
        segment, lane = detector_lanes[reading.detector_id]
        start = reading.observed_at - timedelta(seconds=period_s)
        flow, lanes = totals.get((segment, start), (0.0, set()))
        lanes.add(lane)
        totals[(segment, start)] = (flow + reading.count * 3600 / reading.period_s, lanes)
    worst = 0.0
    for key, (expected, lanes) in totals.items():
        if key not in states or len(lanes) != lanes_of[key[0]]:
            continue
        got = states[key]
        worst = max(worst, abs(got - expected) / max(expected, 1.0))
    return worst


def compare(
    pairs: Sequence[StatePair],
    *,
    scenario: str,
    period_s: int,
    flow_from_counts_max_error: float,
) -> AccuracyReport:
    monitored = [p for p in pairs if p.monitored]
    unmonitored = [p for p in pairs if not p.monitored]
    monitored_5 = _aggregated(monitored, AGGREGATE_S)
    unmonitored_5 = _aggregated(unmonitored, AGGREGATE_S)
    identity = max(
        (
            abs(p.flow_veh_h - p.density_veh_km * p.speed_kmh) / max(p.flow_veh_h, 1.0)
            for p in pairs
        ),
        default=0.0,
    )
    return AccuracyReport(
        scenario=scenario,
        period_s=period_s,
        intervals=len({p.interval_start for p in pairs}),
        segments=len({p.segment_id for p in pairs}),
        monitored_segments=len({p.segment_id for p in monitored}),
        speed_monitored=_figure(_speed_pairs(monitored)),
        speed_unmonitored=_figure(_speed_pairs(unmonitored)),
        flow_monitored=_figure(_flow_pairs(monitored)),
        flow_unmonitored=_figure(_flow_pairs(unmonitored)),
        speed_monitored_5min=_figure(_speed_pairs(monitored_5)),
        speed_unmonitored_5min=_figure(_speed_pairs(unmonitored_5)),
        flow_monitored_5min=_figure(_flow_pairs(monitored_5)),
        flow_unmonitored_5min=_figure(_flow_pairs(unmonitored_5)),
        flow_from_counts_max_error=flow_from_counts_max_error,
        flow_density_speed_max_error=identity,
        notes=[
            f"pairs compared: edges with >= {MIN_TRUTH_VEHICLES:g} vehicle-minute in SUMO"
            f" in the interval; flow also >= {MIN_TRUTH_FLOW_VEH_H:g} veh/h",
            "truth: SUMO edgeData (space-mean speed; flow = density x speed, Edie)",
        ],
    )


Minutes = dict[datetime, tuple[list[DetectorReading], list[PlatePassage]]]
"""Each minute's readings and passages, by the minute's end."""


async def measure_accuracy(
    database: Database,
    clock: FixedClock,
    scenario: Scenario,
    spans: Sequence[Span],
    *,
    day_start: datetime,
    send: Send | None = None,
    finalise: bool = True,
) -> AccuracyReport:
    """Feed the twin's readings to the platform minute by minute, then compare its states.

    The platform's network and registry come from the scenario; the clock is moved to each
    minute's end as the readings arrive, as the devices would send them, and the interval
    job (`finalise_intervals`) runs after each minute, as it does in a worker. `send`
    delivers a minute's readings and passages: by default straight to `ingest_batch`; the
    end-to-end tests send them through the stream instead.
    """
    from shahr.traffic.domain.readings import encode
    from shahr.traffic.services import ingest_batch

    await load_into_platform(database, scenario, clock=clock)

    async def ingest_directly(minute: Span) -> None:
        payloads = [encode(r.to_payload()) for r in minute.readings]
        payloads += [encode(p.to_payload()) for p in minute.passages]
        await ingest_batch(database, clock, payloads)

    minutes = _by_minute(spans, day_start=day_start, period_s=scenario.period_s)
    await _feed(
        database,
        clock,
        scenario,
        minutes,
        day_start=day_start,
        deliver=send or ingest_directly,
        finalise=finalise,
    )
    truth = truth_by_key((edge for span in spans for edge in span.truth), day_start=day_start)
    pairs, measured_flow = await _state_pairs(database, scenario, minutes, truth)
    lanes_of = {edge.id: edge.lanes for edge in scenario.edges}
    detector_lanes = {d.id: (d.edge_id, d.lane) for d in scenario.detectors}
    readings = [reading for span in spans for reading in span.readings]
    return compare(
        pairs,
        scenario=scenario.name,
        period_s=scenario.period_s,
        flow_from_counts_max_error=flow_from_counts_error(
            readings, detector_lanes, lanes_of, measured_flow, scenario.period_s
        ),
    )


def _by_minute(spans: Sequence[Span], *, day_start: datetime, period_s: int) -> Minutes:
    """The spans' readings and passages grouped by the end of the minute they fall in."""
    period = timedelta(seconds=period_s)
    by_minute: Minutes = {}
    for span in spans:
        for reading in span.readings:
            by_minute.setdefault(reading.observed_at, ([], []))[0].append(reading)
    for span in spans:
        for passage in span.passages:
            end = day_start + (passage.observed_at - day_start) // period * period + period
            by_minute.setdefault(end, ([], []))[1].append(passage)
    return by_minute


async def _feed(
    database: Database,
    clock: FixedClock,
    scenario: Scenario,
    minutes: Minutes,
    *,
    day_start: datetime,
    deliver: Send,
    finalise: bool,
) -> None:
    """Deliver each minute at its time, the interval job after it; then close the last ones."""
    from shahr.traffic.services.intervals import finalise_intervals

    period = timedelta(seconds=scenario.period_s)
    for minute_end in sorted(minutes):
        # The devices report a moment after the minute ends.
        clock.set(minute_end + timedelta(seconds=2))
        minute_readings, minute_passages = minutes[minute_end]
        end_s = int((minute_end - day_start).total_seconds())
        await deliver(
            Span(
                begin_s=end_s - scenario.period_s,
                end_s=end_s,
                readings=minute_readings,
                passages=minute_passages,
                truth=[],
                state=None,
            )
        )
        if finalise:
            await finalise_intervals(database, clock)
    # Let the job close the last minutes too.
    clock.set(max(minutes) + 3 * period)
    if finalise:
        await finalise_intervals(database, clock)


async def _state_pairs(
    database: Database,
    scenario: Scenario,
    minutes: Minutes,
    truth: dict[tuple[str, datetime], EdgeTruth],
) -> tuple[list[StatePair], dict[tuple[str, datetime], float]]:
    """The platform's states beside SUMO's truth, and the measured flow of each state."""
    from shahr.traffic.queries import segment_states

    period = timedelta(seconds=scenario.period_s)
    monitored = scenario.monitored_edges
    pairs: list[StatePair] = []
    measured_flow: dict[tuple[str, datetime], float] = {}
    for minute_start in sorted({end - period for end in minutes}):
        for state in await segment_states(database, at=minute_start):
            if not state.estimated:
                measured_flow[(state.segment_id, state.interval_start)] = state.flow_veh_h
            edge = truth.get((state.segment_id, state.interval_start))
            if edge is None:
                continue
            pairs.append(
                StatePair(
                    segment_id=state.segment_id,
                    interval_start=state.interval_start,
                    monitored=state.segment_id in monitored,
                    estimated=state.estimated,
                    speed_kmh=state.speed_kmh,
                    flow_veh_h=state.flow_veh_h,
                    density_veh_km=state.density_veh_km,
                    truth_speed_kmh=edge.speed_kmh,
                    truth_flow_veh_h=edge.flow_veh_h,
                    truth_density_veh_km=edge.density_veh_km,
                    truth_sampled_s=edge.sampled_s,
                )
            )
    return pairs, measured_flow
