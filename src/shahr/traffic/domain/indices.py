"""Congestion indices (FHWA's reliability measures, TomTom's congestion level), journeys.

Over a set of observations of one road (or area) at comparable times:
- travel time index (TTI) = mean travel time / free-flow travel time
- planning time index (PTI) = 95th-percentile travel time / free-flow travel time
- buffer index (BI) = (95th percentile - mean) / mean travel time
- congestion level (TomTom) = extra travel time over free flow, in % = (TTI - 1) x 100
- vehicle-km travelled (VKT) = Σ flow x length x duration

An area's travel times are weighted by vehicle-km, so a busy expressway counts for more
than a quiet lane; summed, that is Σ vehicle-hours / Σ free-flow vehicle-hours.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shahr.traffic.domain.state import FloatArray

# Journey times from plates: a car that stopped on the way (shopping, parking) is not
# traffic. Tukey's fences on the logarithm of the times drop such outliers.
TUKEY_K = 1.5
MIN_JOURNEYS = 3
MAX_JOURNEY_S = 1800


@dataclass(frozen=True)
class Indices:
    travel_time_index: float
    planning_time_index: float
    buffer_index: float
    congestion_pct: float
    vkt: float
    mean_speed_kmh: float
    samples: int


def indices_from(
    vht: FloatArray, free_flow_vht: FloatArray, vkt: FloatArray, *, samples: int | None = None
) -> Indices | None:
    """Indices over periods (hours or days) of one place: arrays hold one value per period.

    A period's travel time ratio is its vehicle-hours over its free-flow vehicle-hours;
    the mean and 95th percentile are over periods, weighted by their vehicle-km.
    """
    use = (free_flow_vht > 0) & (vkt > 0)
    if not use.any():
        return None
    ratio = vht[use] / free_flow_vht[use]
    weights = vkt[use]
    tti = float(vht[use].sum() / free_flow_vht[use].sum())
    p95 = weighted_percentile(ratio, weights, 95.0)
    total_vkt = float(vkt[use].sum())
    return Indices(
        travel_time_index=round(tti, 3),
        planning_time_index=round(max(p95, tti), 3),
        buffer_index=round(max(p95 - tti, 0.0) / tti, 3),
        congestion_pct=round((tti - 1.0) * 100.0, 1),
        vkt=round(total_vkt, 1),
        mean_speed_kmh=round(total_vkt / float(vht[use].sum()), 1),
        samples=samples if samples is not None else int(use.sum()),
    )


def weighted_percentile(values: FloatArray, weights: FloatArray, percentile: float) -> float:
    """The weighted percentile (the value below which `percentile` % of the weight lies)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w)
    cut = percentile / 100.0 * cumulative[-1]
    return float(v[min(int(np.searchsorted(cumulative, cut)), len(v) - 1)])


@dataclass(frozen=True)
class Journey:
    """One plate seen at two cameras: from where, to where, leaving when, how long."""

    plate_key: str
    from_camera: str
    to_camera: str
    departed_at: datetime
    travel_time_s: float


def match_journeys(
    sightings: Sequence[tuple[str, str, datetime]], *, max_journey_s: float = MAX_JOURNEY_S
) -> list[Journey]:
    """Consecutive sightings of one plate key at two different cameras, within the limit.

    `sightings` are (plate_key, camera_id, observed_at) in any order.
    """
    by_plate: dict[str, list[tuple[datetime, str]]] = {}
    for plate, camera, at in sightings:
        by_plate.setdefault(plate, []).append((at, camera))
    journeys = []
    for key, seen in by_plate.items():
        seen.sort()
        for (t0, c0), (t1, c1) in itertools.pairwise(seen):
            duration = (t1 - t0).total_seconds()
            if c0 != c1 and 0 < duration <= max_journey_s:
                journeys.append(Journey(key, c0, c1, t0, duration))
    return journeys


def robust_travel_time(times_s: Sequence[float]) -> tuple[float, int] | None:
    """The median journey time after Tukey's fences on log times, and how many were kept."""
    if len(times_s) < MIN_JOURNEYS:
        return None
    logs = np.log(np.asarray(times_s, dtype=np.float64))
    q1, q3 = np.percentile(logs, [25, 75])
    spread = q3 - q1
    kept = logs[(logs >= q1 - TUKEY_K * spread) & (logs <= q3 + TUKEY_K * spread)]
    if len(kept) < MIN_JOURNEYS:
        return None
    return float(np.exp(np.median(kept))), len(kept)
