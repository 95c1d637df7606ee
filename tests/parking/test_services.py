"""Importing official district polygons, and loading metro stations, against the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from shahr.bootstrap import Container
from shahr.parking import queries
from shahr.parking.domain import GeoFileError, MetroStation
from shahr.parking.services import (
    import_district_areas,
    load_metro_stations,
    seed_approximate_districts,
)

from .flows import DEMO_SOURCE, seed_demo_districts
from .geodata import OFFICIAL_DISTRICTS, centroids, metro_stations, official_features


def with_last_feature(change: Callable[[dict[str, Any]], None]) -> str:
    """The official file with its last feature spoiled: a partial write would show."""
    features = official_features()
    change(features[-1])
    return json.dumps({"type": "FeatureCollection", "features": features})


def district_23(feature: dict[str, Any]) -> None:
    feature["properties"] = {"district": 23}


def bowtie(feature: dict[str, Any]) -> None:
    ring = [[51.4, 35.7], [51.5, 35.8], [51.5, 35.7], [51.4, 35.8], [51.4, 35.7]]
    feature["geometry"] = {"type": "Polygon", "coordinates": [ring]}


async def test_importing_official_polygons_replaces_the_approximate_demo_districts(
    container: Container,
) -> None:
    await seed_demo_districts(container)
    progress: list[tuple[int, int]] = []

    summary = await import_district_areas(
        container.database,
        geojson=OFFICIAL_DISTRICTS.read_bytes(),
        source="tehran_districts.geojson",
        on_progress=lambda done, total: progress.append((done, total)),
    )

    assert summary.replaced == tuple(range(1, 23))
    assert (summary.created, summary.untouched) == ((), ())
    assert progress[-1] == (22, 22)
    districts = await queries.districts(container.database)
    assert [d.geometry["coordinates"] for d in districts] == [
        f["geometry"]["coordinates"] for f in official_features()
    ]
    assert all(not d.approximate and d.source == "tehran_districts.geojson" for d in districts)
    assert districts[0].name_fa == "منطقه ۱"


async def test_a_second_demo_seed_leaves_imported_polygons_alone(container: Container) -> None:
    await import_district_areas(
        container.database, geojson=OFFICIAL_DISTRICTS.read_bytes(), source="official.geojson"
    )
    before = await queries.districts(container.database)

    added = await seed_approximate_districts(
        container.database, centroids=centroids(), source=DEMO_SOURCE
    )

    assert added == ()
    assert await queries.districts(container.database) == before


async def test_importing_some_districts_leaves_the_others_approximate(
    container: Container,
) -> None:
    await seed_demo_districts(container)
    text = json.dumps({"type": "FeatureCollection", "features": official_features()[:3]})

    summary = await import_district_areas(container.database, geojson=text, source="three.json")

    assert summary.replaced == (1, 2, 3)
    assert summary.untouched == tuple(range(4, 23))
    flags = [d.approximate for d in await queries.districts(container.database)]
    assert flags == [False] * 3 + [True] * 19


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda: "not json at all", id="not-json"),
        pytest.param(lambda: '{"type": "FeatureCollection", "features": []}', id="no-features"),
        pytest.param(lambda: with_last_feature(district_23), id="out-of-range"),
        pytest.param(lambda: with_last_feature(bowtie), id="invalid-geometry"),
    ],
)
async def test_a_bad_area_file_changes_nothing(
    container: Container, text: Callable[[], str]
) -> None:
    await seed_demo_districts(container)
    before = await queries.districts(container.database)

    with pytest.raises(GeoFileError):
        await import_district_areas(container.database, geojson=text(), source="bad.geojson")

    assert await queries.districts(container.database) == before


async def test_importing_into_an_empty_database_adds_the_districts(container: Container) -> None:
    summary = await import_district_areas(
        container.database, geojson=OFFICIAL_DISTRICTS.read_bytes(), source="official.geojson"
    )

    assert summary.created == tuple(range(1, 23))
    names = [(d.name_fa, d.name_en) for d in await queries.districts(container.database)]
    assert names[9] == ("منطقه ۱۰", "District 10")


async def test_loading_the_metro_stations_twice_changes_nothing(container: Container) -> None:
    stations = metro_stations()

    first = await load_metro_stations(container.database, stations=stations)
    second = await load_metro_stations(container.database, stations=stations)

    assert (first.created, first.updated) == (150, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 150)
    assert await queries.metro_stations(container.database) == sorted(
        stations, key=lambda s: s.name_en
    )


async def test_a_moved_metro_station_is_updated_in_place(container: Container) -> None:
    station = MetroStation(name_fa="تجریش", name_en="Tajrish", lines=(1,), lon=51.43, lat=35.80)
    await load_metro_stations(container.database, stations=[station])

    moved = MetroStation(name_fa="تجریش", name_en="Tajrish", lines=(1,), lon=51.44, lat=35.81)
    summary = await load_metro_stations(container.database, stations=[moved])

    assert summary.updated == 1
    assert await queries.metro_stations(container.database) == [moved]


async def test_a_station_list_naming_a_station_twice_is_refused(container: Container) -> None:
    station = MetroStation(name_fa="تجریش", name_en="Tajrish", lines=(1,), lon=51.43, lat=35.80)

    with pytest.raises(GeoFileError, match="Tajrish appears more than once"):
        await load_metro_stations(container.database, stations=[station, station])

    assert await queries.metro_station_count(container.database) == 0
