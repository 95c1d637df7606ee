"""Placing a device given by its position: the nearest segment in its direction of travel.

Both directions of a two-way street are two segments along the same line, so a position
alone cannot say which one a loop sits in: a bearing (the direction of the traffic it
counts) picks the segment whose travel direction is within `BEARING_TOLERANCE_DEG` of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shahr.kernel.geo import LineIndex, LonLat
from shahr.traffic.domain.errors import InvalidDetectorError
from shahr.traffic.domain.network import Segment, SegmentId

BEARING_TOLERANCE_DEG = 45.0
# A loop or camera is in the carriageway: further than this from every segment, the file's
# position or the network is wrong.
DEFAULT_SNAP_M = 30.0
# Two candidates this close in distance are the two directions of one street.
SAME_LINE_M = 1.0
CANDIDATES = 8
_EARTH_M_PER_DEG = 111_195.0


@dataclass(frozen=True)
class Snap:
    """Where a position falls on a segment: how far along it, how far off it."""

    segment_id: SegmentId
    position_m: float
    distance_m: float
    bearing_deg: float  # the segment's travel direction at that point


def bearing_gap_deg(a: float, b: float) -> float:
    """The smaller angle between two compass bearings, 0-180."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


def locate_on(segment: Segment, point: LonLat) -> Snap:
    """The point's nearest place on the segment (in a plane local to the point)."""
    east = math.cos(math.radians(point.lat)) * _EARTH_M_PER_DEG
    best: tuple[float, float, float] | None = None  # distance, offset, bearing
    walked = 0.0
    for a, b in itertools.pairwise(segment.geometry):
        ax, ay = (a.lon - point.lon) * east, (a.lat - point.lat) * _EARTH_M_PER_DEG
        bx, by = (b.lon - point.lon) * east, (b.lat - point.lat) * _EARTH_M_PER_DEG
        dx, dy = bx - ax, by - ay
        piece = math.hypot(dx, dy)
        t = 0.0 if piece == 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / piece**2))
        distance = math.hypot(ax + t * dx, ay + t * dy)
        if best is None or distance < best[0]:
            bearing = (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0
            best = (distance, walked + t * piece, bearing)
        walked += piece
    assert best is not None  # noqa: S101  # a segment has at least two points
    distance, offset, bearing = best
    # The drawn line and the segment's stated length (SUMO's lane length) may differ.
    scale = segment.length_m / walked if walked > 0 else 0.0
    return Snap(segment.id, round(offset * scale, 1), distance, bearing)


class SegmentPlacer:
    """The network's segments, for placing positions on them."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._segments = {s.id: s for s in segments}
        self._index: LineIndex[SegmentId] = LineIndex((s.id, s.geometry) for s in segments)

    def snap(
        self,
        point: LonLat,
        *,
        bearing_deg: float | None = None,
        max_distance_m: float = DEFAULT_SNAP_M,
        name: str = "",
    ) -> Snap:
        """The nearest segment running the bearing's way; refuses a position on no road."""
        found = self._index.nearest(point, CANDIDATES, max_distance_m=max_distance_m)
        snaps = [locate_on(self._segments[segment_id], point) for segment_id, _ in found]
        if bearing_deg is not None:
            snaps = [
                s
                for s in snaps
                if bearing_gap_deg(s.bearing_deg, bearing_deg) <= BEARING_TOLERANCE_DEG
            ]
            if not snaps:
                raise InvalidDetectorError(
                    "{name} is not within {metres} m of a road segment running its bearing.",
                    name=name,
                    metres=round(max_distance_m),
                )
        if not snaps:
            raise InvalidDetectorError(
                "{name} is not within {metres} m of a road segment.",
                name=name,
                metres=round(max_distance_m),
            )
        nearest = snaps[0]
        if bearing_deg is None:
            other = [
                s
                for s in snaps[1:]
                if s.distance_m - nearest.distance_m <= SAME_LINE_M
                and bearing_gap_deg(s.bearing_deg, nearest.bearing_deg) > 90.0
            ]
            if other:
                raise InvalidDetectorError(
                    "{name} lies on a two-way street: give its bearing (the direction of the"
                    " traffic it sees) to choose the side.",
                    name=name,
                )
        return nearest

    def nearest(self, point: LonLat, *, max_distance_m: float) -> Snap | None:
        """The nearest segment within the distance, whichever its direction."""
        found = self._index.nearest(point, 1, max_distance_m=max_distance_m)
        return locate_on(self._segments[found[0][0]], point) if found else None
