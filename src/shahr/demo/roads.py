"""The demo's road network: SYNTHETIC streets generated over real Tehran coordinates.

Not a survey of Tehran's roads. Around the real centroids of a few districts (6, 7, 12,
3) a grid of two-way local streets is laid out, every third line of it a two-lane
arterial, and the districts' centres are joined by three-lane expressways. Every segment
is named «… (demo)» and its source says it is synthetic, so nobody mistakes it for OSM
data. Loop detectors sit on about half the arterials, counting cameras on the
expressways, plate cameras at a few junctions; the rest is left for estimation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.parking.domain import DistrictCentroid
from shahr.traffic.domain import DetectorKind, DetectorSpec, RoadClass, SegmentSpec
from shahr.traffic.services import import_road_network, register_detectors

SOURCE = "demo: synthetic network (generated grid over real Tehran coordinates)"
DISTRICTS = (6, 7, 12, 3)
GRID = 6  # lines each way
SPACING_M = 320.0
ARTERIAL_EVERY = 3
METRES_PER_DEGREE = math.pi / 180 * 6_371_008.8


@dataclass(frozen=True)
class DemoRoads:
    segments: list[SegmentSpec]
    detectors: list[DetectorSpec]


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        round(lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))), 6),
        round(lat + north_m / METRES_PER_DEGREE, 6),
    )


def _both_ways(
    segments: list[SegmentSpec],
    key: str,
    a: tuple[str, tuple[float, float]],
    b: tuple[str, tuple[float, float]],
    *,
    road_class: RoadClass,
    lanes: int,
    name: str,
    district: int | None,
) -> None:
    for suffix, start, end in (("f", a, b), ("b", b, a)):
        segments.append(
            SegmentSpec(
                id=f"demo-{key}-{suffix}",
                geometry=[start[1], end[1]],
                road_class=road_class,
                lanes=lanes,
                from_node=start[0],
                to_node=end[0],
                name=name,
                district=district,
            )
        )


def demo_road_network(centroids: Sequence[DistrictCentroid]) -> DemoRoads:
    """The synthetic network and its detectors (deterministic: the same every time)."""
    by_number = {c.number: c for c in centroids}
    segments: list[SegmentSpec] = []
    detectors: list[DetectorSpec] = []
    half = (GRID - 1) / 2
    for number in DISTRICTS:
        centre = by_number.get(number)
        if centre is None:
            continue

        def node(
            i: int, j: int, d: int = number, c: DistrictCentroid = centre
        ) -> tuple[str, tuple[float, float]]:
            return f"demo-d{d}-{i}-{j}", _offset(
                c.lon, c.lat, (i - half) * SPACING_M, (j - half) * SPACING_M
            )

        for i in range(GRID):
            for j in range(GRID):
                for di, dj, line in ((1, 0, j), (0, 1, i)):
                    if i + di >= GRID or j + dj >= GRID:
                        continue
                    arterial = line % ARTERIAL_EVERY == 1
                    street = "east-west" if dj == 0 else "north-south"
                    key = f"d{number}-{i}{j}-{i + di}{j + dj}"
                    _both_ways(
                        segments,
                        key,
                        node(i, j),
                        node(i + di, j + dj),
                        road_class=RoadClass.major_arterial if arterial else RoadClass.local,
                        lanes=2 if arterial else 1,
                        name=f"District {number} {street} {'avenue' if arterial else 'street'}"
                        f" {line + 1} (demo)",
                        district=number,
                    )
                    if arterial and (i + j) % 2 == 0:
                        for suffix in ("f", "b"):
                            segment_id = f"demo-{key}-{suffix}"
                            detectors += [
                                DetectorSpec(
                                    id=f"loop-{key}-{suffix}-{lane}",
                                    segment_id=segment_id,
                                    kind=DetectorKind.loop,
                                    lane=lane,
                                )
                                for lane in (1, 2)
                            ]
        for i, j in ((1, 1), (4, 4)):
            segment_id = f"demo-d{number}-{i}{j}-{i + 1}{j}-f"
            detectors.append(
                DetectorSpec(
                    id=f"plate-d{number}-{i}{j}",
                    segment_id=segment_id,
                    kind=DetectorKind.plate_camera,
                    position_m=SPACING_M / 2,
                )
            )
    # Expressways between the districts' centres, through their grids' middle junction.
    corridor = [n for n in (3, 6, 12, 7) if n in by_number]
    for a, b in itertools.pairwise(corridor):
        start, end = by_number[a], by_number[b]
        steps = 6
        points = [
            (
                f"demo-x{a}-{b}-{k}" if 0 < k < steps else f"demo-d{a if k == 0 else b}-2-2",
                _offset(start.lon, start.lat, 0, 0)
                if k == 0
                else _offset(end.lon, end.lat, 0, 0)
                if k == steps
                else (
                    round(start.lon + (end.lon - start.lon) * k / steps, 6),
                    round(start.lat + (end.lat - start.lat) * k / steps, 6),
                ),
            )
            for k in range(steps + 1)
        ]
        # The grids' middle junction (2, 2) sits half a block off the centroid.
        points[0] = (points[0][0], _offset(start.lon, start.lat, -SPACING_M / 2, -SPACING_M / 2))
        points[-1] = (points[-1][0], _offset(end.lon, end.lat, -SPACING_M / 2, -SPACING_M / 2))
        for k in range(steps):
            key = f"x{a}-{b}-{k}"
            _both_ways(
                segments,
                key,
                points[k],
                points[k + 1],
                road_class=RoadClass.expressway,
                lanes=3,
                name=f"Expressway {a}-{b} (demo)",
                district=a if k < steps / 2 else b,
            )
            if k % 2 == 1:
                for suffix in ("f", "b"):
                    detectors.append(
                        DetectorSpec(
                            id=f"count-{key}-{suffix}",
                            segment_id=f"demo-{key}-{suffix}",
                            kind=DetectorKind.counting_camera,
                        )
                    )
    return DemoRoads(segments, detectors)


async def seed_demo_roads(
    database: Database, clock: Clock, *, centroids: Sequence[DistrictCentroid]
) -> str:
    """Import the synthetic network and its detectors (idempotent); a line to print."""
    roads = demo_road_network(centroids)
    if not roads.segments:
        return "  no demo road network: the district centroids are missing"
    report = await import_road_network(
        database, segments=roads.segments, source=SOURCE, clock=clock
    )
    count = await register_detectors(database, detectors=roads.detectors, clock=clock)
    return (
        f"  {report.segments} road segments and {count} detectors and cameras"
        " (SYNTHETIC: a generated grid over real Tehran coordinates, not real roads)"
    )
