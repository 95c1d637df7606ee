"""The inventory's tables: zones, meters, bays, and a revision that says when they changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.parking.domain import (
    Bay,
    BayId,
    BayKind,
    Meter,
    MeterId,
    MeterRecord,
    StreetClass,
    Zone,
    ZoneRules,
)


class ZoneRow(Base):
    """A parking zone inside a district, with its operating hours and stays."""

    __tablename__ = "parking_zone"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    district: Mapped[int] = mapped_column(Integer)
    name_fa: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    opens_min: Mapped[int] = mapped_column(Integer)
    closes_min: Mapped[int] = mapped_column(Integer)
    min_stay_min: Mapped[int] = mapped_column(Integer)
    max_stay_min: Mapped[int] = mapped_column(Integer)
    fridays_off: Mapped[bool] = mapped_column(Boolean)
    holidays_off: Mapped[bool] = mapped_column(Boolean)

    def to_domain(self) -> Zone:
        return Zone(
            code=self.code,
            district=self.district,
            name_fa=self.name_fa,
            name_en=self.name_en,
            rules=ZoneRules(
                opens_min=self.opens_min,
                closes_min=self.closes_min,
                min_stay_min=self.min_stay_min,
                max_stay_min=self.max_stay_min,
                fridays_off=self.fridays_off,
                holidays_off=self.holidays_off,
            ),
        )

    def update_from(self, zone: Zone) -> None:
        self.district = zone.district
        self.name_fa = zone.name_fa
        self.name_en = zone.name_en
        self.opens_min = zone.rules.opens_min
        self.closes_min = zone.rules.closes_min
        self.min_stay_min = zone.rules.min_stay_min
        self.max_stay_min = zone.rules.max_stay_min
        self.fridays_off = zone.rules.fridays_off
        self.holidays_off = zone.rules.holidays_off


class MeterRow(Base):
    """A parking meter; `device_id` is what the meter calls itself on the wire."""

    __tablename__ = "parking_meter"
    __table_args__ = (Index("ix_parking_meter_zone_code", "zone_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(40), unique=True)
    zone_code: Mapped[str] = mapped_column(String(40), ForeignKey("parking_zone.code"))
    street_fa: Mapped[str] = mapped_column(String(150))
    street_en: Mapped[str] = mapped_column(String(150))
    street_class: Mapped[str] = mapped_column(String(1))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    demo: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def update_from(self, record: MeterRecord) -> None:
        self.zone_code = record.zone.code
        self.street_fa = record.street_fa
        self.street_en = record.street_en
        self.street_class = record.street_class.value
        self.lon = record.lon
        self.lat = record.lat
        self.demo = record.demo


class BayRow(Base):
    """A numbered bay of a meter; a bay no longer served stays, out of service, for history."""

    __tablename__ = "parking_bay"
    __table_args__ = (UniqueConstraint("meter_id", "number", name="uq_parking_bay_meter_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(Integer, ForeignKey("parking_meter.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    in_service: Mapped[bool] = mapped_column(Boolean)

    def to_domain(self) -> Bay:
        return Bay(
            id=BayId(self.id),
            meter_id=MeterId(self.meter_id),
            number=self.number,
            kind=BayKind(self.kind),
            in_service=self.in_service,
        )


class InventoryRevisionRow(Base):
    """One row whose number grows with every inventory change, so caches know to rebuild."""

    __tablename__ = "parking_inventory_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


def meter_of(row: MeterRow, bays: list[BayRow]) -> Meter:
    return Meter(
        id=MeterId(row.id),
        device_id=row.device_id,
        zone_code=row.zone_code,
        street_fa=row.street_fa,
        street_en=row.street_en,
        street_class=StreetClass(row.street_class),
        lon=row.lon,
        lat=row.lat,
        demo=row.demo,
        bays=tuple(b.to_domain() for b in sorted(bays, key=lambda b: b.number)),
    )


@dataclass(frozen=True)
class LoadCounts:
    created: int
    updated: int
    unchanged: int
    zones_created: int
    zones_updated: int


class InventoryRepository:
    """Zones, meters and bays inside one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def revision(self) -> int:
        row = await self._session.get(InventoryRevisionRow, 1)
        return 0 if row is None else row.revision

    async def bump_revision(self, now: datetime) -> None:
        row = await self._session.get(InventoryRevisionRow, 1)
        if row is None:
            self._session.add(InventoryRevisionRow(id=1, revision=1, changed_at=now))
        else:
            row.revision += 1
            row.changed_at = now

    async def zones(self) -> dict[str, Zone]:
        rows = await self._session.scalars(select(ZoneRow))
        return {row.code: row.to_domain() for row in rows}

    async def meters(self) -> list[Meter]:
        """Every meter with its bays (out-of-service ones too, for history), by id."""
        meter_rows = list(await self._session.scalars(select(MeterRow).order_by(MeterRow.id)))
        bays: dict[int, list[BayRow]] = {}
        for bay in await self._session.scalars(select(BayRow)):
            bays.setdefault(bay.meter_id, []).append(bay)
        return [meter_of(row, bays.get(row.id, [])) for row in meter_rows]

    async def meter(self, meter_id: int) -> Meter | None:
        row = await self._session.get(MeterRow, meter_id)
        if row is None:
            return None
        bays = await self._session.scalars(select(BayRow).where(BayRow.meter_id == meter_id))
        return meter_of(row, list(bays))

    async def load(self, records: list[MeterRecord], *, now: datetime) -> LoadCounts:
        """Add or update meters by device id, with their zones and bays; others stay."""
        zones = {row.code: row for row in await self._session.scalars(select(ZoneRow))}
        zones_created = zones_updated = 0
        for zone in {r.zone.code: r.zone for r in records}.values():
            row = zones.get(zone.code)
            if row is None:
                row = ZoneRow(code=zone.code)
                row.update_from(zone)
                self._session.add(row)
                zones[zone.code] = row
                zones_created += 1
            elif row.to_domain() != zone:
                row.update_from(zone)
                zones_updated += 1
        await self._session.flush()
        meters = {row.device_id: row for row in await self._session.scalars(select(MeterRow))}
        bays: dict[int, dict[int, BayRow]] = {}
        for bay in await self._session.scalars(select(BayRow)):
            bays.setdefault(bay.meter_id, {})[bay.number] = bay
        created = updated = 0
        new_meters: list[tuple[MeterRow, MeterRecord]] = []
        for record in records:
            meter = meters.get(record.device_id)
            if meter is None:
                meter = MeterRow(device_id=record.device_id, updated_at=now)
                meter.update_from(record)
                self._session.add(meter)
                new_meters.append((meter, record))
                created += 1
                continue
            changed = _meter_changed(meter, record)
            changed |= self._update_bays(meter.id, bays.get(meter.id, {}), record)
            if changed:
                meter.update_from(record)
                meter.updated_at = now
                updated += 1
        await self._session.flush()
        # New meters' bays in one statement: a city file brings tens of thousands.
        new_bays = [
            {"meter_id": meter.id, "number": number, "kind": kind.value, "in_service": True}
            for meter, record in new_meters
            for number, kind in enumerate(record.bay_kinds, start=1)
        ]
        if new_bays:
            await self._session.execute(insert(BayRow), new_bays)
        if created or updated or zones_created or zones_updated:
            await self.bump_revision(now)
        await self._session.flush()
        return LoadCounts(
            created=created,
            updated=updated,
            unchanged=len(records) - created - updated,
            zones_created=zones_created,
            zones_updated=zones_updated,
        )

    def _update_bays(self, meter_id: int, current: dict[int, BayRow], record: MeterRecord) -> bool:
        changed = False
        for number, kind in enumerate(record.bay_kinds, start=1):
            bay = current.get(number)
            if bay is None:
                self._session.add(
                    BayRow(meter_id=meter_id, number=number, kind=kind.value, in_service=True)
                )
                changed = True
            elif bay.kind != kind.value or not bay.in_service:
                bay.kind, bay.in_service = kind.value, True
                changed = True
        for number, bay in current.items():
            if number > len(record.bay_kinds) and bay.in_service:
                bay.in_service = False
                changed = True
        return changed


def _meter_changed(row: MeterRow, record: MeterRecord) -> bool:
    return (
        row.zone_code,
        row.street_fa,
        row.street_en,
        row.street_class,
        row.lon,
        row.lat,
        row.demo,
    ) != (
        record.zone.code,
        record.street_fa,
        record.street_en,
        record.street_class.value,
        record.lon,
        record.lat,
        record.demo,
    )
