"""Running a scenario in SUMO, span by span, into readings, passages and ground truth.

A long run (a day) is cut into spans of an hour or so: each span is one `sumo` process
that starts from the state the previous one saved, so the demo can publish one hour while
SUMO computes the next, and nothing is lost at the seams. A span that starts later than
the demand without a saved state warms up first (`WARM_UP_S`, not reported), so its first
minutes do not show an empty city.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from shahr.demo.twin.devices import passages_of, readings_of
from shahr.demo.twin.engine import run_program
from shahr.demo.twin.outputs import (
    EdgeTruth,
    read_edge_truth,
    read_loops,
    read_passages,
)
from shahr.demo.twin.scenario import Scenario
from shahr.demo.twin.sumo_files import (
    CAMERAS_OUTPUT,
    EDGES_OUTPUT,
    LOOPS_OUTPUT,
    NET_FILE,
    SENSORS_FILE,
    TRIPS_FILE,
)
from shahr.traffic.domain import DetectorReading, PlatePassage

WARM_UP_S = 900
DEFAULT_SPAN_S = 3600
# Vehicles stuck this long are moved on by SUMO (gridlock would otherwise freeze the twin).
TIME_TO_TELEPORT_S = 300


@dataclass(frozen=True)
class Span:
    """What the twin's devices reported in [begin_s, end_s), and what really happened."""

    begin_s: int
    end_s: int
    readings: list[DetectorReading]
    passages: list[PlatePassage]
    truth: list[EdgeTruth]
    state: Path | None  # SUMO's state at end_s, to go on from


# The output prefix applies to the state file too.
STATE_FILE = "state.xml.gz"


def simulate_span(
    scenario: Scenario,
    *,
    day_start: datetime,
    begin_s: int,
    end_s: int,
    state: Path | None = None,
    keep_state: bool = True,
) -> Span:
    """Run SUMO over [begin_s, end_s) of the scenario's day (blocking; seconds to minutes)."""
    if end_s <= begin_s:
        raise ValueError("a span ends after it begins")
    period = scenario.period_s
    if begin_s % period or end_s % period:
        raise ValueError(f"spans start and end on the {period} s period")
    start_s = begin_s
    if state is None and begin_s > scenario.begin_s:
        start_s = max(scenario.begin_s, begin_s - WARM_UP_S)
    directory = scenario.directory
    prefix = f"run-{begin_s}-{end_s}-"
    arguments = _sumo_arguments(
        scenario, start_s=start_s, end_s=end_s, prefix=prefix, state=state, keep_state=keep_state
    )
    run_program("sumo", arguments, cwd=directory)
    span = _read_outputs(scenario, day_start=day_start, begin_s=begin_s, end_s=end_s, prefix=prefix)
    if state is not None and state.parent == directory and state.name.startswith("run-"):
        state.unlink(missing_ok=True)  # the previous span's, now used
    return replace(span, state=directory / f"{prefix}{STATE_FILE}" if keep_state else None)


def _sumo_arguments(
    scenario: Scenario,
    *,
    start_s: int,
    end_s: int,
    prefix: str,
    state: Path | None,
    keep_state: bool,
) -> list[str]:
    """SUMO's command line for one span, saving its state at the end if asked."""
    arguments = [
        f"--net-file={NET_FILE}",
        f"--route-files={TRIPS_FILE}",
        f"--additional-files={SENSORS_FILE}",
        f"--begin={start_s}",
        # One step past the end, so the state is saved at end_s (before that step runs).
        f"--end={end_s + 1}",
        f"--seed={scenario.sumo_seed}",
        f"--time-to-teleport={TIME_TO_TELEPORT_S}",
        "--ignore-route-errors=true",
        "--no-step-log=true",
        "--no-warnings=true",
        f"--output-prefix={prefix}",
    ]
    if keep_state:
        arguments += [
            f"--save-state.times={end_s}",
            f"--save-state.files={STATE_FILE}",
            "--save-state.rng=true",
        ]
    if state is not None:
        arguments.append(f"--load-state={state.resolve()}")
    return arguments


def _read_outputs(
    scenario: Scenario, *, day_start: datetime, begin_s: int, end_s: int, prefix: str
) -> Span:
    """What SUMO wrote for the span (the warm-up left out), its output files then removed."""
    directory, period = scenario.directory, scenario.period_s
    loops = [
        interval
        for interval in read_loops(directory / f"{prefix}{LOOPS_OUTPUT}", period)
        if interval.begin_s >= begin_s
    ]
    passages = [
        passage
        for passage in read_passages(directory / f"{prefix}{CAMERAS_OUTPUT}", until_s=end_s)
        if passage.time_s >= begin_s
    ]
    truth = [
        edge
        for edge in read_edge_truth(directory / f"{prefix}{EDGES_OUTPUT}", period)
        if edge.begin_s >= begin_s
    ]
    for name in (LOOPS_OUTPUT, CAMERAS_OUTPUT, EDGES_OUTPUT):
        (directory / f"{prefix}{name}").unlink(missing_ok=True)
    return Span(
        begin_s=begin_s,
        end_s=end_s,
        readings=readings_of(loops, day_start=day_start, period_s=period),
        passages=passages_of(passages, day_start=day_start, seed=scenario.sumo_seed),
        truth=truth,
        state=None,
    )


def simulate(
    scenario: Scenario,
    *,
    day_start: datetime,
    begin_s: int | None = None,
    end_s: int | None = None,
    span_s: int = DEFAULT_SPAN_S,
) -> Iterator[Span]:
    """The run from begin_s to end_s (default: the scenario's demand), span after span."""
    begin = scenario.begin_s if begin_s is None else begin_s
    end = scenario.end_s if end_s is None else end_s
    state: Path | None = None
    at = begin
    while at < end:
        until = min(at + span_s, end)
        span = simulate_span(
            scenario,
            day_start=day_start,
            begin_s=at,
            end_s=until,
            state=state,
            keep_state=until < end,
        )
        state = span.state
        yield span
        at = until
