"""The platform's segment states against SUMO's ground truth: the accuracy figures.

Each (segment, interval) the platform reports is paired with SUMO's edgeData for the same
edge and minute. Percentages are mean absolute percentage errors over the pairs where the
edge carried traffic in SUMO (at least `MIN_TRUTH_VEHICLES` vehicle-minutes, so that one
car more or less is not a 50 % error) and, for flow, at least `MIN_TRUTH_FLOW_VEH_H`.
The same figures over 5-minute means are given beside the 1-minute ones.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from shahr.demo.twin.accuracy_figures import Figure, StatePair
from shahr.demo.twin.accuracy_report import AccuracyReport, compare
from shahr.demo.twin.outputs import EdgeTruth
from shahr.demo.twin.run import Span
from shahr.demo.twin.scenario import Scenario
from shahr.demo.twin.seed import load_into_platform
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.traffic.domain import DetectorReading, PlatePassage
from shahr.traffic.domain.network import RoadClass, capacity_veh_h

Send = Callable[["Span"], Awaitable[None]]
NaiveShares = dict[datetime, tuple[float, float]]

__all__ = ["AccuracyReport", "Figure", "StatePair", "measure_accuracy", "truth_by_key"]


def truth_by_key(
    truth: Iterable[EdgeTruth], *, day_start: datetime
) -> dict[tuple[str, datetime], EdgeTruth]:
    return {(edge.edge_id, day_start + timedelta(seconds=edge.begin_s)): edge for edge in truth}


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
    pairs, measured_flow, naive_shares = await _state_pairs(database, scenario, minutes, truth)
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
        naive_shares=naive_shares,
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
) -> tuple[list[StatePair], dict[tuple[str, datetime], float], NaiveShares]:
    """The platform's states beside SUMO's truth, the measured flow of each state, and
    each minute's naive baseline (monitored states' mean speed and flow as shares)."""
    from shahr.traffic.queries import segment_states

    period = timedelta(seconds=scenario.period_s)
    monitored = scenario.monitored_edges
    limit = {edge.id: edge.speed_limit_kmh for edge in scenario.edges}
    capacity = {
        edge.id: float(capacity_veh_h(RoadClass(edge.road_class), edge.lanes))
        for edge in scenario.edges
    }
    pairs: list[StatePair] = []
    measured_flow: dict[tuple[str, datetime], float] = {}
    naive: NaiveShares = {}
    for minute_start in sorted({end - period for end in minutes}):
        states = await segment_states(database, at=minute_start)
        measured = [s for s in states if s.segment_id in monitored and not s.estimated]
        if measured:
            naive[minute_start] = (
                statistics.fmean(s.speed_kmh / limit[s.segment_id] for s in measured),
                statistics.fmean(s.flow_veh_h / capacity[s.segment_id] for s in measured),
            )
        for state in states:
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
                    limit_kmh=limit[state.segment_id],
                    capacity_veh_h=capacity[state.segment_id],
                    los=state.los,
                )
            )
    return pairs, measured_flow, naive
