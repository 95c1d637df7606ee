"""Identity's read side: what its pages show and what other areas may ask."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from shahr.identity.domain import ApiKey, Citizen, StaffAccount, Vehicle
from shahr.identity.persistence import IdentityRepository, VehicleRow, vehicle_of
from shahr.kernel.db import Database

# Parking asks this on every quote, so it is built once.
_VEHICLES_OF = (
    select(VehicleRow)
    .where(VehicleRow.citizen_id == bindparam("citizen_id"))
    .order_by(VehicleRow.created_at, VehicleRow.id)
)


async def vehicles_of(database: Database, *, citizen_id: str) -> list[Vehicle]:
    """The citizen's vehicles, oldest first (one read outside any transaction)."""
    rows = await database.read(_VEHICLES_OF, {"citizen_id": citizen_id})
    return [vehicle_of(row) for row in rows]


async def citizen(database: Database, *, citizen_id: str) -> Citizen | None:
    async with database.session() as session:
        return await IdentityRepository(session).citizen(citizen_id)


async def staff_account(database: Database, *, staff_id: str) -> StaffAccount | None:
    async with database.session() as session:
        return await IdentityRepository(session).staff(staff_id)


async def api_keys(database: Database) -> list[ApiKey]:
    """Every API key, newest first, revoked ones included (never their secret)."""
    async with database.session() as session:
        return await IdentityRepository(session).api_keys()


async def citizen_ids_with_plate(database: Database, *, plate: str) -> list[str]:
    """Who registered a canonical plate: for parking's pay-by-plate and violation notices."""
    async with database.session() as session:
        result = await session.execute(
            select(VehicleRow.citizen_id)
            .where(VehicleRow.plate == plate)
            .order_by(VehicleRow.created_at)
        )
        return list(result.scalars())
