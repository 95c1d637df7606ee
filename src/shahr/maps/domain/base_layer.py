"""The offline base layer: the city's own districts, roads and metro drawn when no tiles are set.

One GeoJSON FeatureCollection, simplified and rounded once when it is built, so every map
on every page gets the same small file. Each feature's `layer` property says what it is:
`district`, `road` (with its `class`), `metro_line` (with its `line`) or `metro_station`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import LineString, mapping, shape

# Five decimals of a degree are about a metre in Tehran: finer than any line is drawn.
DECIMALS = 5
# About 15 m: the most a simplified outline or road strays from the original.
TOLERANCE_DEG = 0.00015

Coordinates = Sequence[tuple[float, float]] | Sequence[Sequence[float]]


@dataclass(frozen=True)
class DistrictOutline:
    number: int
    name_fa: str
    name_en: str
    geometry: dict[str, Any]


@dataclass(frozen=True)
class Road:
    """A road's centre line; `road_class` is traffic's functional class or `street` for a
    street known only from the meters on it."""

    name: str
    road_class: str
    line: Coordinates


@dataclass(frozen=True)
class Station:
    name_fa: str
    name_en: str
    lines: tuple[int, ...]
    lon: float
    lat: float


def _rounded(value: Any) -> Any:
    """GeoJSON coordinates (nested lists of numbers) rounded to `DECIMALS`."""
    if isinstance(value, float | int):
        return round(float(value), DECIMALS)
    return [_rounded(item) for item in value]


def _simplified(geometry: dict[str, Any]) -> dict[str, Any]:
    simple = shape(geometry).simplify(TOLERANCE_DEG, preserve_topology=True)
    return {"type": simple.geom_type, "coordinates": _rounded(mapping(simple)["coordinates"])}


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _district_features(districts: Iterable[DistrictOutline]) -> list[dict[str, Any]]:
    return [
        _feature(
            _simplified(d.geometry),
            layer="district",
            district=d.number,
            name_fa=d.name_fa,
            name_en=d.name_en,
        )
        for d in districts
    ]


def _road_features(roads: Iterable[Road]) -> list[dict[str, Any]]:
    features = []
    for road in roads:
        if len(road.line) < 2:
            continue
        line = LineString([tuple(point) for point in road.line])
        features.append(
            _feature(
                _simplified(mapping(line)),
                layer="road",
                name=road.name,
                **{"class": road.road_class},
            )
        )
    return features


def _distance(a: Station, b: Station) -> float:
    # Equirectangular: exact enough to tell which station is next within one city.
    dx = (a.lon - b.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot(dx, a.lat - b.lat)


def line_tree(stations: Sequence[Station]) -> list[tuple[Station, Station]]:
    """The shortest tree joining one line's stations (Prim's algorithm): the line as a
    schematic, branches included, from the stations alone (the data has no track)."""
    if len(stations) < 2:
        return []
    joined = [stations[0]]
    left = list(stations[1:])
    edges = []
    while left:
        a, b = min(
            ((inside, outside) for inside in joined for outside in left),
            key=lambda pair: _distance(*pair),
        )
        edges.append((a, b))
        joined.append(b)
        left.remove(b)
    return edges


def _metro_features(stations: Sequence[Station]) -> list[dict[str, Any]]:
    features = []
    for line in sorted({n for s in stations for n in s.lines}):
        edges = line_tree([s for s in stations if line in s.lines])
        if edges:
            geometry = {
                "type": "MultiLineString",
                "coordinates": _rounded([[[a.lon, a.lat], [b.lon, b.lat]] for a, b in edges]),
            }
            features.append(_feature(geometry, layer="metro_line", line=line))
    features.extend(
        _feature(
            {"type": "Point", "coordinates": _rounded([s.lon, s.lat])},
            layer="metro_station",
            name_fa=s.name_fa,
            name_en=s.name_en,
            lines=list(s.lines),
        )
        for s in stations
    )
    return features


def street_line(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """A street's centre line from the meters along it: meters alternate sides, so the
    midpoints of neighbours (in order along the street's longer axis) lie on the centre."""
    if len(points) < 2:
        return list(points)
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    scale = math.cos(math.radians(sum(lats) / len(lats)))
    along_lon = (max(lons) - min(lons)) * scale > max(lats) - min(lats)
    ordered = sorted(points, key=lambda p: p[0] if along_lon else p[1])
    if len(ordered) == 2:
        return ordered
    return [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in itertools.pairwise(ordered)]


def base_layer(
    districts: Iterable[DistrictOutline], roads: Iterable[Road], stations: Sequence[Station]
) -> dict[str, Any]:
    """The FeatureCollection, drawn bottom to top: districts, roads, metro lines, stations."""
    return {
        "type": "FeatureCollection",
        "features": [
            *_district_features(districts),
            *_road_features(roads),
            *_metro_features(stations),
        ],
    }
