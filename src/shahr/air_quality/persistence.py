"""Air quality's tables (monitoring stations so far), their repository and unit of work."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Float, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.air_quality.domain import AqStation
from shahr.kernel.db import Base, UnitOfWork


class StationRow(Base):
    """A monitoring station; `source_name` (its published name) is its key."""

    __tablename__ = "aq_station"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(200), unique=True)
    name_fa: Mapped[str] = mapped_column(String(200))
    # The municipal district by number; parking owns districts, so no foreign key.
    district: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)

    def to_domain(self) -> AqStation:
        return AqStation(
            source_name=self.source_name,
            name_fa=self.name_fa,
            district=self.district,
            lon=self.lon,
            lat=self.lat,
        )

    def update_from(self, station: AqStation) -> None:
        self.name_fa = station.name_fa
        self.district = station.district
        self.lon = station.lon
        self.lat = station.lat


class StationRepository:
    """Monitoring stations inside one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_source_name(self) -> dict[str, AqStation]:
        rows = await self._session.scalars(select(StationRow))
        return {row.source_name: row.to_domain() for row in rows}

    async def save(self, station: AqStation) -> None:
        row = await self._session.scalar(
            select(StationRow).where(StationRow.source_name == station.source_name)
        )
        if row is None:
            row = StationRow(source_name=station.source_name)
            self._session.add(row)
        row.update_from(station)


class AirQualityUnitOfWork(UnitOfWork):
    """The air-quality tables in one transaction."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.stations = StationRepository(self.session)
        return self
