"""The disability permits' table: one permit per vehicle, its photo kept beside it as bytes.

The photo is stored in the row rather than in a file: it is written in the same transaction
as the permit (a refused or failed submission leaves neither behind), it is backed up with
the database, and at most 2 MB for each of a few thousand vehicles it needs no file store.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.identity.domain.permits import DisabilityPermit, PermitId, PermitStatus
from shahr.kernel.db import Base, UtcDateTime


class PermitRow(Base):
    __tablename__ = "identity_disability_permit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("identity_vehicle.id", ondelete="CASCADE"), unique=True
    )
    citizen_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[str] = mapped_column(String(30))
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Read only when the photo itself is asked for, not with every list of permits.
    photo: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    photo_type: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(36))


def permit_of(row: PermitRow) -> DisabilityPermit:
    return DisabilityPermit(
        id=PermitId(row.id),
        vehicle_id=row.vehicle_id,
        citizen_id=row.citizen_id,
        number=row.number,
        expires_on=row.expires_on,
        status=PermitStatus(row.status),
        photo_type=row.photo_type,
        submitted_at=row.submitted_at,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
    )


class PermitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_citizen(self, citizen_id: str) -> list[DisabilityPermit]:
        result = await self.session.execute(
            select(PermitRow).where(PermitRow.citizen_id == citizen_id)
        )
        return [permit_of(row) for row in result.scalars()]

    async def row(self, permit_id: str) -> PermitRow | None:
        return await self.session.get(PermitRow, permit_id)

    async def listed(self, limit: int) -> list[DisabilityPermit]:
        """Pending permits first, oldest first; then the latest reviewed."""
        result = await self.session.execute(
            select(PermitRow)
            .order_by(
                (PermitRow.status != PermitStatus.pending.value),
                PermitRow.submitted_at,
            )
            .limit(limit)
        )
        return [permit_of(row) for row in result.scalars()]

    async def photo(self, permit_id: str) -> tuple[bytes, str] | None:
        result = await self.session.execute(
            select(PermitRow.photo, PermitRow.photo_type).where(PermitRow.id == permit_id)
        )
        found = result.first()
        return None if found is None else (found[0], found[1])

    async def replace_for_vehicle(self, row: PermitRow) -> None:
        """The vehicle's one permit becomes this one (a new paper replaces the old)."""
        await self.remove_for_vehicle(row.vehicle_id)
        self.session.add(row)
        await self.session.flush()

    async def remove_for_vehicle(self, vehicle_id: str) -> None:
        await self.session.execute(delete(PermitRow).where(PermitRow.vehicle_id == vehicle_id))
