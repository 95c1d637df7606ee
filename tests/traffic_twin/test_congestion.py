"""Accuracy under congestion: scenarios of our own whose demand rises until queues spill
back over the loops (a signalised grid of 500 m blocks, arterials with side streets, a
spider web), loops in every lane of half the edges, SUMO's edgeData as the truth; and the
short-block grid of round 1, whose congestion is mostly the signals' red time.

Every target of issue #10 is checked on every scenario and both databases: congestion
recall at least 80 % on monitored and 60 % on estimated segments with false congestion at
most 5 %; monitored speed MAPE (5-minute) at most 15 % in free flow and 35 % in
congestion; monitored flow MAPE (5-minute) at most 10 %; estimated speed MAPE at least
20 % below the naive baseline in free flow and in congestion. The targets the platform
does not meet yet are listed in `NOT_YET_MET`, and the list is held exact both ways: a
listed target that is met fails the test (take it off the list), and so does a missed
target that is not listed. The table is printed at the end of the run and kept in
`var/twin-congestion-<scenario>-<backend>.json`; `python -m shahr.demo.twin.accuracy_cli
<scenario>` prints the same for one scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shahr.demo.twin.accuracy_cli import measure
from shahr.demo.twin.accuracy_report import AccuracyReport
from shahr.demo.twin.scenario_specs import CONGESTION_SCENARIOS, DEMO_SCENARIO

from .conftest import TwinRun

pytestmark = [pytest.mark.sumo, pytest.mark.timeout(900)]

# (scenario, target) pairs that main does not meet yet. Take a pair off when it is met.
NOT_YET_MET: frozenset[tuple[str, str]] = frozenset(
    {
        ("grid", "congestion recall, monitored %"),
        ("grid", "congestion recall, estimated %"),
        ("grid", "false congestion, monitored %"),
        ("grid", "false congestion, estimated %"),
        ("grid", "speed MAPE 5-min, monitored, congested %"),
        ("grid", "speed MAPE 5-min, estimated, congested % below naive"),
        ("arterials", "congestion recall, monitored %"),
        ("arterials", "congestion recall, estimated %"),
        ("arterials", "false congestion, monitored %"),
        ("arterials", "false congestion, estimated %"),
        ("arterials", "speed MAPE 5-min, monitored, congested %"),
        ("spider", "congestion recall, monitored %"),
        ("spider", "congestion recall, estimated %"),
        ("spider", "speed MAPE 5-min, monitored, congested %"),
        ("spider", "speed MAPE 5-min, estimated, congested % below naive"),
    }
)

# In the short-block grid a segment-minute is "congested" (under half the limit) mostly
# because of where the signal's 90 s cycle falls in the minute: the running time plus the
# uniform delay at v/c 0.8 is about the threshold itself, and few of its congested minutes
# are jams (see `jam_pct` in its table). No detector can tell a minute's phase, so its
# per-minute recall and false congestion are reported but not held to the issue's targets.
PER_MINUTE_TARGETS = frozenset(
    {
        "congestion recall, monitored %",
        "congestion recall, estimated %",
        "false congestion, monitored %",
        "false congestion, estimated %",
    }
)
NOT_HELD: dict[str, frozenset[str]] = {"grid_short": PER_MINUTE_TARGETS}

PROJECT_DIR = Path(__file__).resolve().parents[2]
MINUTES = 70
# The scenarios are meant to be congested, with jams: if SUMO's own figures fall below
# these, the scenario (not the platform) has changed.
TRUTH_CONGESTED_LAST_PCT = 25.0
JAM_SHARE_OF_CONGESTED_PCT = 30.0
# ... and the short grid's congestion is the signals' (what `NOT_HELD` rests on).
SHORT_GRID_JAM_SHARE_AT_MOST_PCT = 20.0
IDENTITY_TOLERANCE = 1e-6


async def _report(name: str, runs: Callable[[str], TwinRun], database_url: str) -> AccuracyReport:
    scenario, spans, day_start = runs(name)
    return await measure(database_url, scenario, spans, day_start)


def _show(
    report: AccuracyReport,
    name: str,
    request: pytest.FixtureRequest,
    show_figures: Callable[[str], None],
) -> None:
    backend = "postgres" if "postgres" in request.node.callspec.id else "sqlite"
    show_figures(f"[{name}, {backend}] {report.table()}")
    report.write(PROJECT_DIR / "var" / f"twin-congestion-{name}-{backend}.json")


@pytest.mark.parametrize("name", list(CONGESTION_SCENARIOS))
async def test_congested_scenario_against_the_issue_targets(
    name: str,
    twin_runs: Callable[[str], TwinRun],
    database_url: str,
    request: pytest.FixtureRequest,
    show_figures: Callable[[str], None],
) -> None:
    report = await _report(name, twin_runs, database_url)
    _show(report, name, request, show_figures)

    assert report.intervals == MINUTES
    assert report.flow_from_counts_max_error < IDENTITY_TOLERANCE
    assert report.flow_density_speed_max_error < IDENTITY_TOLERANCE
    _assert_the_scenario_is_what_it_says(name, report)
    # Every target is checked, and every surprise named at once.
    held = [t for t in report.targets() if t.name not in NOT_HELD.get(name, frozenset())]
    listed = {target for scenario, target in NOT_YET_MET if scenario == name}
    problems = [
        f"met now: remove ({name!r}, {t.name!r}) from NOT_YET_MET ({t})"
        for t in held
        if t.met and t.name in listed
    ] + [f"missed: {t}" for t in held if not t.met and t.name not in listed]
    problems += [f"NOT_YET_MET names no target {t!r}" for t in listed - {t.name for t in held}]
    assert not problems, "\n".join(problems)


def _assert_the_scenario_is_what_it_says(name: str, report: AccuracyReport) -> None:
    jams = report.composition.jam_pct
    assert jams is not None
    if name in NOT_HELD:
        assert jams <= SHORT_GRID_JAM_SHARE_AT_MOST_PCT, report.composition
        return
    assert report.truth_congested_last_pct is not None
    assert report.truth_congested_last_pct >= TRUTH_CONGESTED_LAST_PCT
    assert jams >= JAM_SHARE_OF_CONGESTED_PCT, report.composition


async def test_the_demo_day_evening_peak_figures(
    twin_runs: Callable[[str], TwinRun],
    sqlite_url: str,
    show_figures: Callable[[str], None],
) -> None:
    """The twin's demo day keeps its figures too (no targets: its grid is free-flowing)."""
    report = await _report(DEMO_SCENARIO.name, twin_runs, sqlite_url)
    show_figures(f"[demo 18:00-19:00, sqlite] {report.table()}")
    report.write(PROJECT_DIR / "var" / "twin-congestion-demo-sqlite.json")

    assert report.intervals == MINUTES - 10
    assert report.flow_from_counts_max_error < IDENTITY_TOLERANCE
    assert report.flow_density_speed_max_error < IDENTITY_TOLERANCE


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    from .conftest import sqlite_copy

    return sqlite_copy(request, tmp_path, "demo")
