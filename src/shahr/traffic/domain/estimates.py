"""Estimates for segments without usable detectors: from their neighbours and their history.

Speed is estimated as a share of free flow and flow as a share of capacity, so a
neighbour of another class still says something useful. Neighbours are found by spreading
outwards from the measured segments over the network, hop by hop (up to `MAX_HOPS`), each
hop weighing less; the segment's own history for this hour of the week is blended in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shahr.traffic.domain.state import (
    BoolArray,
    FloatArray,
    IntArray,
    congestion_level,
    level_of_service,
)

MAX_HOPS = 4
HOP_DECAY = 0.5
HISTORY_WEIGHT = 0.5
NEIGHBOUR_CONFIDENCE = 0.6
HISTORY_ONLY_CONFIDENCE = 0.3
NOTHING_KNOWN_CONFIDENCE = 0.05
DEFAULT_VC = 0.3


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
    source: list[str]  # "neighbours", "history", "neighbours+history" or "free_flow"


def spread(
    n_segments: int,
    edge_a: IntArray,
    edge_b: IntArray,
    known: BoolArray,
    values: FloatArray,
    *,
    hops: int = MAX_HOPS,
) -> tuple[FloatArray, FloatArray]:
    """Fill unknown segments with the mean of known neighbours, hop by hop.

    Edges are undirected pairs (a, b). Returns (value, weight); weight is HOP_DECAY ** hop
    for filled segments, 1 for known ones, 0 for those out of reach.
    """
    value = np.where(known, values, 0.0)
    weight = np.where(known, 1.0, 0.0)
    src = np.concatenate([edge_a, edge_b])
    dst = np.concatenate([edge_b, edge_a])
    for hop in range(1, hops + 1):
        filled = weight > 0
        use = filled[src] & ~filled[dst]
        if not use.any():
            break
        w = weight[src[use]]
        total_w = np.bincount(dst[use], weights=w, minlength=n_segments)
        total_v = np.bincount(dst[use], weights=w * value[src[use]], minlength=n_segments)
        new = total_w > 0
        value = np.where(new, total_v / np.where(new, total_w, 1.0), value)
        weight = np.where(new, HOP_DECAY**hop, weight)
    return value, weight


def estimate(
    *,
    unknown: BoolArray,
    measured: BoolArray,
    edge_a: IntArray,
    edge_b: IntArray,
    speed_share: FloatArray,  # measured speed / free flow, where known
    vc_ratio: FloatArray,  # measured, where known
    history_share: FloatArray,  # NaN where there is no history for this hour of the week
    history_vc: FloatArray,
    free_flow_kmh: FloatArray,
    capacity_veh_h: FloatArray,
) -> Estimates:
    """Speed and flow for every `unknown` segment from the `measured` ones and history."""
    n = len(unknown)
    known = measured & ~unknown
    share_nb, weight = spread(n, edge_a, edge_b, known, speed_share)
    vc_nb, _ = spread(n, edge_a, edge_b, known, vc_ratio)
    has_nb = (weight > 0) & unknown
    has_hist = ~np.isnan(history_share) & unknown
    hist_share = np.nan_to_num(history_share, nan=1.0)
    hist_vc = np.nan_to_num(history_vc, nan=DEFAULT_VC)
    w_nb = np.where(has_nb, weight, 0.0)
    w_hist = np.where(has_hist, HISTORY_WEIGHT, 0.0)
    total = w_nb + w_hist
    share = np.where(
        total > 0, (w_nb * share_nb + w_hist * hist_share) / np.maximum(total, 1e-9), 1.0
    )
    vc = np.where(
        total > 0, (w_nb * vc_nb + w_hist * hist_vc) / np.maximum(total, 1e-9), DEFAULT_VC
    )
    confidence = np.where(
        has_nb,
        NEIGHBOUR_CONFIDENCE * weight * 2 * np.where(has_hist, 1.2, 1.0),
        np.where(has_hist, HISTORY_ONLY_CONFIDENCE, NOTHING_KNOWN_CONFIDENCE),
    )
    idx = np.flatnonzero(unknown).astype(np.int64)
    free_flow = free_flow_kmh[idx]
    speed = np.clip(share[idx], 0.03, 1.2) * free_flow
    flow = np.maximum(vc[idx], 0.0) * capacity_veh_h[idx]
    vc_out = flow / capacity_veh_h[idx]
    return Estimates(
        segment=idx,
        speed_kmh=speed,
        flow_veh_h=flow,
        density_veh_km=flow / speed,
        vc_ratio=vc_out,
        los=level_of_service(speed, free_flow, vc_out),
        congestion_level=congestion_level(speed, free_flow),
        confidence=np.round(np.minimum(confidence[idx], 0.8), 3).astype(np.float64),
        source=_sources(has_nb[idx], has_hist[idx]),
    )


def _sources(has_nb: BoolArray, has_hist: BoolArray) -> list[str]:
    """What each estimate rests on, as the API names it."""
    return [
        "neighbours+history"
        if nb and h
        else "neighbours"
        if nb
        else "history"
        if h
        else "free_flow"
        for nb, h in zip(has_nb.tolist(), has_hist.tolist(), strict=True)
    ]
