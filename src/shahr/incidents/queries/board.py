"""The units board: every unit with its status, position, age of position and stale flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from shahr.incidents.domain.errors import UnitNotFoundError
from shahr.incidents.domain.units import STALE_AFTER_S, Unit, UnitStatus
from shahr.incidents.persistence import UnitRow, unit_of
from shahr.kernel.db import Database


@dataclass(frozen=True)
class UnitOnBoard:
    unit: Unit
    position_age_s: float | None  # None: never reported
    stale: bool  # no position for longer than the stale limit (the phone went silent)


def on_board(unit: Unit, now: datetime, stale_after_s: float = STALE_AFTER_S) -> UnitOnBoard:
    age = unit.position.age_s(now) if unit.position else None
    # Out of service, nobody waits for its position.
    stale = unit.status is not UnitStatus.out_of_service and unit.is_stale(now, stale_after_s)
    return UnitOnBoard(unit=unit, position_age_s=age, stale=stale)


async def units_board(
    database: Database, now: datetime, *, stale_after_s: float = STALE_AFTER_S
) -> list[UnitOnBoard]:
    async with database.session() as session:
        rows = (await session.scalars(select(UnitRow).order_by(UnitRow.call_sign))).all()
    return [on_board(unit_of(row), now, stale_after_s) for row in rows]


async def unit_on_board(
    database: Database, unit_id: str, now: datetime, *, stale_after_s: float = STALE_AFTER_S
) -> UnitOnBoard:
    async with database.session() as session:
        row = await session.get(UnitRow, unit_id)
    if row is None:
        raise UnitNotFoundError("There is no unit with this id.", field="unit_id")
    return on_board(unit_of(row), now, stale_after_s)


async def stale_units(
    database: Database, now: datetime, *, stale_after_s: float = STALE_AFTER_S
) -> list[UnitOnBoard]:
    """Units whose phone or AVL has gone silent (in service only)."""
    return [u for u in await units_board(database, now, stale_after_s=stale_after_s) if u.stale]
