"""Which station is downstream of which: the segment that carries a segment's traffic
straight on at its end node.

At a junction the traffic of a segment spreads over the segments leaving it; the one
straight ahead (the smallest turn, within `MAX_TURN_DEG`) carries most of it and is the
one whose station sees the road past an incident empty. A segment that only turns has no
downstream station, and so no pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_TURN_DEG = 35.0


@dataclass(frozen=True)
class SegmentShape:
    segment_id: str
    from_node: str
    to_node: str
    geometry: tuple[tuple[float, float], ...]  # (lon, lat) in the direction of travel


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Degrees clockwise from north, on a local flat projection (fine within a city)."""
    east = (b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    north = b[1] - a[1]
    return math.degrees(math.atan2(east, north)) % 360.0


def _turn(into: float, out_of: float) -> float:
    return abs((out_of - into + 180.0) % 360.0 - 180.0)


def straight_on(segments: Sequence[SegmentShape]) -> dict[str, str]:
    """Each segment's straight-on successor (segments without one are left out)."""
    leaving: dict[str, list[SegmentShape]] = {}
    for segment in segments:
        leaving.setdefault(segment.from_node, []).append(segment)
    successors: dict[str, str] = {}
    for segment in segments:
        if len(segment.geometry) < 2:
            continue
        arriving = _bearing(segment.geometry[-2], segment.geometry[-1])
        best: tuple[float, str] | None = None
        for candidate in leaving.get(segment.to_node, []):
            if candidate.to_node == segment.from_node or len(candidate.geometry) < 2:
                continue  # a U-turn is never straight on
            turn = _turn(arriving, _bearing(candidate.geometry[0], candidate.geometry[1]))
            if turn <= MAX_TURN_DEG and (best is None or turn < best[0]):
                best = (turn, candidate.segment_id)
        if best is not None:
            successors[segment.segment_id] = best[1]
    return successors
