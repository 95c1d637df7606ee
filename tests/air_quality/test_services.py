"""Loading the monitoring stations is idempotent and keyed by their published names."""

from __future__ import annotations

import dataclasses

import pytest

from shahr.air_quality import queries
from shahr.air_quality.domain import StationDataError
from shahr.air_quality.services import load_stations
from shahr.bootstrap import Container

from .sources import published_stations


async def test_loading_the_35_stations_twice_leaves_35(container: Container) -> None:
    stations = published_stations()

    first = await load_stations(container.database, stations=stations)
    ids = [s.id for s in await queries.stations(container.database)]
    second = await load_stations(container.database, stations=stations)

    assert (first.created, second.created, second.updated, second.unchanged) == (35, 0, 0, 35)
    assert [s.id for s in await queries.stations(container.database)] == ids
    assert await queries.station_count(container.database) == 35


async def test_a_moved_station_keeps_its_id(container: Container) -> None:
    stations = published_stations()
    await load_stations(container.database, stations=stations)
    before = await queries.stations(container.database)

    moved = dataclasses.replace(stations[0], lon=stations[0].lon + 0.001)
    summary = await load_stations(container.database, stations=[moved])

    after = await queries.stations(container.database)
    assert summary.updated == 1
    assert after[0].id == before[0].id
    assert after[0].lon == pytest.approx(moved.lon)


async def test_a_list_naming_a_station_twice_is_refused_and_changes_nothing(
    container: Container,
) -> None:
    station = published_stations()[0]

    with pytest.raises(StationDataError, match="appears more than once"):
        await load_stations(container.database, stations=[station, station])

    assert await queries.station_count(container.database) == 0
