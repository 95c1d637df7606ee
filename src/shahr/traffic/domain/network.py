"""The road network: directed segments with their class, lanes, free-flow speed and capacity."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from shahr.kernel.geo import LonLat, haversine_m
from shahr.traffic.domain.errors import InvalidNetworkError

SegmentId = NewType("SegmentId", str)
NodeId = NewType("NodeId", str)

MAX_LANES = 8
MAX_ID_LENGTH = 120
MAX_CYCLE_S = 600.0


class RoadClass(StrEnum):
    """Functional class, from OSM's `highway` tag (or SUMO's edge type)."""

    freeway = "freeway"  # motorway (آزادراه)
    expressway = "expressway"  # trunk (بزرگراه)
    major_arterial = "major_arterial"  # primary (شریانی درجه ۱)
    minor_arterial = "minor_arterial"  # secondary (شریانی درجه ۲)
    collector = "collector"  # tertiary (جمع‌کننده)
    local = "local"  # residential, unclassified, living street (محلی)


# Per lane, veh/h: uninterrupted flow on freeways and expressways (HCM basic segments, a
# little below for Tehran's fleet), and signalised streets at about half green time.
LANE_CAPACITY_VEH_H: dict[RoadClass, int] = {
    RoadClass.freeway: 1900,
    RoadClass.expressway: 1700,
    RoadClass.major_arterial: 900,
    RoadClass.minor_arterial: 800,
    RoadClass.collector: 700,
    RoadClass.local: 500,
}

# Free-flow speeds where the data names no limit: Tehran's posted limits by class.
DEFAULT_FREE_FLOW_KMH: dict[RoadClass, float] = {
    RoadClass.freeway: 100.0,
    RoadClass.expressway: 80.0,
    RoadClass.major_arterial: 60.0,
    RoadClass.minor_arterial: 50.0,
    RoadClass.collector: 40.0,
    RoadClass.local: 30.0,
}

OSM_HIGHWAY_CLASS: dict[str, RoadClass] = {
    "motorway": RoadClass.freeway,
    "motorway_link": RoadClass.freeway,
    "trunk": RoadClass.expressway,
    "trunk_link": RoadClass.expressway,
    "primary": RoadClass.major_arterial,
    "primary_link": RoadClass.major_arterial,
    "secondary": RoadClass.minor_arterial,
    "secondary_link": RoadClass.minor_arterial,
    "tertiary": RoadClass.collector,
    "tertiary_link": RoadClass.collector,
    "residential": RoadClass.local,
    "unclassified": RoadClass.local,
    "living_street": RoadClass.local,
}

DEFAULT_LANES: dict[RoadClass, int] = {
    RoadClass.freeway: 3,
    RoadClass.expressway: 3,
    RoadClass.major_arterial: 2,
    RoadClass.minor_arterial: 2,
    RoadClass.collector: 1,
    RoadClass.local: 1,
}


def capacity_veh_h(road_class: RoadClass, lanes: int) -> int:
    """A segment's capacity from its class and lane count."""
    return LANE_CAPACITY_VEH_H[road_class] * lanes


def length_of(geometry: Sequence[LonLat]) -> float:
    """A polyline's length in metres."""
    return sum(haversine_m(a, b) for a, b in itertools.pairwise(geometry))


def bearing_deg(a: LonLat, b: LonLat) -> float:
    """The initial compass bearing from a to b, 0-360 (0 north, 90 east)."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    d_lon = math.radians(b.lon - a.lon)
    x = math.sin(d_lon) * math.cos(lat_b)
    y = math.cos(lat_a) * math.sin(lat_b) - math.sin(lat_a) * math.cos(lat_b) * math.cos(d_lon)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


@dataclass(frozen=True)
class SegmentSpec:
    """A segment to import: one direction of a road between two intersections.

    Unset free-flow speed, capacity and length come from the class, lanes and geometry.
    """

    id: str
    geometry: Sequence[tuple[float, float]]  # [(lon, lat), ...] in the direction of travel
    road_class: RoadClass | str
    lanes: int
    from_node: str
    to_node: str
    name: str = ""
    free_flow_kmh: float | None = None
    capacity_veh_h: int | None = None
    length_m: float | None = None
    district: int | None = None
    # The signal where traffic leaves the segment: cycle and effective green / cycle for
    # its through movement (None: no signal, or its timing is unknown).
    signal_cycle_s: float | None = None
    green_share: float | None = None
    # Traffic leaving the segment gives way to a road of higher priority at an unsignalised
    # junction (a side street's stop or yield line).
    yields: bool = False


@dataclass(frozen=True)
class Segment:
    """A directed road segment between two nodes of the network."""

    id: SegmentId
    name: str
    road_class: RoadClass
    lanes: int
    from_node: NodeId
    to_node: NodeId
    geometry: tuple[LonLat, ...]
    length_m: float
    bearing_deg: float
    free_flow_kmh: float
    capacity_veh_h: int
    capacity_overridden: bool
    district: int | None
    source: str = ""
    signal_cycle_s: float | None = None
    green_share: float | None = None
    yields: bool = False

    @property
    def free_flow_travel_time_s(self) -> float:
        return self.length_m / (self.free_flow_kmh / 3.6)

    @property
    def midpoint(self) -> LonLat:
        """The vertex nearest the middle of the line (good enough to place a label or area)."""
        return (
            self.geometry[len(self.geometry) // 2]
            if len(self.geometry) > 2
            else LonLat(
                (self.geometry[0].lon + self.geometry[-1].lon) / 2,
                (self.geometry[0].lat + self.geometry[-1].lat) / 2,
            )
        )


def segment_from_spec(spec: SegmentSpec, *, source: str) -> Segment:
    """Check a spec and fill in what it leaves to the class; refuse what cannot be a road."""
    if not spec.id or len(spec.id) > MAX_ID_LENGTH:
        raise InvalidNetworkError(
            "A segment needs an id of 1 to {limit} characters.", limit=MAX_ID_LENGTH
        )
    try:
        road_class = RoadClass(spec.road_class)
    except ValueError:
        raise InvalidNetworkError(
            "Segment {segment} has an unknown road class «{road_class}».",
            segment=spec.id,
            road_class=str(spec.road_class),
        ) from None
    if not 1 <= spec.lanes <= MAX_LANES:
        raise InvalidNetworkError(
            "Segment {segment} must have 1 to {limit} lanes.", segment=spec.id, limit=MAX_LANES
        )
    try:
        geometry = tuple(LonLat(float(lon), float(lat)) for lon, lat in spec.geometry)
    except (TypeError, ValueError):
        geometry = ()
    if len(geometry) < 2:
        raise InvalidNetworkError(
            "Segment {segment} needs a line of at least two valid points.", segment=spec.id
        )
    length_m = spec.length_m if spec.length_m is not None else length_of(geometry)
    if not length_m > 0:
        raise InvalidNetworkError("Segment {segment} has no length.", segment=spec.id)
    free_flow = spec.free_flow_kmh or DEFAULT_FREE_FLOW_KMH[road_class]
    if not 5 <= free_flow <= 140:
        raise InvalidNetworkError(
            "Segment {segment} has an impossible free-flow speed.", segment=spec.id
        )
    overridden = spec.capacity_veh_h is not None
    capacity = spec.capacity_veh_h if spec.capacity_veh_h is not None else None
    if capacity is None:
        capacity = capacity_veh_h(road_class, spec.lanes)
    if not capacity > 0:
        raise InvalidNetworkError("Segment {segment} needs a positive capacity.", segment=spec.id)
    _check_signal(spec)
    return Segment(
        id=SegmentId(spec.id),
        name=spec.name,
        road_class=road_class,
        lanes=spec.lanes,
        from_node=NodeId(spec.from_node),
        to_node=NodeId(spec.to_node),
        geometry=geometry,
        length_m=float(length_m),
        bearing_deg=bearing_deg(geometry[0], geometry[-1]),
        free_flow_kmh=float(free_flow),
        capacity_veh_h=int(capacity),
        capacity_overridden=overridden,
        district=spec.district,
        source=source,
        signal_cycle_s=spec.signal_cycle_s,
        green_share=spec.green_share,
        yields=spec.yields,
    )


def _check_signal(spec: SegmentSpec) -> None:
    cycle, green = spec.signal_cycle_s, spec.green_share
    if (cycle is not None and not 0 < cycle <= MAX_CYCLE_S) or (
        green is not None and not 0 < green <= 1
    ):
        raise InvalidNetworkError(
            "Segment {segment} has an impossible signal timing.", segment=spec.id
        )


@dataclass
class Adjacency:
    """Which segments follow which: `downstream[i]` start where segment i ends."""

    downstream: dict[SegmentId, list[SegmentId]] = field(default_factory=dict)
    upstream: dict[SegmentId, list[SegmentId]] = field(default_factory=dict)

    def neighbours(self, segment_id: SegmentId) -> list[SegmentId]:
        return [*self.upstream.get(segment_id, []), *self.downstream.get(segment_id, [])]


def adjacency_of(segments: Sequence[Segment]) -> Adjacency:
    """Connect segments through shared nodes, leaving out a road's own opposite direction."""
    starting: dict[NodeId, list[Segment]] = {}
    for segment in segments:
        starting.setdefault(segment.from_node, []).append(segment)
    adjacency = Adjacency()
    for segment in segments:
        following = [
            nxt.id for nxt in starting.get(segment.to_node, []) if nxt.to_node != segment.from_node
        ]
        adjacency.downstream[segment.id] = following
        for nxt_id in following:
            adjacency.upstream.setdefault(nxt_id, []).append(segment.id)
    return adjacency
