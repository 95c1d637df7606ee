"""The road network incidents route units over: directed links at their current speeds.

Traffic owns the network and its live state; bootstrap hands incidents an adapter
(`bridges.RoadsForIncidents`) that speaks these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RoadLink:
    """One directed segment, as routing needs it."""

    segment_id: str
    from_node: str
    to_node: str
    length_m: float
    speed_kmh: float  # current link speed; free-flow speed when no state
    free_flow_kmh: float
    name: str
    geometry: tuple[tuple[float, float], ...]  # (lon, lat) in the direction of travel


@dataclass(frozen=True)
class RoadSnapshot:
    """The whole network at one moment's speeds."""

    version: str  # changes when the network or the states change (a cache key)
    links: tuple[RoadLink, ...]
    # Changes only when the network does (segments, junctions, lines): a new `version` with
    # the same network_version is new speeds only. Empty: unknown, rebuild on every version.
    network_version: str = ""


class RoadNetwork(Protocol):
    async def snapshot(self) -> RoadSnapshot: ...


class FixedRoads:
    """The embedded adapter: a network given once (tests, the benchmark, a city without traffic)."""

    def __init__(self, links: tuple[RoadLink, ...], version: str = "fixed") -> None:
        self._snapshot = RoadSnapshot(version=version, links=links)

    async def snapshot(self) -> RoadSnapshot:
        return self._snapshot
