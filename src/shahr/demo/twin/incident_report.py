"""The incident detection table: California #7 and the anomaly detector side by side, on
the training scenarios and on the evaluation scenarios, and the issue's targets.

Issue #11's targets for the better method, on the evaluation scenarios: detection rate at
least 90 %, mean time to detect at most 3 minutes, at most 1 false alarm per 100
detector(station)-hours, and better than the baseline (California #7, its thresholds tuned
on the same training scenarios): a higher detection rate with no more false alarms.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from shahr.demo.twin.incident_eval import Method, Outcome, Prepared, prepare, score, score_all
from shahr.demo.twin.incident_run import run_incident_scenario
from shahr.demo.twin.incident_scenarios import EVALUATION, TRAINING, IncidentScenarioSpec
from shahr.incidents.domain.detection.anomaly import anomaly_detector
from shahr.incidents.domain.detection.california import PUBLISHED, TUNED, california7

DETECTION_RATE_AT_LEAST_PCT = 90.0
TIME_TO_DETECT_AT_MOST_MIN = 3.0
FALSE_ALARMS_AT_MOST_PER_100_H = 1.0

BASELINE = "California #7 (tuned)"
BETTER = "anomaly (pair vs own history)"
METHODS: dict[str, Method] = {
    "California #7 (published)": lambda series: california7(series, PUBLISHED),
    BASELINE: lambda series: california7(series, TUNED),
    BETTER: anomaly_detector,
}


@dataclass(frozen=True)
class Row:
    method: str
    scenarios: str
    outcome: Outcome


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    met: bool

    def __str__(self) -> str:
        shown = "-" if self.value is None else f"{self.value:.2f}"
        return f"{self.name}: {shown} ({'met' if self.met else 'NOT met'})"


@dataclass(frozen=True)
class IncidentReport:
    rows: tuple[Row, ...]
    per_scenario: tuple[Row, ...]

    def outcome(self, method: str, scenarios: str = "evaluation") -> Outcome:
        return next(r.outcome for r in self.rows if r.method == method and r.scenarios == scenarios)

    def targets(self) -> list[Target]:
        better, baseline = self.outcome(BETTER), self.outcome(BASELINE)
        rate, time, false = (
            better.detection_rate_pct,
            better.mean_time_to_detect_min,
            better.false_alarms_per_100_station_hours,
        )
        beats = (
            rate is not None
            and (baseline.detection_rate_pct is None or rate > baseline.detection_rate_pct)
            and false <= baseline.false_alarms_per_100_station_hours
        )
        return [
            Target(
                "detection rate %", rate, rate is not None and rate >= DETECTION_RATE_AT_LEAST_PCT
            ),
            Target(
                "mean time to detect min",
                time,
                time is not None and time <= TIME_TO_DETECT_AT_MOST_MIN,
            ),
            Target(
                "false alarms per 100 station-hours",
                false,
                false <= FALSE_ALARMS_AT_MOST_PER_100_H,
            ),
            Target("beats California #7", rate, beats),
        ]

    def table(self) -> str:
        header = (
            f"{'method':32s} {'scenarios':38s} {'incidents':>9s} {'detected':>8s} {'DR %':>6s}"
            f" {'MTTD min':>8s} {'false':>5s} {'stn-h':>6s} {'FA/100h':>7s}"
        )
        lines = [header, "-" * len(header)]
        for row in (*self.rows, *self.per_scenario):
            o = row.outcome
            rate, time = o.detection_rate_pct, o.mean_time_to_detect_min
            lines.append(
                f"{row.method:32s} {row.scenarios:38s} {o.incidents:9d} {o.detected:8d}"
                f" {'-' if rate is None else f'{rate:.0f}':>6s}"
                f" {'-' if time is None else f'{time:.1f}':>8s} {o.false_alarms:5d}"
                f" {o.station_hours:6.0f} {o.false_alarms_per_100_station_hours:7.2f}"
            )
        lines.append("targets (better method, evaluation scenarios):")
        lines += [f"  {target}" for target in self.targets()]
        return "\n".join(lines)


def prepared(specs: Sequence[IncidentScenarioSpec], cache: Path) -> list[Prepared]:
    """The scenarios' runs, SUMO processes side by side (one per CPU, each in its own
    directory) when they are not in the cache."""
    workers = max(1, min(len(specs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(lambda spec: run_incident_scenario(spec, cache), specs))
    return [prepare(run) for run in runs]


def measure(cache: Path, *, with_training: bool = True) -> IncidentReport:
    """Run (or read from the cache) the scenarios and score every method on them."""
    sets = {"evaluation": prepared(EVALUATION, cache)}
    if with_training:
        sets["training"] = prepared(TRAINING, cache)
    rows = tuple(
        Row(method, name, score_all(items, detector))
        for name, items in sorted(sets.items(), key=lambda kv: kv[0] != "training")
        for method, detector in METHODS.items()
    )
    per_scenario = tuple(
        Row(method, item.name.removeprefix("incident-"), score(item, METHODS[method]))
        for item in sets["evaluation"]
        for method in (BASELINE, BETTER)
    )
    return IncidentReport(rows=rows, per_scenario=per_scenario)
