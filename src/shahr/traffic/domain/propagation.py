"""Carrying what measured segments say to their unmeasured neighbours, along the traffic.

The network is directed: a movement goes from the segment traffic leaves (`upstream`) onto
the one it enters (`downstream`). Speed travels along the movements one way or the other
(a queue grows back against the traffic, free flow goes with it); flow is balanced at the
junctions: what enters a junction leaves it. Everything here is arrays over segments or
movements, no loops over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from shahr.traffic.domain.state import BoolArray, FloatArray, IntArray

# A movement straight on carries most of a street's traffic, and its queue backs up along the
# same street: a straight-on neighbour weighs 1, a turn this much (for speed).
SPEED_TURN_WEIGHT = 0.2
STRAIGHT_DEG = 30.0
HOP_DECAY = 0.5
# Sweeps of the junction balance: each carries a correction one junction further.
BALANCE_SWEEPS = 8


@dataclass(frozen=True)
class DirectedNetwork:
    """The network's movements: traffic leaves `upstream[k]` onto `downstream[k]`."""

    n_segments: int
    upstream: IntArray
    downstream: IntArray
    turn_deg: FloatArray  # the movement's turn: 0 straight on, 90 a right turn, -90 a left

    # Cached on the instance: the registry keeps one network per version, so the index
    # arrays are built once, not on every read.
    @cached_property
    def straight(self) -> BoolArray:
        """Movements straight on (within STRAIGHT_DEG): the same street, most likely."""
        return np.abs(self.turn_deg) <= STRAIGHT_DEG

    @cached_property
    def straight_ends(self) -> tuple[IntArray, IntArray]:
        """The straight-on movements' (upstream, downstream) segments."""
        return self.upstream[self.straight].copy(), self.downstream[self.straight].copy()

    @cached_property
    def junctions(self) -> tuple[IntArray, IntArray]:
        """Each segment's (start, end) junction: ends joined by a movement are one junction."""
        return junctions(self.n_segments, self.upstream, self.downstream)

    def weight(self, turn_weight: float) -> FloatArray:
        """How much a movement ties its two segments together: straight on 1, a turn less."""
        return np.where(np.abs(self.turn_deg) <= STRAIGHT_DEG, 1.0, turn_weight)


@dataclass(frozen=True)
class Reach:
    """A value carried to segments: its weighted mean, the weight, and hops travelled."""

    value: FloatArray
    weight: FloatArray  # 0 where nothing arrived; 1 at a source; less per hop and turn
    hops: IntArray  # 0 at a source; -1 where nothing arrived


def carry(
    source: IntArray,
    target: IntArray,
    movement_weight: FloatArray,
    known: BoolArray,
    values: FloatArray,
    *,
    hops: int,
) -> Reach:
    """Carry `values` of `known` segments from `source` to `target` ends of the movements.

    Hop by hop, a segment not reached yet takes the weighted mean of the reached segments
    it is fed by; its weight is theirs, times the movement's, times HOP_DECAY.
    """
    n = len(known)
    value = np.where(known, values, 0.0)
    weight = np.where(known, 1.0, 0.0)
    hop = np.where(known, 0, -1).astype(np.int64)
    for step in range(1, hops + 1):
        reached = weight > 0
        use = reached[source] & ~reached[target]
        if not use.any():
            break
        w = weight[source[use]] * movement_weight[use]
        total_w = np.bincount(target[use], weights=w, minlength=n)
        total_v = np.bincount(target[use], weights=w * value[source[use]], minlength=n)
        fresh = total_w > 0
        value = np.where(fresh, total_v / np.where(fresh, total_w, 1.0), value)
        # Several reached neighbours say more than one: their summed weight, at most 1.
        weight = np.where(fresh, np.minimum(total_w, 1.0) * HOP_DECAY, weight)
        hop = np.where(fresh, step, hop)
    return Reach(value, weight, hop)


def junctions(n: int, upstream: IntArray, downstream: IntArray) -> tuple[IntArray, IntArray]:
    """Label each segment's start and end junction, the smallest label winning along the
    movements until every movement's two ends agree (a few sweeps: junctions are small)."""
    end = np.arange(n, dtype=np.int64)
    start = np.arange(n, 2 * n, dtype=np.int64)
    while len(upstream):
        label = np.minimum(end[upstream], start[downstream])
        before_end, before_start = end.copy(), start.copy()
        np.minimum.at(end, upstream, label)
        np.minimum.at(start, downstream, label)
        if np.array_equal(end, before_end) and np.array_equal(start, before_start):
            break
    return start, end


@dataclass(frozen=True)
class Balanced:
    flow: FloatArray
    pinned: BoolArray  # the only unknown at one of its junctions: its flow is the difference


def balance(
    network: DirectedNetwork, known: BoolArray, flow: FloatArray, prior: FloatArray
) -> Balanced:
    """Flows that keep every junction's vehicles in balance (in = out), the known flows fixed.

    The unknown flows start from `prior`; each sweep moves them so each junction's imbalance
    is shared among its unknown segments in proportion to their flow, a segment between two
    junctions taking the mean of the two corrections. A junction where every segment is
    known, or that has no way in or no way out (the network's edge), is left alone.
    """
    start, end = network.junctions
    size = 2 * network.n_segments
    q = np.where(known, flow, np.maximum(prior, 0.0))
    unknown = ~known
    ins = np.bincount(end, minlength=size) > 0
    outs = np.bincount(start, minlength=size) > 0
    alone = (
        (
            np.bincount(end, weights=unknown, minlength=size)
            + np.bincount(start, weights=unknown, minlength=size)
            == 1
        )
        & ins
        & outs
    )
    pinned = unknown & (alone[start] | alone[end])
    for _ in range(BALANCE_SWEEPS):
        imbalance = np.bincount(end, weights=q, minlength=size) - np.bincount(
            start, weights=q, minlength=size
        )
        free = np.bincount(end, weights=q * unknown, minlength=size) + np.bincount(
            start, weights=q * unknown, minlength=size
        )
        usable = ins & outs & (free > 0)
        per_vehicle = np.where(usable, imbalance / np.maximum(free, 1e-9), 0.0)
        # More in than out at the start junction: this exit carries more; at the end, less.
        at_start, at_end = usable[start], usable[end]
        change = per_vehicle[start] * at_start - per_vehicle[end] * at_end
        count = at_start.astype(np.float64) + at_end
        step = np.where(count > 0, change / np.maximum(count, 1.0), 0.0)
        # A segment's flow shrinks at most tenfold a sweep: it stays able to take a correction.
        q = np.where(unknown, q * np.maximum(1.0 + step, 0.1), q)
    return Balanced(q, pinned)
