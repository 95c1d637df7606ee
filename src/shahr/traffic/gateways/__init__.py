"""Files in other systems' formats: OSM and SUMO road networks, readings to back-fill."""

from __future__ import annotations

from pathlib import Path

from shahr.traffic.domain.network import SegmentSpec
from shahr.traffic.gateways.files import TimeBounds, read_payloads
from shahr.traffic.gateways.osm import read_osm
from shahr.traffic.gateways.sumo import TEHRAN_CENTRE, read_sumo


def read_road_file(path: Path, *, origin: tuple[float, float] = TEHRAN_CENTRE) -> list[SegmentSpec]:
    """Segments from `.osm` / `.osm.pbf` (OpenStreetMap) or `.net.xml` (SUMO)."""
    name = path.name.lower()
    if name.endswith(".net.xml") or name.endswith(".net.xml.gz"):
        return read_sumo(path, origin=origin)
    return read_osm(path)


__all__ = [
    "TEHRAN_CENTRE",
    "TimeBounds",
    "read_osm",
    "read_payloads",
    "read_road_file",
    "read_sumo",
]
