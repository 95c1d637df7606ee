"""Maps fixtures: a city with districts, metro stations, meters and a small road grid."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shahr.bootstrap import Container
from shahr.parking import services as parking_services
from shahr.parking.domain import DistrictCentroid, parse_meter_file, parse_metro_stations
from shahr.parking.services import PARKING, ParkingPorts
from shahr.traffic import services as traffic_services
from shahr.traffic.domain import RoadClass, SegmentSpec

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "tehran"

METERS_CSV = "\n".join(
    [
        "device_id,zone_code,zone_name_fa,zone_name_en,district,street_fa,street_en,"
        "street_class,lon,lat",
        "M-1,02-shahrak,شهرک غرب,Shahrak-e Gharb,2,خیابان ایران‌زمین,Iran Zamin Street,A,"
        "51.37000,35.76000",
        "M-2,02-shahrak,شهرک غرب,Shahrak-e Gharb,2,خیابان ایران‌زمین,Iran Zamin Street,A,"
        "51.37010,35.76100",
        "M-3,02-shahrak,شهرک غرب,Shahrak-e Gharb,2,بلوار دادمان,Dadman Boulevard,C,"
        "51.36100,35.76010",
        "M-4,03-vanak,ونک,Vanak,3,خیابان ملاصدرا,Mollasadra Street,B,51.40000,35.75700",
    ]
)


def centroids() -> list[DistrictCentroid]:
    with (SHARED_DATA / "districts" / "district_centroids.csv").open(encoding="utf-8") as file:
        return [
            DistrictCentroid(
                number=int(row["district"]),
                name_fa=row["name_fa"],
                lon=float(row["lon"]),
                lat=float(row["lat"]),
            )
            for row in csv.DictReader(file)
        ]


def road(segment_id: str, a: tuple[float, float], b: tuple[float, float], name: str) -> SegmentSpec:
    return SegmentSpec(
        id=segment_id,
        geometry=[a, b],
        road_class=RoadClass.major_arterial,
        lanes=2,
        from_node=f"n{a}",
        to_node=f"n{b}",
        name=name,
    )


ENGHELAB = [
    road("e1", (51.380, 35.701), (51.390, 35.701), "خیابان انقلاب"),
    road("e1r", (51.390, 35.701), (51.380, 35.701), "خیابان انقلاب"),
    road("e2", (51.390, 35.701), (51.400, 35.7012), "خیابان انقلاب"),
]


@pytest.fixture
async def city(container: Container) -> Container:
    """The container with the 22 demo districts, 150 metro stations, four meters and a road."""
    database = container.database
    await parking_services.seed_approximate_districts(
        database, centroids=centroids(), source="test districts"
    )
    stations = json.loads((SHARED_DATA / "metro" / "tehran_metro_stations.geojson").read_text())
    await parking_services.load_metro_stations(database, stations=parse_metro_stations(stations))
    ports: ParkingPorts = container.get(PARKING)
    await parking_services.load_meters(
        database, container.clock, ports.inventory, records=parse_meter_file(METERS_CSV)
    )
    await traffic_services.import_road_network(
        database, segments=ENGHELAB, source="test road", clock=container.clock
    )
    return container
