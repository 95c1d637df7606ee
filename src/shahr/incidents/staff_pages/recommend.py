"""The road network as the dashboard needs it: units ranked for an incident, a map click
placed on a segment, and the streets to pick from.

The ranking is core's `services.dispatch.recommend`; the map click is placed on the same
graph (the area's one graph cache, `ports.graphs`), so both read the network at the same
version.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from shahr.incidents.domain.errors import NoRoadNetworkError
from shahr.incidents.domain.incident import Incident
from shahr.incidents.domain.routing import Place, Recommendation, RoadGraph, RoadNotInNetworkError
from shahr.incidents.gateways.roads import RoadLink, RoadNetwork
from shahr.incidents.services import IncidentsPorts
from shahr.incidents.services import dispatch as dispatching

# The pick list of the last road snapshot seen (a page per refresh would sort it again).
_STREETS: dict[str, Any] = {}
MAX_STREETS = 400  # the pick list: a city has thousands of segments, an operator reads a few


@dataclass(frozen=True)
class Street:
    """A segment to pick from the list, with the point the incident is put at."""

    segment_id: str
    name: str
    lon: float
    lat: float
    offset_m: float


@dataclass(frozen=True)
class Placed:
    """A map click on the road network: the segment, where on it, and how far the click was."""

    place: Place
    name: str
    lon: float
    lat: float
    distance_m: float


def middle_of(line: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """The point half-way along a street's line (degrees are near enough flat over a street)."""
    steps = [math.dist(a, b) for a, b in itertools.pairwise(line)]
    left = sum(steps) / 2
    for (a, b), step in zip(itertools.pairwise(line), steps, strict=True):
        if step >= left and step > 0:
            share = left / step
            return (a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share)
        left -= step
    return line[0]


async def _graph(
    roads: RoadNetwork, ports: IncidentsPorts
) -> tuple[RoadGraph, tuple[RoadLink, ...]]:
    graph, snapshot = await dispatching.graph_of(roads, ports.graphs)
    return graph, snapshot.links


async def recommend(ports: IncidentsPorts, incident: Incident) -> list[Recommendation] | None:
    """Units by travel time to the incident, then the skipped (core's service); None without
    a road network or when the incident is not on a road of it."""
    try:
        return await dispatching.recommend(
            ports.database,
            ports.clock,
            ports.roads,
            incident.id,
            stale_after_s=ports.stale_after_s,
            graphs=ports.graphs,
        )
    except (NoRoadNetworkError, RoadNotInNetworkError):
        return None


async def place_click(
    roads: RoadNetwork, ports: IncidentsPorts, lon: float, lat: float
) -> Placed | None:
    """The segment nearest a map click, or None when no road is near enough."""
    graph, links = await _graph(roads, ports)
    snapped = graph.snap(lon, lat)
    if snapped is None:
        return None
    place, distance_m = snapped
    on_lon, on_lat = graph.point_at(place)
    name = next((link.name for link in links if link.segment_id == place.segment_id), "")
    return Placed(place=place, name=name, lon=on_lon, lat=on_lat, distance_m=distance_m)


async def streets(roads: RoadNetwork | None) -> list[Street]:
    """Named segments to pick from, by name, each at its middle (sorted once per version)."""
    if roads is None:
        return []
    snapshot = await roads.snapshot()
    # The adapters hand the same snapshot until the roads change: its identity is the key.
    if _STREETS.get("snapshot") is not snapshot:
        found = [
            Street(link.segment_id, link.name, *middle_of(link.geometry), link.length_m / 2)
            for link in sorted(snapshot.links, key=lambda link: (link.name, link.segment_id))
            if link.geometry
        ]
        _STREETS.clear()
        _STREETS.update(snapshot=snapshot, streets=found[:MAX_STREETS])
    listed: list[Street] = _STREETS["streets"]
    return listed


async def street(roads: RoadNetwork | None, segment_id: str) -> Street | None:
    """The segment picked from the list, at its middle; None if the network has no such one."""
    if roads is None:
        return None
    snapshot = await roads.snapshot()
    for link in snapshot.links:
        if link.segment_id == segment_id and link.geometry:
            lon, lat = middle_of(link.geometry)
            return Street(link.segment_id, link.name, lon, lat, link.length_m / 2)
    return None
