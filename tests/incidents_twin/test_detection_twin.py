"""Automatic incident detection against the SUMO twin's injected incidents.

The evaluation scenarios (`shahr.demo.twin.incident_scenarios.EVALUATION`: the grid at
three demand levels and another place, the arterials, at two, each with a quiet baseline;
seeds and places never used while tuning) are run in SUMO (about two minutes, once; then
from `var/twin-cache/`), and California #7 and the anomaly detector are scored on them.
Issue #11's targets for the better method: detection rate at least 90 %, mean time to
detect at most 3 minutes, at most 1 false alarm per 100 station-hours, and better than
California #7. The targets not met yet are listed in `NOT_YET_MET`, held exact both ways:
a listed target that is met fails the test (take it off the list), and so does a missed
target that is not listed. `python -m shahr.demo.twin.incident_cli` prints the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shahr.demo.twin.incident_report import BASELINE, BETTER, measure, prepared
from shahr.demo.twin.incident_scenarios import EVALUATION

pytestmark = [pytest.mark.sumo, pytest.mark.timeout(900)]

# Missed on the evaluation scenarios: stopped cars in light traffic leave no mark on loops
# 100-400 m away (drivers just change lanes), and a closed lane at high demand is seen
# only once its queue reaches the loops. Take a target off when it is met.
NOT_YET_MET: frozenset[str] = frozenset({"detection rate %", "mean time to detect min"})


def test_every_injected_incident_happened_in_sumo(twin_cache: Path) -> None:
    for item, spec in zip(prepared(EVALUATION, twin_cache), EVALUATION, strict=True):
        assert len(item.truth) == len(spec.incidents), item.name
        assert all(t.end_s > t.begin_s for t in item.truth), item.name
        assert item.pairs, item.name


def test_detection_against_the_issue_targets(
    twin_cache: Path, show_figures: Callable[[str], None]
) -> None:
    report = measure(twin_cache, with_training=False)
    show_figures(f"[incident detection, SUMO twin] {report.table()}")

    better, baseline = report.outcome(BETTER), report.outcome(BASELINE)
    assert better.incidents == baseline.incidents == sum(len(s.incidents) for s in EVALUATION)
    targets = report.targets()
    problems = [
        f"met now: remove {t.name!r} from NOT_YET_MET ({t})"
        for t in targets
        if t.met and t.name in NOT_YET_MET
    ] + [f"missed: {t}" for t in targets if not t.met and t.name not in NOT_YET_MET]
    problems += [
        f"NOT_YET_MET names no target {name!r}" for name in NOT_YET_MET - {t.name for t in targets}
    ]
    assert not problems, "\n".join(problems)
