"""SUMO networks (.net.xml) to road segments: one segment per SUMO edge, id = edge id.

Read with ElementTree (sumolib is not needed). A network made from OSM carries a UTM
projection (`projParameter`), and coordinates are turned back into WGS84 here; a generated
network (netgenerate) has none, and is placed with its centre at `origin`.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree  # our own or the city's SUMO files
from collections.abc import Callable
from pathlib import Path

from shahr.traffic.domain.errors import InvalidNetworkError
from shahr.traffic.domain.network import MAX_LANES, OSM_HIGHWAY_CLASS, RoadClass, SegmentSpec

TEHRAN_CENTRE = (51.389, 35.6892)
_WGS84_A = 6_378_137.0
_WGS84_F = 1 / 298.257223563
_UTM_K0 = 0.9996
_ZONE = re.compile(r"\+zone=(\d+)")


def utm_to_lonlat(x: float, y: float, zone: int, *, south: bool = False) -> tuple[float, float]:
    """Inverse transverse Mercator (Krüger series, sub-millimetre inside a zone)."""
    n = _WGS84_F / (2 - _WGS84_F)
    big_a = _WGS84_A / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    beta = (
        n / 2 - 2 * n**2 / 3 + 37 * n**3 / 96,
        n**2 / 48 + n**3 / 15,
        17 * n**3 / 480,
    )
    delta = (2 * n - 2 * n**2 / 3 - 2 * n**3, 7 * n**2 / 3 - 8 * n**3 / 5, 56 * n**3 / 15)
    xi = (y - (10_000_000.0 if south else 0.0)) / (_UTM_K0 * big_a)
    eta = (x - 500_000.0) / (_UTM_K0 * big_a)
    xi_p = xi - sum(
        b * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, b in enumerate(beta, 1)
    )
    eta_p = eta - sum(
        b * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, b in enumerate(beta, 1)
    )
    chi = math.asin(math.sin(xi_p) / math.cosh(eta_p))
    lat = chi + sum(d * math.sin(2 * j * chi) for j, d in enumerate(delta, 1))
    lon0 = math.radians(zone * 6 - 183)
    lon = lon0 + math.atan2(math.sinh(eta_p), math.cos(xi_p))
    return math.degrees(lon), math.degrees(lat)


def _class_of(edge_type: str, speed_kmh: float) -> RoadClass:
    highway = edge_type.split(".", 1)[1] if edge_type.startswith("highway.") else ""
    if highway in OSM_HIGHWAY_CLASS:
        return OSM_HIGHWAY_CLASS[highway]
    for limit, road_class in (
        (90, RoadClass.freeway),
        (70, RoadClass.expressway),
        (55, RoadClass.major_arterial),
        (45, RoadClass.minor_arterial),
        (35, RoadClass.collector),
    ):
        if speed_kmh >= limit:
            return road_class
    return RoadClass.local


def _points(shape: str) -> list[tuple[float, float]]:
    points = []
    for pair in shape.split():
        x, y = pair.split(",")[:2]
        points.append((float(x), float(y)))
    return points


def read_sumo(path: Path, *, origin: tuple[float, float] = TEHRAN_CENTRE) -> list[SegmentSpec]:
    """Segments from a SUMO network file (internal edges and footpaths left out)."""
    root = _net_root(path)
    to_lonlat = _projection_of(root, origin)
    timings = _signal_timings_of(root)
    yielding = _yielding_of(root)
    specs = [
        spec
        for edge in root.iter("edge")
        if (
            spec := _segment_of(
                edge, to_lonlat, timings.get(str(edge.get("id"))), str(edge.get("id")) in yielding
            )
        )
        is not None
    ]
    if not specs:
        raise InvalidNetworkError("The file holds no roads to import.")
    return specs


def signal_timings(net_path: Path) -> dict[str, tuple[float, float]]:
    """Per edge ending at a traffic light: (cycle in s, green share of its through links).

    The cycle is the sum of the program's phase durations; the green share the part of the
    cycle in which the edge's through links (`dir="s"`, or all its links if none go
    straight) show G or g, averaged over those links. The first program of each light.
    """
    return _signal_timings_of(_net_root(net_path))


# SUMO's unsignalised junctions where the roads' priorities decide who gives way.
PRIORITY_JUNCTIONS = ("priority", "priority_stop")


def yielding_edges(net_path: Path) -> set[str]:
    """Edges whose traffic gives way at their downstream junction: a priority junction
    (no signal) where another edge entering it has a higher `priority`."""
    return _yielding_of(_net_root(net_path))


def _yielding_of(root: ElementTree.Element) -> set[str]:
    kind = {str(j.get("id")): j.get("type", "") for j in root.iter("junction")}
    entering: dict[str, list[tuple[str, int]]] = {}
    for edge in root.iter("edge"):
        if edge.get("function") is None and kind.get(str(edge.get("to"))) in PRIORITY_JUNCTIONS:
            entry = (str(edge.get("id")), int(edge.get("priority", "-1")))
            entering.setdefault(str(edge.get("to")), []).append(entry)
    return {
        edge_id
        for edges in entering.values()
        for edge_id, priority in edges
        if priority < max(p for _, p in edges)
    }


def _signal_timings_of(root: ElementTree.Element) -> dict[str, tuple[float, float]]:
    programs: dict[str, list[tuple[float, str]]] = {}
    for logic in root.iter("tlLogic"):
        phases = [
            (float(phase.get("duration", "0")), phase.get("state", ""))
            for phase in logic.iter("phase")
        ]
        programs.setdefault(str(logic.get("id")), phases)
    links: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for connection in root.iter("connection"):
        light, link_index = connection.get("tl"), connection.get("linkIndex")
        if light is None or link_index is None or light not in programs:
            continue
        by_dir = links.setdefault(str(connection.get("from")), {})
        by_dir.setdefault(connection.get("dir", ""), []).append((light, int(link_index)))
    timings: dict[str, tuple[float, float]] = {}
    for edge_id, by_dir in links.items():
        through = by_dir.get("s") or [link for found in by_dir.values() for link in found]
        shares = []
        cycle = 0.0
        for light, index in through:
            phases = programs[light]
            cycle = sum(duration for duration, _ in phases)
            green = sum(d for d, state in phases if index < len(state) and state[index] in "Gg")
            if cycle > 0:
                shares.append(green / cycle)
        if shares and cycle > 0 and (share := sum(shares) / len(shares)) > 0:
            timings[edge_id] = (cycle, round(share, 4))
    return timings


def _net_root(path: Path) -> ElementTree.Element:
    try:
        root = ElementTree.parse(path).getroot()  # noqa: S314  # a local file the operator names
    except ElementTree.ParseError as error:
        raise InvalidNetworkError(
            "The file could not be read as a SUMO network: {reason}", reason=str(error)
        ) from error
    if root.tag != "net":
        raise InvalidNetworkError(
            "The file could not be read as a SUMO network: {reason}", reason="no <net> element"
        )
    return root


def _projection_of(
    root: ElementTree.Element, origin: tuple[float, float]
) -> Callable[[float, float], tuple[float, float]]:
    """Lon/lat of the net's x, y: by its UTM zone if it names one, else around `origin`."""
    location = root.find("location")
    offset = (0.0, 0.0)
    zone = None
    south = False
    if location is not None:
        dx, dy = location.get("netOffset", "0,0").split(",")
        offset = (float(dx), float(dy))
        projection = location.get("projParameter", "!")
        found = _ZONE.search(projection)
        if "+proj=utm" in projection and found:
            zone = int(found.group(1))
            south = "+south" in projection
        bounds = [float(v) for v in location.get("convBoundary", "0,0,0,0").split(",")]
        centre = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    else:
        centre = (0.0, 0.0)
    metres_per_degree = math.pi / 180 * 6_371_008.8

    def to_lonlat(x: float, y: float) -> tuple[float, float]:
        if zone is not None:
            return utm_to_lonlat(x - offset[0], y - offset[1], zone, south=south)
        lat = origin[1] + (y - centre[1]) / metres_per_degree
        lon = origin[0] + (x - centre[0]) / (metres_per_degree * math.cos(math.radians(origin[1])))
        return round(lon, 7), round(lat, 7)

    return to_lonlat


def _segment_of(
    edge: ElementTree.Element,
    to_lonlat: Callable[[float, float], tuple[float, float]],
    timing: tuple[float, float] | None = None,
    yields: bool = False,
) -> SegmentSpec | None:
    """The edge as a segment; None for internal edges, footpaths and edges without a line."""
    if edge.get("function") in ("internal", "crossing", "walkingarea", "connector"):
        return None
    lanes = [
        lane
        for lane in edge.findall("lane")
        if lane.get("allow") not in ("pedestrian", "bicycle", "pedestrian bicycle")
    ]
    if not lanes:
        return None
    speed_kmh = float(lanes[0].get("speed", "13.89")) * 3.6
    shape = edge.get("shape") or lanes[len(lanes) // 2].get("shape") or ""
    points = _points(shape)
    if len(points) < 2:
        return None
    return SegmentSpec(
        id=str(edge.get("id")),
        geometry=[to_lonlat(x, y) for x, y in points],
        road_class=_class_of(edge.get("type", ""), speed_kmh),
        lanes=min(len(lanes), MAX_LANES),
        from_node=str(edge.get("from")),
        to_node=str(edge.get("to")),
        name=edge.get("name", ""),
        free_flow_kmh=round(speed_kmh, 1) if 5 <= speed_kmh <= 140 else None,
        length_m=float(lanes[0].get("length", "0")) or None,
        signal_cycle_s=timing[0] if timing else None,
        green_share=timing[1] if timing else None,
        yields=yields,
    )
