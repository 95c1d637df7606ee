"""OpenStreetMap XML as editors save it, and as the API and Overpass hand it out.

JOSM (and iD, Vespucci, Merkaartor) save objects not yet uploaded with negative ids and no
version, timestamp or changeset, and mark edits with `action="modify"` or
`action="delete"`; a deleted object stays in the file, still `visible`, until it is
uploaded. osmium's location index takes no negative ids and reads no `action`, so XML is
read here: the ways in one pass, then the coordinates of just their nodes in another, so
memory grows with the roads and not with the whole extract. `.osm.pbf` stays with osmium
(`osm.py`), the fast way for a whole city.
"""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

from shahr.traffic.domain.errors import InvalidNetworkError


@dataclass(frozen=True)
class OsmWay:
    """A road as the file draws it: its node ids and, for those in the file, their places."""

    id: int
    refs: list[int]
    points: list[tuple[float, float]]
    tags: dict[str, str]
    # Its nodes tagged highway=traffic_signals.
    signal_refs: frozenset[int] = frozenset()


def is_osm_xml(path: Path) -> bool:
    return path.name.lower().endswith((".osm", ".osm.gz", ".osm.bz2", ".xml"))


def _open(path: Path) -> gzip.GzipFile | bz2.BZ2File | BinaryIO:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    return path.open("rb")


def _objects(path: Path) -> Iterator[ET.Element]:
    """Each live node and way, in file order; deleted ones (`action="delete"`,
    `visible="false"`) are left out. Elements are freed once read."""
    try:
        with _open(path) as stream:
            # Python's expat resolves no external entities and caps entity expansion, and
            # the file is one the operator chose to import.
            events = ET.iterparse(stream, events=("start", "end"))  # noqa: S314
            _, root = next(events)
            if root.tag != "osm":
                raise InvalidNetworkError(
                    "The file could not be read as OpenStreetMap data: {reason}",
                    reason=f"it is <{root.tag}>, not <osm>",
                )
            for event, element in events:
                if event != "end" or element.tag not in ("node", "way", "relation"):
                    continue
                deleted = element.get("action") == "delete" or element.get("visible") == "false"
                if not deleted and element.tag != "relation":
                    yield element
                root.clear()
    except (ET.ParseError, OSError, EOFError, StopIteration) as error:
        raise InvalidNetworkError(
            "The file could not be read as OpenStreetMap data: {reason}", reason=str(error)
        ) from error


def _id(element: ET.Element, attribute: str = "id") -> int:
    """An object's id, or the node a way refers to; negative for objects not yet uploaded."""
    try:
        return int(element.get(attribute, ""))
    except ValueError as error:
        raise InvalidNetworkError(
            "The file could not be read as OpenStreetMap data: {reason}",
            reason=f"a <{element.tag}> has no usable {attribute}",
        ) from error


def read_ways(path: Path, wanted: Callable[[dict[str, str]], bool]) -> list[OsmWay]:
    """The live ways whose tags are `wanted`, placed by the live nodes of the file; a node
    the file does not hold (outside a downloaded extract) cuts its way there."""
    found: list[tuple[int, list[int], dict[str, str]]] = []
    for element in _objects(path):
        if element.tag != "way":
            continue
        tags = {tag.get("k", ""): tag.get("v", "") for tag in element.iter("tag")}
        if wanted(tags):
            found.append((_id(element), [_id(nd, "ref") for nd in element.iter("nd")], tags))
    needed = {ref for _, refs, _ in found for ref in refs}
    places: dict[int, tuple[float, float]] = {}
    signals: set[int] = set()
    for element in _objects(path):
        if element.tag == "node" and (node_id := _id(element)) in needed:
            if is_signal(element):
                signals.add(node_id)
            try:
                places[node_id] = (float(element.get("lon", "")), float(element.get("lat", "")))
            except ValueError:
                continue  # a node without a place is as good as missing
    ways = []
    for way_id, refs, tags in found:
        placed = [ref for ref in refs if ref in places]
        ways.append(
            OsmWay(
                way_id,
                placed,
                [places[ref] for ref in placed],
                tags,
                frozenset(signals.intersection(placed)),
            )
        )
    return ways


def is_signal(node: ET.Element) -> bool:
    return any(
        tag.get("k") == "highway" and tag.get("v") == "traffic_signals" for tag in node.iter("tag")
    )
