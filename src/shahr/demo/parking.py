"""The demo city's parking meters: placed along a few real Tehran streets, labelled demo.

The streets are hand-drawn centre lines in `parking/data/demo_streets.json` (district 2
first). Meters stand every `spacing_m` along each line, alternating sides of the street,
each with Tehran's standard 8 bays, some of them for motorcycles, drivers with
disabilities or loading. Seeding twice changes nothing: meters are matched by device id.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from shahr.parking import services as parking_services
from shahr.parking.domain import (
    STANDARD_BAYS_PER_METER,
    BayKind,
    MeterRecord,
    StreetClass,
    Zone,
)
from shahr.parking.services import PARKING

if TYPE_CHECKING:
    from shahr.bootstrap import Container

METRES_PER_DEGREE_LAT = 111_320.0
# Meters stand on the kerb, this far to either side of the street's centre line.
KERB_OFFSET_M = 12.0


@dataclass(frozen=True)
class DemoStreet:
    zone: Zone
    street_fa: str
    street_en: str
    street_class: StreetClass
    spacing_m: float
    line: tuple[tuple[float, float], ...]


def demo_streets() -> list[DemoStreet]:
    source = resources.files("shahr.parking").joinpath("data", "demo_streets.json")
    document: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return [
        DemoStreet(
            zone=Zone(
                code=entry["zone_code"],
                district=int(entry["district"]),
                name_fa=entry["zone_name_fa"],
                name_en=entry["zone_name_en"],
            ),
            street_fa=entry["street_fa"],
            street_en=entry["street_en"],
            street_class=StreetClass(entry["street_class"]),
            spacing_m=float(entry["spacing_m"]),
            line=tuple((float(lon), float(lat)) for lon, lat in entry["line"]),
        )
        for entry in document["streets"]
    ]


def points_along(
    line: tuple[tuple[float, float], ...], spacing_m: float
) -> list[tuple[float, float]]:
    """Points every `spacing_m` along the line (from half a spacing in), alternating sides."""
    lat0 = sum(lat for _, lat in line) / len(line)
    x_scale = METRES_PER_DEGREE_LAT * math.cos(math.radians(lat0))
    xy = [(lon * x_scale, lat * METRES_PER_DEGREE_LAT) for lon, lat in line]
    points = []
    travelled, next_at, side = 0.0, spacing_m / 2, 1.0
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        # The unit normal: to the left of the direction of travel, then to the right.
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        while next_at <= travelled + length:
            t = (next_at - travelled) / length
            x = x0 + t * (x1 - x0) + side * KERB_OFFSET_M * nx
            y = y0 + t * (y1 - y0) + side * KERB_OFFSET_M * ny
            points.append((round(x / x_scale, 6), round(y / METRES_PER_DEGREE_LAT, 6)))
            next_at += spacing_m
            side = -side
        travelled += length
    return points


def bay_kinds(index: int) -> tuple[BayKind, ...]:
    """A varied but fixed mix: every fourth meter has a disabled bay, every third a motorcycle
    bay, every sixth a loading bay."""
    kinds = [BayKind.car] * STANDARD_BAYS_PER_METER
    if index % 6 == 5:
        kinds[0] = BayKind.loading
    if index % 4 == 1:
        kinds[6] = BayKind.disabled
    if index % 3 == 0:
        kinds[7] = BayKind.motorcycle
    return tuple(kinds)


def demo_meters() -> list[MeterRecord]:
    """Every demo meter, numbered per district in the order of the streets."""
    records: list[MeterRecord] = []
    per_district: dict[int, int] = {}
    for street in demo_streets():
        for lon, lat in points_along(street.line, street.spacing_m):
            district = street.zone.district
            per_district[district] = per_district.get(district, 0) + 1
            records.append(
                MeterRecord(
                    device_id=f"DEMO-{district:02d}-{per_district[district]:04d}",
                    zone=street.zone,
                    street_fa=street.street_fa,
                    street_en=street.street_en,
                    street_class=street.street_class,
                    lon=lon,
                    lat=lat,
                    bay_kinds=bay_kinds(len(records)),
                    demo=True,
                )
            )
    return records


async def seed_demo_parking(container: Container) -> int:
    """Load the demo meters (idempotent); answers how many the demo city has."""
    ports = container.find(PARKING)
    records = demo_meters()
    await parking_services.load_meters(
        container.database,
        container.clock,
        None if ports is None else ports.inventory,
        records=records,
    )
    return len(records)
