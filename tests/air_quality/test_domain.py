"""Air-quality station names as published, read into a readable name and a district."""

from __future__ import annotations

import pytest

from shahr.air_quality.domain import StationDataError, parse_station_name, station_from_source

from .sources import published_stations


@pytest.mark.parametrize(
    ("published", "name_fa", "district"),
    [
        ("اتوبان.محلاتی.منطقه14", "اتوبان محلاتی", 14),
        ("اقدسیه.منطقه1", "اقدسیه", 1),
        ("میدان.امام.خمینی.منطقه12", "میدان امام خمینی", 12),
        ("شهرداری.مرکز.منطقه12", "شهرداری مرکز", 12),
        # A municipal office is known by its district, so the district stays in its name.
        ("شهرداری.منطقه.2", "شهرداری منطقه ۲", 2),
        ("شهرداری.منطقه10", "شهرداری منطقه ۱۰", 10),
        ("پونک", "پونک", None),
        ("پارك.رازي.منطقه۱۱", "پارک رازی", 11),
    ],
)
def test_a_station_name_gives_a_readable_name_and_its_district(
    published: str, name_fa: str, district: int | None
) -> None:
    parsed = parse_station_name(published)

    assert (parsed.name_fa, parsed.district) == (name_fa, district)


def test_a_station_keeps_its_published_name_as_its_key() -> None:
    station = station_from_source("اتوبان.محلاتی.منطقه14", lon=51.468069, lat=35.670096)

    assert station.source_name == "اتوبان.محلاتی.منطقه14"
    assert (station.name_fa, station.district) == ("اتوبان محلاتی", 14)


@pytest.mark.parametrize(("lon", "lat"), [(35.67, 251.46), (float("nan"), 35.67)])
def test_a_station_outside_longitude_and_latitude_is_refused(lon: float, lat: float) -> None:
    with pytest.raises(StationDataError, match="not longitude and latitude"):
        station_from_source("پونک", lon=lon, lat=lat)


def test_a_station_without_a_name_is_refused() -> None:
    with pytest.raises(StationDataError, match="no name"):
        station_from_source("  ", lon=51.3, lat=35.7)


def test_every_published_station_but_punak_names_its_district() -> None:
    stations = published_stations()

    assert len(stations) == len({s.source_name for s in stations}) == 35
    assert [s.name_fa for s in stations if s.district is None] == ["پونک"]
    assert all(1 <= s.district <= 22 for s in stations if s.district is not None)
