"""Meters' presence: whether each is connected (retained status, last will), and when last heard."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Boolean, Integer, String, Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.parking.domain.lights import MeterPresence


class MeterPresenceRow(Base):
    """Whether a meter is connected (its retained status and last will), and when last heard."""

    __tablename__ = "parking_meter_presence"

    meter_device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    meter_id: Mapped[int | None] = mapped_column(Integer, index=True)
    online: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    session: Mapped[str | None] = mapped_column(String(64))
    firmware: Mapped[str | None] = mapped_column(String(64))

    def to_domain(self) -> MeterPresence:
        return MeterPresence(
            meter_device_id=self.meter_device_id,
            online=self.online,
            since=self.since,
            last_seen_at=self.last_seen_at,
            session=self.session,
            firmware=self.firmware,
            meter_id=self.meter_id,
        )

    def update_from(self, presence: MeterPresence) -> None:
        self.online = presence.online
        self.since = presence.since
        self.last_seen_at = presence.last_seen_at
        self.session = presence.session
        self.firmware = presence.firmware
        if presence.meter_id is not None:
            self.meter_id = presence.meter_id


class MeterPresenceRepository:
    """Meters' presence inside one unit of work; rows read are kept to save them again."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: dict[str, MeterPresenceRow | None] = {}

    async def presences(self, meter_device_ids: list[str]) -> dict[str, MeterPresence]:
        """The meters' presence rows, locked for this transaction, in device order."""
        if not meter_device_ids:
            return {}
        rows = await self._session.scalars(
            select(MeterPresenceRow)
            .where(MeterPresenceRow.meter_device_id.in_(meter_device_ids))
            .order_by(MeterPresenceRow.meter_device_id)
            .with_for_update()
        )
        found = {}
        for row in rows:
            self._rows[row.meter_device_id] = row
            found[row.meter_device_id] = row.to_domain()
        for device in meter_device_ids:
            self._rows.setdefault(device, None)
        return found

    async def save_presence(self, presence: MeterPresence) -> None:
        device = presence.meter_device_id
        if device in self._rows:
            row = self._rows[device]
        else:
            row = await self._session.get(MeterPresenceRow, device)
        if row is None:
            row = MeterPresenceRow(meter_device_id=device)
            self._session.add(row)
        self._rows[device] = row
        row.update_from(presence)

    async def link_meters(self, links: set[tuple[str, int]]) -> None:
        """Name the platform's meter behind each device id, once a reservation has said it."""
        if not links:
            return
        table = cast(Table, MeterPresenceRow.__table__)
        await self._session.execute(
            update(table)
            .where(
                table.c.meter_device_id == bindparam("b_device"),
                or_(table.c.meter_id.is_(None), table.c.meter_id != bindparam("b_meter")),
            )
            .values(meter_id=bindparam("b_meter")),
            [{"b_device": device, "b_meter": meter_id} for device, meter_id in sorted(links)],
        )
