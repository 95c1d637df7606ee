"""Detection on the live feed: the last minutes of every station pair, and the pairs whose
alarm starts at the latest minute (an alarm that goes on is not raised again)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shahr.incidents.domain.detection.anomaly import (
    TUNED,
    AnomalyThresholds,
    anomaly_states,
    contrast_scores,
)
from shahr.incidents.domain.detection.series import LaneMinute, pairs_of, stations_of

# v2: lane occupancy and 2-minute flows in the lane test, the downstream-flow queue test.
METHOD = "anomaly-v2"
# Minutes read each run: the history window, the gap before it and the persistence.
WINDOW_MIN = TUNED.history_min + TUNED.gap_min + TUNED.persistence_min + 5


@dataclass(frozen=True)
class PairAlarm:
    pair: int  # index into the pairs given
    reason: str  # "queue" (tests 1-4) or "lane" (the lane test)
    score: float  # the contrast's z-score at the alarm (0 when it has no data)
    upstream_occupancy: float | None
    downstream_occupancy: float | None


def _value(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 4)


def new_alarms(
    lanes: Sequence[LaneMinute],
    pairs: Sequence[tuple[str, str]],
    minutes: int,
    settings: AnomalyThresholds = TUNED,
) -> list[PairAlarm]:
    """Pairs (upstream station, downstream station) whose alarm starts at minute
    `minutes - 1` of the lanes' minutes (numbered from the window's start)."""
    if not pairs or minutes < 2:
        return []
    names = sorted({name for pair in pairs for name in pair})
    series = pairs_of(stations_of(lanes, names, minutes), pairs)
    queue, lane = anomaly_states(series, settings)
    scores = contrast_scores(series, settings)[:, -1]
    alarms = []
    for index in range(len(pairs)):
        for reason, state in (("queue", queue), ("lane", lane)):
            if state[index, -1] and not (queue[index, -2] or lane[index, -2]):
                score = float(scores[index])
                alarms.append(
                    PairAlarm(
                        pair=index,
                        reason=reason,
                        score=0.0 if math.isnan(score) else round(score, 2),
                        upstream_occupancy=_value(series.upstream_occupancy[index, -1]),
                        downstream_occupancy=_value(series.downstream_occupancy[index, -1]),
                    )
                )
                break
    return alarms
