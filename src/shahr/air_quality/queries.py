"""Air quality's read side: what the map, open data and other areas may read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from shahr.air_quality.persistence import StationRow
from shahr.kernel.db import Database


@dataclass(frozen=True)
class StationView:
    """A monitoring station as the map and open data show it."""

    id: int
    name_fa: str
    district: int | None
    lon: float
    lat: float


async def stations(database: Database) -> list[StationView]:
    """Every monitoring station, by id."""
    async with database.session() as session:
        rows = await session.scalars(select(StationRow).order_by(StationRow.id))
        return [
            StationView(
                id=row.id, name_fa=row.name_fa, district=row.district, lon=row.lon, lat=row.lat
            )
            for row in rows
        ]


async def station_count(database: Database) -> int:
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(StationRow))
        return count or 0
