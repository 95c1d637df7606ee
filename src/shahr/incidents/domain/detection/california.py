"""California algorithm #7 (TSA #7), the baseline: Payne H.J. and Tignor S.C., "Freeway
incident-detection algorithms based on decision trees with states", Transportation
Research Record 682 (1978), pp. 30-37.

For a pair of stations i (upstream) and i+1 (downstream), each minute:

- OCCDF  = OCC(i, t) - OCC(i+1, t)   the spatial occupancy difference
- OCCRDF = OCCDF / OCC(i, t)          the same relative to the upstream occupancy
- DOCC   = OCC(i+1, t)                the downstream occupancy

The decision tree with states: from incident-free, OCCDF >= T1 and OCCRDF >= T2 and
DOCC < T3 makes the pair *tentative*; the same again the next minute (the persistence
check) makes it an *incident* (the alarm); the incident lasts while OCCRDF >= T2. TSA #7
differs from the basic California algorithm by testing the downstream occupancy itself
(low downstream occupancy: the road past the bottleneck has emptied) instead of its
temporal difference, which suppresses many of the compression waves' false alarms.

Thresholds: Payne and Tignor calibrate T1-T3 per site from incident and incident-free
data; the values most often quoted as TSA #7's starting point (occupancy in %) are T1 = 8,
T2 = 0.5, T3 = 20 (`PUBLISHED`). `TUNED` are T1-T3 refitted on this project's training
scenarios with the same search as the better method's (see `shahr.demo.twin.incident_tune`),
so the comparison is not between a tuned method and an untuned one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shahr.incidents.domain.detection.series import PairSeries

INCIDENT_FREE, TENTATIVE, INCIDENT = 0, 1, 2


@dataclass(frozen=True)
class CaliforniaThresholds:
    occdf: float  # T1, occupancy as a share (0.08 = 8 %)
    occrdf: float  # T2
    docc: float  # T3, as a share


PUBLISHED = CaliforniaThresholds(occdf=0.08, occrdf=0.5, docc=0.20)
# `python -m shahr.demo.twin.incident_tune` on the training scenarios.
TUNED = CaliforniaThresholds(occdf=0.24, occrdf=0.3, docc=0.20)


def california7(
    series: PairSeries, thresholds: CaliforniaThresholds = TUNED
) -> npt.NDArray[np.bool_]:
    """Each pair's incident state per minute (True while in the incident state)."""
    up, down = series.upstream_occupancy, series.downstream_occupancy
    occdf = up - down
    with np.errstate(invalid="ignore", divide="ignore"):
        occrdf = np.where(up > 0, occdf / up, np.nan)
    # NaN (no data) compares False: a silent station never starts or keeps an incident.
    condition = (occdf >= thresholds.occdf) & (occrdf >= thresholds.occrdf)
    condition &= down < thresholds.docc
    continuing = occrdf >= thresholds.occrdf
    pairs, minutes = series.shape
    state = np.full(pairs, INCIDENT_FREE)
    alarm = np.zeros((pairs, minutes), dtype=bool)
    for t in range(minutes):
        in_incident = state == INCIDENT
        confirmed = (state == TENTATIVE) & condition[:, t]
        state = np.where(
            in_incident,
            np.where(continuing[:, t], INCIDENT, INCIDENT_FREE),
            np.where(confirmed, INCIDENT, np.where(condition[:, t], TENTATIVE, INCIDENT_FREE)),
        )
        alarm[:, t] = state == INCIDENT
    return alarm
