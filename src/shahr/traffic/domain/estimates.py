"""Estimates for segments without usable detectors: from the traffic around them and history.

Speed, as a share of free flow, is carried along the directed network both ways and the two
are combined as in Treiber and Helbing's adaptive smoothing: where either side is slow, the
downstream side's word counts (a queue grows back against the traffic, so a jammed exit
means a queue on the segment feeding it), else the upstream side's (free-flowing traffic
carries on). The measured states are first smoothed over the last few intervals, which
steadies one minute's noise. Flow comes from conservation over the movements (what the
entries send on, what the exits received), in vehicles, so a 3-lane arterial's flow is
split among its exits and never becomes a 1-lane street's share of capacity. History for
this hour of the week fills in and steadies both; with nothing at all, free flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shahr.traffic.domain import propagation
from shahr.traffic.domain.propagation import DirectedNetwork, carry, conserve
from shahr.traffic.domain.state import (
    BoolArray,
    FloatArray,
    IntArray,
    SegmentTable,
    congestion_level,
    level_of_service,
)

MAX_HOPS = 3
# Adaptive smoothing: below this speed share a side counts as congested; how sharply.
CRITICAL_SHARE = 0.5
CRITICAL_WIDTH = 0.1
# In free flow the upstream side's word counts this much more than the downstream side's.
UPSTREAM_BIAS = 0.5
HISTORY_WEIGHT = 0.3  # against a measured neighbour one hop away (weight 0.5)
RECENT_DECAY = 0.6  # weight of the measurement k intervals ago: RECENT_DECAY ** k
MIN_SHARE = 0.03  # about 1.5 km/h on a 50 km/h street: a standstill, still moving
MAX_SHARE = 1.1
DEFAULT_VC = 0.3
NEIGHBOUR_CONFIDENCE = 0.7
HISTORY_ONLY_CONFIDENCE = 0.3
NOTHING_KNOWN_CONFIDENCE = 0.05
MAX_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Observed:
    """What was measured this interval, and in the few before it (most recent first)."""

    measured: BoolArray
    speed_share: FloatArray  # speed / free flow, where measured
    flow_veh_h: FloatArray  # where measured
    recent_share: FloatArray | None = None  # (k, n): earlier intervals, NaN where not measured

    def smoothed_share(self) -> FloatArray:
        """This interval's shares averaged with the earlier ones, the recent weighing most."""
        if self.recent_share is None or not len(self.recent_share):
            return self.speed_share
        weights = RECENT_DECAY ** np.arange(1, len(self.recent_share) + 1)[:, None]
        seen = ~np.isnan(self.recent_share)
        total = 1.0 + (weights * seen).sum(axis=0)
        summed = self.speed_share + (weights * np.nan_to_num(self.recent_share)).sum(axis=0)
        return np.where(self.measured, summed / total, self.speed_share)


@dataclass(frozen=True)
class History:
    """Each segment's usual speed share and v/c at this hour of the week (NaN: none)."""

    speed_share: FloatArray
    vc_ratio: FloatArray


@dataclass(frozen=True)
class Estimates:
    """For every segment the caller asked about (the `unknown` mask), in segment order."""

    segment: IntArray
    speed_kmh: FloatArray
    flow_veh_h: FloatArray
    density_veh_km: FloatArray
    vc_ratio: FloatArray
    los: IntArray
    congestion_level: IntArray
    confidence: FloatArray
    source: list[str]  # "+"-joined: upstream, downstream, history, free_flow


@dataclass(frozen=True)
class _Speed:
    share: FloatArray
    weight: FloatArray  # how much the neighbours said, 0-1
    from_up: BoolArray
    from_down: BoolArray


def estimate(
    *,
    unknown: BoolArray,
    observed: Observed,
    network: DirectedNetwork,
    history: History,
    segments: SegmentTable,
) -> Estimates:
    """Speed and flow for every `unknown` segment from the measured ones and history."""
    known = observed.measured & ~unknown
    speed = _neighbour_speed(network, known, observed.smoothed_share())
    has_hist = ~np.isnan(history.speed_share)
    w_hist = np.where(has_hist, HISTORY_WEIGHT, 0.0)
    total = speed.weight + w_hist
    share = np.where(
        total > 0,
        (speed.weight * speed.share + w_hist * np.nan_to_num(history.speed_share))
        / np.maximum(total, 1e-9),
        1.0,
    )
    flow, flow_known = _flow(network, known, observed.flow_veh_h, history, segments)
    confidence = np.where(
        speed.weight > 0,
        NEIGHBOUR_CONFIDENCE * np.minimum(speed.weight * 2, 1.0) * np.where(has_hist, 1.1, 1.0),
        np.where(has_hist, HISTORY_ONLY_CONFIDENCE, NOTHING_KNOWN_CONFIDENCE),
    ) * np.where(flow_known, 1.0, 0.9)
    idx = np.flatnonzero(unknown).astype(np.int64)
    free_flow = segments.free_flow_kmh[idx]
    speed_kmh = np.clip(share[idx], MIN_SHARE, MAX_SHARE) * free_flow
    capacity = segments.capacity_veh_h[idx]
    # An estimated flow above capacity is the estimate's error, not a measured overload:
    # it must not force LOS F on its own.
    flow_out = np.clip(flow[idx], 0.0, capacity)
    vc = flow_out / capacity
    return Estimates(
        segment=idx,
        speed_kmh=speed_kmh,
        flow_veh_h=flow_out,
        density_veh_km=flow_out / speed_kmh,
        vc_ratio=vc,
        los=level_of_service(speed_kmh, free_flow, vc),
        congestion_level=congestion_level(speed_kmh, free_flow),
        confidence=np.round(np.clip(confidence[idx], 0.0, MAX_CONFIDENCE), 3),
        source=_sources(speed.from_up[idx], speed.from_down[idx], has_hist[idx]),
    )


def _neighbour_speed(network: DirectedNetwork, known: BoolArray, share: FloatArray) -> _Speed:
    """Adaptive smoothing of the shares carried from upstream and from downstream."""
    down = _along_street(network, known, share, against_traffic=True)
    up = _along_street(network, known, share, against_traffic=False)
    has_down = down.weight > 0
    has_up = up.weight > 0
    slowest = np.minimum(np.where(has_down, down.value, 1.0), np.where(has_up, up.value, 1.0))
    congested = 0.5 * (1.0 + np.tanh((CRITICAL_SHARE - slowest) / CRITICAL_WIDTH))
    w_down = down.weight * (1.0 - UPSTREAM_BIAS * (1.0 - congested))
    w_up = up.weight * (1.0 - congested)
    total = w_down + w_up
    value = np.where(
        total > 0, (w_down * down.value + w_up * up.value) / np.maximum(total, 1e-9), 1.0
    )
    return _Speed(
        share=value,
        weight=np.maximum(down.weight, up.weight),
        from_up=w_up > 0,
        from_down=w_down > 0,
    )


def _along_street(
    network: DirectedNetwork, known: BoolArray, share: FloatArray, *, against_traffic: bool
) -> propagation.Reach:
    """Shares carried along straight-on movements first (the same street), turns only where
    the street has nothing to say: a cross street's state says little about this one's."""
    source, target = network.upstream, network.downstream
    if against_traffic:
        source, target = target, source
    straight = network.straight
    street = carry(
        source[straight],
        target[straight],
        np.ones(int(straight.sum())),
        known,
        share,
        hops=MAX_HOPS,
    )
    around = carry(source, target, network.weight(1.0), known, share, hops=1)
    use_around = (street.weight == 0) & (around.weight > 0)
    return propagation.Reach(
        value=np.where(use_around, around.value, street.value),
        weight=np.where(use_around, around.weight * propagation.SPEED_TURN_WEIGHT, street.weight),
        hops=np.where(use_around, around.hops, street.hops),
    )


def _flow(
    network: DirectedNetwork,
    known: BoolArray,
    flow: FloatArray,
    history: History,
    segments: SegmentTable,
) -> tuple[FloatArray, BoolArray]:
    """Flow by conservation where enough of the movements are measured, else history."""
    conserved = conserve(network, known, flow, segments.capacity_veh_h)
    hist_flow = history.vc_ratio * segments.capacity_veh_h
    has_hist = ~np.isnan(hist_flow)
    by_conservation = conserved.covered > 0
    w_hist = np.where(has_hist, HISTORY_WEIGHT, 0.0)
    blended = np.where(
        has_hist,
        (conserved.covered * conserved.flow + w_hist * np.nan_to_num(hist_flow))
        / np.maximum(conserved.covered + w_hist, 1e-9),
        conserved.flow,
    )
    fallback = np.where(has_hist, np.nan_to_num(hist_flow), DEFAULT_VC * segments.capacity_veh_h)
    return np.where(by_conservation, blended, fallback), by_conservation | has_hist


def _sources(from_up: BoolArray, from_down: BoolArray, has_hist: BoolArray) -> list[str]:
    """What each estimate rests on, as the state's `source` names it."""
    names = []
    for up, down, hist in zip(from_up.tolist(), from_down.tolist(), has_hist.tolist(), strict=True):
        used = [
            name for name, on in (("upstream", up), ("downstream", down), ("history", hist)) if on
        ]
        names.append("+".join(used) if used else "free_flow")
    return names
