"""Journey times from plate cameras, fused with the loops' speeds.

A camera pair's journeys give the travel time over the chain of segments between them (the
shortest path by free-flow time over the directed network, from the first camera's spot on
its segment to the second's). Per interval, the median of the journeys that arrived in it
(outliers from stops and detours dropped, `indices.robust_travel_time`) is split among the
chain's links in proportion to their current travel times (the loops' speed where a link has
one, else free flow), and each link's speed from it is fused with its loops' speed by
inverse-variance weighting on log speed (relative errors add up there):

- loops: relative error SIGMA_LOOP / confidence. A mid-block loop's spot speed misses the
  queue at the stop line, so even a full-confidence loop is taken to be 25 % out.
- journeys: the median's error (pi/2 x sigma^2 / n, sigma from the journeys' spread), a
  route and camera-placement error, and a split error that grows as the link's share of
  the chain shrinks (the chain's delay is put where the loops say it is, which they may miss).

Confidence is SIGMA_LOOP over the fused error, capped at 1, so a loop state keeps its own
confidence when nothing is fused and gains when journeys agree with it or correct it.

A pair whose clocks disagree gives impossible times: its fastest journeys far faster than
free flow over the chain. Such a pair is not fused, and the states it would have fed say so.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from shahr.traffic.domain.indices import robust_travel_time
from shahr.traffic.domain.network import Segment

SIGMA_LOOP = 0.25
SIGMA_ROUTE = 0.10
SPLIT_ERROR = 0.30
MIN_SIGMA_LOG = 0.05  # a handful of identical times still does not pin the median exactly
# Journey-only states: the speed is measured, the flow is carried from the chain's loops.
JOURNEY_ONLY_CONFIDENCE = 0.8
# Chains longer than this at free flow are not followed: consecutive cameras that far apart
# do not pin the route a vehicle took.
MAX_CHAIN_S = 900.0
# Clock skew: a pair whose 20th-percentile time over the recent journeys is under 60 % of
# the chain's free-flow time (1.67 times the limit on average for a fifth of the drivers),
# less a camera's time-stamp tolerance, has clocks that disagree.
SKEW_PERCENTILE = 20.0
SKEW_FASTEST_SHARE = 0.6
SKEW_TOLERANCE_S = 2.0
SKEW_MIN_JOURNEYS = 5
SKEWED_CONFIDENCE = 0.9  # a loop state whose camera pair was refused: a conflict left open

JOURNEYS = "journeys"
JOURNEYS_SKEWED = "journeys_skewed"


@dataclass(frozen=True)
class CameraSpot:
    """Where a plate camera reads: its segment (index) and distance from the segment's start."""

    segment: int
    position_m: float | None


@dataclass(frozen=True)
class Chain:
    """The segments between two cameras, in order, and the share of each one travelled."""

    segments: tuple[int, ...]
    shares: tuple[float, ...]
    free_flow_s: float


def _position(segment: Segment, position_m: float | None) -> float:
    if position_m is None:
        return segment.length_m / 2
    return min(max(position_m, 0.0), segment.length_m)


def chain_between(
    segments: Sequence[Segment],
    downstream: Mapping[int, Sequence[int]],
    start: CameraSpot,
    end: CameraSpot,
    *,
    max_free_flow_s: float = MAX_CHAIN_S,
) -> Chain | None:
    """The shortest chain (by free-flow time) from one camera to the next; None if none."""
    first, last = segments[start.segment], segments[end.segment]
    from_m, to_m = _position(first, start.position_m), _position(last, end.position_m)
    if start.segment == end.segment and to_m > from_m:
        share = (to_m - from_m) / first.length_m
        return Chain((start.segment,), (share,), share * first.free_flow_travel_time_s)
    head = (first.length_m - from_m) / first.length_m
    tail = to_m / last.length_m
    cost0 = head * first.free_flow_travel_time_s
    best: dict[int, float] = {start.segment: cost0}
    parent: dict[int, int] = {}
    found, found_after = math.inf, -1
    queue = [(cost0, start.segment)]
    while queue:
        cost, current = heapq.heappop(queue)
        if cost >= found or cost > max_free_flow_s:
            break
        if cost > best[current]:
            continue
        for nxt in downstream.get(current, ()):
            if nxt == end.segment:  # the camera is on it: the chain ends there
                if cost + tail * last.free_flow_travel_time_s < found:
                    found, found_after = cost + tail * last.free_flow_travel_time_s, current
                continue
            step = cost + segments[nxt].free_flow_travel_time_s
            if step < best.get(nxt, math.inf):
                best[nxt], parent[nxt] = step, current
                heapq.heappush(queue, (step, nxt))
    if found_after < 0 or found > max_free_flow_s:
        return None
    path = [end.segment, found_after]
    while path[-1] != start.segment:
        path.append(parent[path[-1]])
    path.reverse()
    shares = [head, *([1.0] * (len(path) - 2)), tail]
    return Chain(tuple(path), tuple(shares), found)


class PairVerdict(StrEnum):
    used = "used"
    too_few = "too_few"  # fewer journeys than a median needs
    clock_skew = "clock_skew"


def clock_skewed(recent_times_s: Sequence[float], free_flow_s: float) -> bool:
    """Whether a pair's recent journeys are impossibly fast for their chain (or negative)."""
    if any(t <= 0 for t in recent_times_s):
        return True
    if len(recent_times_s) < SKEW_MIN_JOURNEYS:
        return False
    fast = float(np.percentile(np.asarray(recent_times_s, dtype=np.float64), SKEW_PERCENTILE))
    return fast < SKEW_FASTEST_SHARE * free_flow_s - SKEW_TOLERANCE_S


@dataclass(frozen=True)
class ChainTime:
    """One interval's robust travel time over a chain, and its relative variance."""

    travel_time_s: float
    journeys: int
    relative_variance: float


def chain_time(
    times_s: Sequence[float], recent_times_s: Sequence[float], free_flow_s: float
) -> ChainTime | PairVerdict:
    """The interval's travel time over the chain, or why the pair is not used for it."""
    if clock_skewed(recent_times_s, free_flow_s) or clock_skewed(times_s, free_flow_s):
        return PairVerdict.clock_skew
    robust = robust_travel_time(times_s)
    if robust is None:
        return PairVerdict.too_few
    median, kept = robust
    logs = np.log(np.asarray(times_s, dtype=np.float64))
    q1, q3 = np.percentile(logs, [25, 75])
    sigma = max(float(q3 - q1) / 1.349, MIN_SIGMA_LOG)
    variance = math.pi / 2 * sigma**2 / kept + SIGMA_ROUTE**2
    if median < SKEW_FASTEST_SHARE * free_flow_s - SKEW_TOLERANCE_S:
        return PairVerdict.clock_skew
    return ChainTime(median, kept, variance)


@dataclass(frozen=True)
class LinkSpeed:
    """A link's speed from a chain's journeys, and its relative variance."""

    segment: int
    speed_kmh: float
    relative_variance: float


def split_chain(
    chain: Chain, time: ChainTime, lengths_m: Sequence[float], current_kmh: Sequence[float]
) -> list[LinkSpeed]:
    """The chain's travel time shared among its links as their current times are.

    `lengths_m` and `current_kmh` are per link of the chain (current: the loops' speed, or
    free flow where a link has no loop).
    """
    times = [
        share * length / 1000.0 / max(speed, 0.1) * 3600.0
        for share, length, speed in zip(chain.shares, lengths_m, current_kmh, strict=True)
    ]
    total = sum(times)
    ratio = total / time.travel_time_s
    return [
        LinkSpeed(
            segment,
            speed * ratio,
            time.relative_variance + (SPLIT_ERROR * (1.0 - link_time / total)) ** 2,
        )
        for segment, speed, link_time in zip(chain.segments, current_kmh, times, strict=True)
    ]


def loop_variance(confidence: float) -> float:
    return (SIGMA_LOOP / max(confidence, 0.05)) ** 2


def confidence_of(relative_variance: float) -> float:
    return min(1.0, SIGMA_LOOP / math.sqrt(relative_variance))


@dataclass(frozen=True)
class Fused:
    speed_kmh: float
    confidence: float


def fuse(loop_kmh: float | None, loop_confidence: float, journeys: Sequence[LinkSpeed]) -> Fused:
    """Inverse-variance weighting on log speed of the loops (if any) and the journeys."""
    weights = [1.0 / j.relative_variance for j in journeys]
    logs = [math.log(max(j.speed_kmh, 0.1)) for j in journeys]
    if loop_kmh is not None:
        weights.append(1.0 / loop_variance(loop_confidence))
        logs.append(math.log(max(loop_kmh, 0.1)))
    total = sum(weights)
    speed = math.exp(sum(w * v for w, v in zip(weights, logs, strict=True)) / total)
    confidence = confidence_of(1.0 / total)
    if loop_kmh is None:
        confidence *= JOURNEY_ONLY_CONFIDENCE
    else:
        confidence = max(confidence, loop_confidence)
    return Fused(speed, round(confidence, 3))


def with_source(base: str, token: str) -> str:
    """`base` (a "+"-joined list of sources) with `token` in place of any journey token.

    The loops were called "detectors" before sources were listed: they are "loops" here.
    """
    parts = [
        "loops" if p == "detectors" else p
        for p in base.split("+")
        if p and p not in (JOURNEYS, JOURNEYS_SKEWED)
    ]
    return "+".join([*parts, token])
