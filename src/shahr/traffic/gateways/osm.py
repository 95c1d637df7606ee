"""OpenStreetMap files to road segments: XML (`.osm`, as downloaded or as an editor saved
it) read by `osm_xml`, binary extracts (`.osm.pbf`) by pyosmium.

Ways tagged `highway` of a road class (`OSM_HIGHWAY_CLASS`) are split at every node
another road shares (an intersection), and each piece becomes one segment per direction
of travel: `oneway=yes` (and roundabouts) one, `oneway=-1` the reverse, else both. Lanes
come from `lanes:forward` / `lanes:backward`, else `lanes` (shared by the directions),
else the class's usual count; free-flow speed from `maxspeed`, else the class's. A segment
ending at a node tagged `highway=traffic_signals` is signalised with its timing unknown
(a 90 s cycle, 45 % green); signals tagged on an approach node short of the junction are
not seen.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import osmium

from shahr.traffic.domain.errors import InvalidNetworkError
from shahr.traffic.domain.network import (
    DEFAULT_LANES,
    MAX_LANES,
    OSM_HIGHWAY_CLASS,
    RoadClass,
    SegmentSpec,
)
from shahr.traffic.domain.signals import DEFAULT_CYCLE_S, DEFAULT_GREEN_SHARE
from shahr.traffic.gateways.osm_xml import OsmWay, is_osm_xml, read_ways

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$")


def parse_maxspeed(value: str | None) -> float | None:
    """`50`, `50 km/h` or `30 mph` in km/h; anything else (`signals`, `none`) is None."""
    if not value:
        return None
    match = _SPEED.match(value)
    if match is None:
        return None
    speed = float(match.group(1))
    return speed * 1.609344 if match.group(2) == "mph" else speed


def _lanes(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        lanes = int(value.split(";")[0].strip())
    except ValueError:
        return None
    return lanes if 1 <= lanes <= MAX_LANES * 2 else None


def _direction_lanes(tags: dict[str, str], road_class: RoadClass, *, both: bool) -> tuple[int, int]:
    """(forward, backward) lanes."""
    default = DEFAULT_LANES[road_class] if not both else max(1, DEFAULT_LANES[road_class] - 1)
    total = _lanes(tags.get("lanes"))
    forward = _lanes(tags.get("lanes:forward"))
    backward = _lanes(tags.get("lanes:backward"))
    if not both:
        lanes = total or default
        return min(lanes, MAX_LANES), min(lanes, MAX_LANES)
    if total and forward is None and backward is None:
        forward = max(1, math.ceil(total / 2))
        backward = max(1, total - forward)
    forward = forward or default
    backward = backward or default
    return min(forward, MAX_LANES), min(backward, MAX_LANES)


def _is_road(tags: dict[str, str]) -> bool:
    return tags.get("highway") in OSM_HIGHWAY_CLASS and tags.get("area") != "yes"


def read_osm(path: Path) -> list[SegmentSpec]:
    """Segments from an OSM file; refuses one with no roads of a known class."""
    ways = read_ways(path, _is_road) if is_osm_xml(path) else _read_with_osmium(path)
    ways = [way for way in ways if len(way.refs) >= 2]
    if not ways:
        raise InvalidNetworkError("The file holds no roads to import.")
    uses: dict[int, int] = {}
    for way in ways:
        for position, ref in enumerate(way.refs):
            ends = position in (0, len(way.refs) - 1)
            uses[ref] = uses.get(ref, 0) + (2 if ends else 1)
    specs: list[SegmentSpec] = []
    for way in ways:
        specs.extend(_segments_of(way, uses))
    return specs


def _read_with_osmium(path: Path) -> list[OsmWay]:
    """Ways from a binary extract (`.osm.pbf`), with osmium's node location index."""
    ways: list[OsmWay] = []
    signals: set[int] = set()
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for item in processor:
            if isinstance(item, osmium.osm.Node):
                if item.tags.get("highway") == "traffic_signals":
                    signals.add(item.id)  # nodes come before the ways in a file
                continue
            if not isinstance(item, osmium.osm.Way):
                continue
            tags = {tag.k: tag.v for tag in item.tags}
            if not _is_road(tags):
                continue
            refs, points = [], []
            for node in item.nodes:
                if not node.location.valid():
                    continue  # a node outside the extract: the way is cut there
                refs.append(node.ref)
                points.append((node.lon, node.lat))
            ways.append(OsmWay(item.id, refs, points, tags, frozenset(signals.intersection(refs))))
    except RuntimeError as error:
        raise InvalidNetworkError(
            "The file could not be read as OpenStreetMap data: {reason}", reason=str(error)
        ) from error
    return ways


def _segments_of(way: OsmWay, uses: dict[int, int]) -> list[SegmentSpec]:
    road_class = OSM_HIGHWAY_CLASS[way.tags["highway"]]
    oneway = way.tags.get("oneway", "no")
    if way.tags.get("junction") in ("roundabout", "circular") and oneway == "no":
        oneway = "yes"
    if way.tags["highway"] == "motorway" and oneway == "no":
        oneway = "yes"  # OSM's convention: motorways are one-way unless tagged otherwise
    both = oneway not in ("yes", "true", "1", "-1", "reverse")
    reverse_only = oneway in ("-1", "reverse")
    forward_lanes, backward_lanes = _direction_lanes(way.tags, road_class, both=both)
    speed = parse_maxspeed(way.tags.get("maxspeed"))
    name = way.tags.get("name", "") or way.tags.get("ref", "")
    cuts = [0] + [i for i in range(1, len(way.refs) - 1) if uses.get(way.refs[i], 0) >= 2]
    cuts.append(len(way.refs) - 1)
    specs = []
    for piece, (a, b) in enumerate(itertools.pairwise(cuts)):
        refs = way.refs[a : b + 1]
        points = way.points[a : b + 1]
        if len(set(points)) < 2:
            continue
        directions = []
        if not reverse_only:
            directions.append(("f", refs, points, forward_lanes))
        if both or reverse_only:
            directions.append(("b", refs[::-1], points[::-1], backward_lanes))
        for suffix, d_refs, d_points, lanes in directions:
            # A signal at the end node: signalised, its timing unknown (a typical plan).
            signalised = d_refs[-1] in way.signal_refs
            specs.append(
                SegmentSpec(
                    id=f"w{way.id}-{piece}{suffix}",
                    geometry=d_points,
                    road_class=road_class,
                    lanes=lanes,
                    from_node=f"n{d_refs[0]}",
                    to_node=f"n{d_refs[-1]}",
                    name=name,
                    free_flow_kmh=speed if speed and 5 <= speed <= 140 else None,
                    signal_cycle_s=DEFAULT_CYCLE_S if signalised else None,
                    green_share=DEFAULT_GREEN_SHARE if signalised else None,
                )
            )
    return specs
