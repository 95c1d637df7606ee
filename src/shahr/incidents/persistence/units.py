"""Units with their status history and positions, and dispatch assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shahr.incidents.domain.errors import DispatchConflictError, UnitNotFoundError
from shahr.incidents.domain.incident import IncidentStatus
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.domain.units import Position, Unit, UnitKind, UnitStatus
from shahr.incidents.persistence.tables import (
    DispatchRow,
    IncidentRow,
    UnitPositionRow,
    UnitRow,
    UnitStatusRow,
)


def unit_of(row: UnitRow) -> Unit:
    position = None
    if row.lon is not None and row.lat is not None and row.reported_at is not None:
        position = Position(lon=row.lon, lat=row.lat, reported_at=row.reported_at)
    return Unit(
        id=row.id,
        call_sign=row.call_sign,
        kind=UnitKind(row.kind),
        crew=tuple(row.crew or ()),
        status=UnitStatus(row.status),
        status_changed_at=row.status_changed_at,
        position=position,
        incident_id=row.incident_id,
        version=row.version,
    )


def _columns_of(unit: Unit) -> dict[str, Any]:
    where = unit.position
    return {
        "call_sign": unit.call_sign,
        "kind": unit.kind.value,
        "crew": list(unit.crew),
        "status": unit.status.value,
        "status_changed_at": unit.status_changed_at,
        "incident_id": unit.incident_id,
        "lon": where.lon if where else None,
        "lat": where.lat if where else None,
        "reported_at": where.reported_at if where else None,
    }


class UnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, unit: Unit, *, at: datetime) -> None:
        self.session.add(
            UnitRow(id=unit.id, version=unit.version, created_at=at, **_columns_of(unit))
        )
        await self.session.flush()

    async def get(self, unit_id: str) -> Unit:
        row = (
            await self.session.execute(
                select(UnitRow)
                .where(UnitRow.id == unit_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if row is None:
            raise UnitNotFoundError("There is no unit with this id.", field="unit_id")
        return unit_of(row)

    async def call_sign_taken(self, call_sign: str) -> bool:
        found = await self.session.scalar(
            select(UnitRow.id).where(func.lower(UnitRow.call_sign) == call_sign.lower())
        )
        return found is not None

    async def save(self, unit: Unit) -> Unit:
        """Write `unit` over the version it was read at: of two dispatchers who read the same
        version, the one whose UPDATE comes second matches no row and is told so."""
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(UnitRow)
            .where(UnitRow.id == unit.id, UnitRow.version == unit.version)
            .values(version=unit.version + 1, **_columns_of(unit))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise DispatchConflictError(
                "Another dispatcher has just assigned or changed this unit: nothing was changed; "
                "look at the units again.",
                field="unit_id",
            )
        return await self.get(unit.id)

    async def place(self, unit_id: str, position: Position) -> bool:
        """Move the unit to `position` unless a later one is known; not over its version, so a
        position report never clashes with a dispatcher."""
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(UnitRow)
            .where(
                UnitRow.id == unit_id,
                or_(UnitRow.reported_at.is_(None), UnitRow.reported_at < position.reported_at),
            )
            .values(lon=position.lon, lat=position.lat, reported_at=position.reported_at)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def record_status(self, unit: Unit, *, actor: str) -> None:
        self.session.add(
            UnitStatusRow(
                unit_id=unit.id,
                status=unit.status.value,
                at=unit.status_changed_at,
                actor=actor,
                incident_id=unit.incident_id,
            )
        )
        await self.session.flush()

    async def record_position(self, unit_id: str, position: Position, *, at: datetime) -> None:
        self.session.add(
            UnitPositionRow(
                unit_id=unit_id,
                lon=position.lon,
                lat=position.lat,
                reported_at=position.reported_at,
                received_at=at,
            )
        )
        await self.session.flush()

    async def assign(self, unit: Unit, incident_id: str, *, at: datetime, actor: str) -> None:
        self.session.add(
            DispatchRow(incident_id=incident_id, unit_id=unit.id, assigned_at=at, assigned_by=actor)
        )
        try:
            await self.session.flush()
        except IntegrityError:
            # The unique live assignment per unit: the last word if a race got past `save`.
            raise DispatchConflictError(
                "Another dispatcher has just assigned or changed this unit: nothing was changed; "
                "look at the units again.",
                field="unit_id",
            ) from None

    async def note_assignment(self, unit_id: str, *, at: datetime, step: str) -> None:
        """Stamp the unit's live assignment: `accepted`, `arrived`, or its end (`cleared`,
        `recalled`)."""
        values: dict[str, Any]
        if step in ("accepted", "arrived"):
            values = {f"{step}_at": at}
        else:
            values = {"ended_at": at, "end_reason": step}
        await self.session.execute(
            update(DispatchRow)
            .where(DispatchRow.unit_id == unit_id, DispatchRow.ended_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def live_units_on(self, incident_id: str) -> list[str]:
        rows = await self.session.scalars(
            select(DispatchRow.unit_id).where(
                DispatchRow.incident_id == incident_id, DispatchRow.ended_at.is_(None)
            )
        )
        return list(rows)

    async def stamp_incident(self, incident_id: str, step: Mark, at: datetime) -> bool:
        """Set timeline step `step` on the incident if unset (the first counts) and the incident
        is open; False if it is not open.

        Not over the incident's version: two dispatchers sending two units to one incident
        do not clash; only its status matters.
        """
        column = getattr(IncidentRow, f"{step.value}_at")
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(IncidentRow)
            .where(IncidentRow.id == incident_id, IncidentRow.status == IncidentStatus.open.value)
            .values(
                {
                    column: func.coalesce(column, at),
                    "updated_at": at,
                    "version": IncidentRow.version + 1,
                }
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
