"""Parking geography's read side: districts and metro stations for the map."""

from __future__ import annotations

from sqlalchemy import func, select

from shahr.kernel.db import Database
from shahr.parking.domain import (
    District,
    MetroStation,
)
from shahr.parking.persistence import (
    DistrictRow,
    MetroStationRow,
)


async def districts(database: Database) -> list[District]:
    """Every district, by number."""
    async with database.session() as session:
        rows = await session.scalars(select(DistrictRow).order_by(DistrictRow.number))
        return [row.to_domain() for row in rows]


async def metro_stations(database: Database) -> list[MetroStation]:
    """Every metro station, by English name (a stable order for caches and diffs)."""
    async with database.session() as session:
        rows = await session.scalars(select(MetroStationRow).order_by(MetroStationRow.name_en))
        return [row.to_domain() for row in rows]


async def district_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(DistrictRow))
        return count or 0


async def metro_station_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(MetroStationRow))
        return count or 0
