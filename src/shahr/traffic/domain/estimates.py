"""Estimates for segments without usable detectors: from the traffic around them and history.

Every link has its own expected speed: its length run at free flow plus the HCM control
delay at its downstream signal for its flow (so a short link before a long red is slower
than a long one before a short red). What the neighbours add is how far the measured links
run from their own model, the residual measured / modelled: carried along the directed
network both ways and combined as in Treiber and Helbing's adaptive smoothing (where either
side is slow, the downstream side's word counts, a queue growing back against the traffic;
else the upstream side's), steadied by the network's median residual and history. The
measured states are first smoothed over the last few intervals. Flow keeps every junction
in balance (what enters leaves) around the measured flows, in vehicles, so a side street
gets what the arterial does not carry on, never the arterial's share of capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shahr.traffic.domain import propagation
from shahr.traffic.domain.propagation import DirectedNetwork, balance, carry
from shahr.traffic.domain.signals import control_delay_s, signal_capacity, with_signal_delay
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
NETWORK_WEIGHT = 0.3  # the network's median residual, against the same
MODEL_MAX_X = 0.95
RECENT_DECAY = 0.6  # weight of the measurement k intervals ago: RECENT_DECAY ** k
MIN_SHARE = 0.03  # about 1.5 km/h on a 50 km/h street: a standstill, still moving
MAX_SHARE = 1.1
DEFAULT_VC = 0.3
NEIGHBOUR_CONFIDENCE = 0.7
HISTORY_ONLY_CONFIDENCE = 0.3
NETWORK_ONLY_CONFIDENCE = 0.12
NOTHING_KNOWN_CONFIDENCE = 0.05
MAX_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Observed:
    """What was measured this interval, and in the few before it (most recent first)."""

    measured: BoolArray
    speed_share: FloatArray  # speed / free flow, where measured
    flow_veh_h: FloatArray  # where measured
    recent_share: FloatArray | None = None  # (k, n): earlier intervals, NaN where not measured
    recent_flow: FloatArray | None = None  # (k, n): the same intervals' flows

    def smoothed_share(self) -> FloatArray:
        """This interval's shares averaged with the earlier ones, the recent weighing most."""
        if self.recent_share is None or not len(self.recent_share):
            return self.speed_share
        weights = RECENT_DECAY ** np.arange(1, len(self.recent_share) + 1)[:, None]
        seen = ~np.isnan(self.recent_share)
        total = 1.0 + (weights * seen).sum(axis=0)
        summed = self.speed_share + (weights * np.nan_to_num(self.recent_share)).sum(axis=0)
        return np.where(self.measured, summed / total, self.speed_share)

    def smoothed_flow(self) -> FloatArray:
        """This interval's flows averaged with the earlier ones, equally: one minute's count
        is a noisy rate, and the junction balance turns its noise into the neighbours'."""
        if self.recent_flow is None or not len(self.recent_flow):
            return self.flow_veh_h
        seen = ~np.isnan(self.recent_flow)
        total = 1.0 + seen.sum(axis=0)
        summed = self.flow_veh_h + np.nan_to_num(self.recent_flow).sum(axis=0)
        return np.where(self.measured, summed / total, self.flow_veh_h)


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


def modelled_share(segments: SegmentTable, flow_veh_h: FloatArray) -> FloatArray:
    """Each link's expected speed as a share of free flow: its length run at free flow plus
    the HCM control delay at its downstream signal for this flow (1 where no signal)."""
    free_flow = segments.free_flow_kmh
    if segments.signal_cycle_s is None or segments.green_share is None:
        return np.ones_like(free_flow)
    # Past the signal's capacity an estimate's own flow error would turn into minutes of
    # delay: the model stops just short of it (the neighbours' residual carries the rest).
    limit = MODEL_MAX_X * signal_capacity(segments.lanes, segments.green_share)
    flow = np.where(np.isfinite(limit), np.minimum(flow_veh_h, limit), flow_veh_h)
    delay = control_delay_s(flow, segments.lanes, segments.signal_cycle_s, segments.green_share)
    return with_signal_delay(free_flow, segments.length_m, delay) / free_flow


def estimate(
    *,
    unknown: BoolArray,
    observed: Observed,
    network: DirectedNetwork,
    history: History,
    segments: SegmentTable,
) -> Estimates:
    """Speed and flow for every `unknown` segment from the measured ones and history.

    Speed is each link's modelled share times a residual (measured / modelled) carried from
    the measured links along the street, the network's median residual steadying it.
    """
    known = observed.measured & ~unknown
    flow, flow_known = _flow(network, known, observed.smoothed_flow(), history, segments)
    modelled = modelled_share(segments, flow)
    residual = np.where(known, observed.smoothed_share() / np.maximum(modelled, 1e-3), 1.0)
    speed = _neighbour_speed(network, known, residual)
    hist_residual = history.speed_share / modelled
    has_hist = ~np.isnan(hist_residual)
    w_hist = np.where(has_hist, HISTORY_WEIGHT, 0.0)
    network_residual = float(np.median(residual[known])) if known.any() else 1.0
    w_net = NETWORK_WEIGHT if known.any() else 0.0
    total = speed.weight + w_hist + w_net
    carried = np.where(
        total > 0,
        (
            speed.weight * speed.share
            + w_hist * np.nan_to_num(hist_residual)
            + w_net * network_residual
        )
        / np.maximum(total, 1e-9),
        1.0,
    )
    share = modelled * carried
    confidence = np.where(
        speed.weight > 0,
        NEIGHBOUR_CONFIDENCE * np.minimum(speed.weight * 2, 1.0) * np.where(has_hist, 1.1, 1.0),
        np.where(
            has_hist,
            HISTORY_ONLY_CONFIDENCE,
            NETWORK_ONLY_CONFIDENCE if w_net else NOTHING_KNOWN_CONFIDENCE,
        ),
    ) * np.where(flow_known, 1.0, 0.9)
    return _assembled(
        np.flatnonzero(unknown).astype(np.int64),
        share,
        flow,
        confidence,
        segments,
        _sources(
            speed.from_up[unknown],
            speed.from_down[unknown],
            (speed.weight[unknown] == 0) & bool(w_net),
            has_hist[unknown],
            (modelled < 1.0)[unknown],
        ),
    )


def _assembled(
    idx: IntArray,
    share: FloatArray,
    flow: FloatArray,
    confidence: FloatArray,
    segments: SegmentTable,
    source: list[str],
) -> Estimates:
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
        confidence=np.round(np.clip(confidence[idx], 0.0, MAX_CONFIDENCE), 3).astype(np.float64),
        source=source,
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
    street_source, street_target = network.straight_ends
    if against_traffic:
        source, target = target, source
        street_source, street_target = street_target, street_source
    street = carry(
        street_source,
        street_target,
        np.ones(len(street_source)),
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
    """Flow that balances every junction against the measured flows, starting from history
    (or the measured segments' mean v/c this interval) times each segment's capacity."""
    capacity = segments.capacity_veh_h
    hist_flow = history.vc_ratio * capacity
    has_hist = ~np.isnan(hist_flow)
    mean_vc = float(np.mean(flow[known] / capacity[known])) if known.any() else DEFAULT_VC
    prior = np.where(has_hist, np.nan_to_num(hist_flow), mean_vc * capacity)
    balanced = balance(network, known, flow, prior)
    # One minute's counts make a noisy difference: only where the junction pins a segment's
    # flow down does the balance stand alone, elsewhere it is steadied by the prior.
    steadied = np.where(balanced.pinned, balanced.flow, 0.5 * (balanced.flow + prior))
    up, down = network.upstream, network.downstream
    next_to_known = (
        np.bincount(down, weights=known[up], minlength=network.n_segments)
        + np.bincount(up, weights=known[down], minlength=network.n_segments)
    ) > 0
    return steadied, next_to_known | has_hist | balanced.pinned


_SOURCE_NAMES = ("upstream", "downstream", "neighbours", "history", "signal_delay")
_SOURCE_TEXT = np.array(
    [
        "+".join(name for bit, name in enumerate(_SOURCE_NAMES) if code >> bit & 1) or "free_flow"
        for code in range(1 << len(_SOURCE_NAMES))
    ],
    dtype=object,
)


def _sources(*used: BoolArray) -> list[str]:
    """What each estimate rests on, as the state's `source` names it (in _SOURCE_NAMES'
    order; nothing at all is free flow)."""
    code = np.zeros(len(used[0]), dtype=np.int64)
    for bit, on in enumerate(used):
        code |= on.astype(np.int64) << bit
    return list(_SOURCE_TEXT[code].tolist())
