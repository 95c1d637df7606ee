"""Parking's tables (districts and metro stations so far), their repository and unit of work."""

from __future__ import annotations

import json
from typing import Any, Self

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UnitOfWork
from shahr.parking.domain import District, MetroStation


class DistrictRow(Base):
    """A municipal district; `geometry_geojson` is a GeoJSON Polygon or MultiPolygon."""

    __tablename__ = "parking_district"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name_fa: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    geometry_geojson: Mapped[str] = mapped_column(Text)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    approximate: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(300))

    def to_domain(self) -> District:
        geometry: dict[str, Any] = json.loads(self.geometry_geojson)
        return District(
            number=self.number,
            name_fa=self.name_fa,
            name_en=self.name_en,
            geometry=geometry,
            centroid_lon=self.centroid_lon,
            centroid_lat=self.centroid_lat,
            approximate=self.approximate,
            source=self.source,
        )

    def update_from(self, district: District) -> None:
        self.name_fa = district.name_fa
        self.name_en = district.name_en
        self.geometry_geojson = json.dumps(district.geometry, separators=(",", ":"))
        self.centroid_lon = district.centroid_lon
        self.centroid_lat = district.centroid_lat
        self.approximate = district.approximate
        self.source = district.source


class MetroStationRow(Base):
    """A metro station; `name_en` is its key, so loading the same file twice changes nothing."""

    __tablename__ = "parking_metro_station"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100), unique=True)
    name_fa: Mapped[str] = mapped_column(String(100))
    lines: Mapped[list[int]] = mapped_column(JSON)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)

    def to_domain(self) -> MetroStation:
        return MetroStation(
            name_fa=self.name_fa,
            name_en=self.name_en,
            lines=tuple(self.lines),
            lon=self.lon,
            lat=self.lat,
        )

    def update_from(self, station: MetroStation) -> None:
        self.name_fa = station.name_fa
        self.lines = list(station.lines)
        self.lon = station.lon
        self.lat = station.lat


class GeographyRepository:
    """Districts and metro stations inside one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def districts(self) -> dict[int, District]:
        rows = await self._session.scalars(select(DistrictRow))
        return {row.number: row.to_domain() for row in rows}

    async def save_district(self, district: District) -> None:
        row = await self._session.get(DistrictRow, district.number)
        if row is None:
            row = DistrictRow(number=district.number)
            self._session.add(row)
        row.update_from(district)

    async def metro_stations(self) -> dict[str, MetroStation]:
        rows = await self._session.scalars(select(MetroStationRow))
        return {row.name_en: row.to_domain() for row in rows}

    async def save_metro_station(self, station: MetroStation) -> None:
        row = await self._session.scalar(
            select(MetroStationRow).where(MetroStationRow.name_en == station.name_en)
        )
        if row is None:
            row = MetroStationRow(name_en=station.name_en)
            self._session.add(row)
        row.update_from(station)


class ParkingUnitOfWork(UnitOfWork):
    """The districts and metro stations parking keeps, in one transaction."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.geography = GeographyRepository(self.session)
        return self
