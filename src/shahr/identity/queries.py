"""Identity's read side: what its pages show and what other areas may ask."""

from __future__ import annotations

from sqlalchemy import select

from shahr.identity.domain import ApiKey, Citizen, StaffAccount, Vehicle
from shahr.identity.persistence import IdentityRepository, VehicleRow
from shahr.kernel.db import Database


async def vehicles_of(database: Database, *, citizen_id: str) -> list[Vehicle]:
    """The citizen's vehicles, oldest first."""
    async with database.session() as session:
        return await IdentityRepository(session).vehicles_of(citizen_id)


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
