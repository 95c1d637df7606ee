"""The detectors' minutes that automatic incident detection reads, and which detector is
downstream of which: a port onto traffic's read side (adapter: `bridges.DetectorFeedForIncidents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StationMinute:
    """One loop's minute (one lane; `lane` 1 = kerb side, None for a whole-road detector)."""

    detector_id: str
    segment_id: str
    lane: int | None
    interval_start: datetime
    occupancy: float | None  # 0..1
    flow_veh_h: float | None
    speed_kmh: float | None


@dataclass(frozen=True)
class StationPair:
    """A detector and the next one downstream along the direction of travel (on the same
    segment or the segment straight on); `segment_id` is where an incident between them
    is reported, at (`lon`, `lat`), the upstream detector's place."""

    upstream_detector_id: str
    downstream_detector_id: str
    segment_id: str
    lon: float = 0.0
    lat: float = 0.0


class DetectorFeed(Protocol):
    async def station_minutes(self, since: datetime, until: datetime) -> Sequence[StationMinute]:
        """Every loop's minutes with `since <= interval_start < until`."""
        ...

    async def station_pairs(self) -> Sequence[StationPair]: ...


class FixedDetectorFeed:
    """A feed of given minutes and pairs: tests, and the demo without traffic's tables."""

    def __init__(self, minutes: Sequence[StationMinute], pairs: Sequence[StationPair]) -> None:
        self._minutes = tuple(minutes)
        self._pairs = tuple(pairs)

    async def station_minutes(self, since: datetime, until: datetime) -> Sequence[StationMinute]:
        return [m for m in self._minutes if since <= m.interval_start < until]

    async def station_pairs(self) -> Sequence[StationPair]:
        return self._pairs
