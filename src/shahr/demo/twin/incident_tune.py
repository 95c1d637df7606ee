"""How the detectors' thresholds were chosen: a grid search on the training scenarios only.

    PYTHONPATH=src .venv/bin/python -m shahr.demo.twin.incident_tune

Both methods get the same objective, the detection rate in points minus 10 points per
false alarm per 100 station-hours minus 2 points per minute of mean time to detect, so
one false alarm per 100 station-hours is worth ten points of detection rate. The best
settings are printed; `california.TUNED` and `anomaly.TUNED` hold the ones in use.
The anomaly detector is tuned in three steps (the full product is too slow): the queue
tests (`anomaly_grid`); from there the lane test's window and persistences and the
downstream-flow share (`refinement_grid`); then the share of its normal flow under which
a lane raises at once. Ties (eight training incidents give many) go to the first in the
grid's order: the least restrictive flow share, then the shortest persistences.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shahr.demo.twin.incident_eval import Outcome, Prepared, score_all
from shahr.demo.twin.incident_report import prepared
from shahr.demo.twin.incident_scenarios import TRAINING
from shahr.incidents.domain.detection.anomaly import AnomalyThresholds, anomaly_detector
from shahr.incidents.domain.detection.california import CaliforniaThresholds, california7
from shahr.incidents.domain.detection.series import PairSeries

BoolMatrix = npt.NDArray[np.bool_]

FALSE_ALARM_POINTS = 10.0
MINUTE_POINTS = 2.0


def objective(outcome: Outcome) -> float:
    rate = outcome.detection_rate_pct or 0.0
    minutes = outcome.mean_time_to_detect_min or 0.0
    return (
        rate
        - FALSE_ALARM_POINTS * outcome.false_alarms_per_100_station_hours
        - MINUTE_POINTS * minutes
    )


def california_grid() -> Iterator[CaliforniaThresholds]:
    for t1, t2, t3 in itertools.product(
        (0.04, 0.08, 0.12, 0.16, 0.24), (0.3, 0.5, 0.7), (0.1, 0.2, 0.3)
    ):
        yield CaliforniaThresholds(occdf=t1, occrdf=t2, docc=t3)


def anomaly_grid() -> Iterator[AnomalyThresholds]:
    base = AnomalyThresholds()
    for persistence, upstream, contrast, occupancy, downstream, lanes in itertools.product(
        (2, 3), (3.0, 5.0), (3.0, 5.0), (0.10, 0.15, 0.20), (1.5, 2.5), (2, 3)
    ):
        yield replace(
            base,
            persistence_min=persistence,
            upstream_z=upstream,
            contrast_z=contrast,
            min_occupancy=occupancy,
            downstream_z=downstream,
            lane_persistence_min=lanes,
        )


def refinement_grid(base: AnomalyThresholds) -> Iterator[AnomalyThresholds]:
    for share, persistence, window, lanes in itertools.product(
        (None, 1.0, 0.9, 0.8, 0.7), (1, 2, 3), (1, 2, 3), (2, 3)
    ):
        yield replace(
            base,
            downstream_flow_share=share,
            persistence_min=persistence,
            lane_window_min=window,
            lane_persistence_min=lanes,
        )


def best_california(training: Sequence[Prepared]) -> tuple[CaliforniaThresholds, Outcome]:
    scored = [(t, score_all(training, partial(_california, t))) for t in california_grid()]
    return max(scored, key=lambda item: objective(item[1]))


def best_anomaly(training: Sequence[Prepared]) -> tuple[AnomalyThresholds, Outcome]:
    scored = [(t, score_all(training, partial(_anomaly, t))) for t in anomaly_grid()]
    base, _ = max(scored, key=lambda item: objective(item[1]))
    refined = [(t, score_all(training, partial(_anomaly, t))) for t in refinement_grid(base)]
    base, _ = max(refined, key=lambda item: objective(item[1]))
    at_once = [replace(base, lane_at_once=share) for share in (None, 0.0, 0.1, 0.25)]
    final = [(t, score_all(training, partial(_anomaly, t))) for t in at_once]
    return max(final, key=lambda item: objective(item[1]))


def _california(thresholds: CaliforniaThresholds, series: PairSeries) -> BoolMatrix:
    return california7(series, thresholds)


def _anomaly(thresholds: AnomalyThresholds, series: PairSeries) -> BoolMatrix:
    return anomaly_detector(series, thresholds)


def main() -> int:
    training = prepared(TRAINING, Path("var") / "twin-cache")
    for name, (settings, outcome) in (
        ("California #7", best_california(training)),
        ("anomaly", best_anomaly(training)),
    ):
        sys.stdout.write(
            f"{name}: {settings}\n  DR {outcome.detection_rate_pct} %,"
            f" MTTD {outcome.mean_time_to_detect_min} min,"
            f" FA {outcome.false_alarms_per_100_station_hours:.2f} /100 station-h,"
            f" objective {objective(outcome):.1f}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
