"""Identity's read side: what its pages show and what other areas may ask."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from sqlalchemy import bindparam, func, or_, select

from shahr.identity.domain import (
    ApiKey,
    Citizen,
    DisabilityPermit,
    PermitStatus,
    StaffAccount,
    Vehicle,
)
from shahr.identity.persistence import (
    CitizenRow,
    IdentityRepository,
    PermitRepository,
    PermitRow,
    StaffRoleRow,
    StaffRow,
    VehicleRow,
    vehicle_of,
)
from shahr.kernel.db import Database
from shahr.kernel.persian import normalise
from shahr.kernel.principals import Role

# Accounts on one page of the admin's lists.
ACCOUNTS_PER_PAGE = 20
T = TypeVar("T")

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


# --- the admin's lists of accounts ---


@dataclass(frozen=True)
class StaffLine:
    """A staff account as the admin's list shows it (never its password hash)."""

    id: str
    username: str
    display_name: str
    roles: frozenset[Role]
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class CitizenLine:
    """A citizen as the admin's list shows it: the page masks the phone number."""

    id: str
    phone: str
    display_name: str
    created_at: datetime
    last_signed_in_at: datetime | None
    vehicles: int


@dataclass(frozen=True)
class AccountPage(Generic[T]):
    lines: list[T]
    total: int
    page: int
    pages: int


def _pages(total: int, page: int, per_page: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / per_page))
    return min(page, pages), pages


async def staff_lines(
    database: Database, *, search: str = "", page: int = 1, per_page: int = ACCOUNTS_PER_PAGE
) -> AccountPage[StaffLine]:
    """Staff accounts by username, those whose username or name holds `search`."""
    query = select(StaffRow)
    text = normalise(search).strip()
    if text:
        query = query.where(
            or_(
                StaffRow.username.contains(text.lower(), autoescape=True),
                StaffRow.display_name.contains(text, autoescape=True),
            )
        )
    async with database.session() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page, pages = _pages(total, page, per_page)
        rows = list(
            await session.scalars(
                query.order_by(StaffRow.username).limit(per_page).offset((page - 1) * per_page)
            )
        )
        roles: dict[str, set[Role]] = {row.id: set() for row in rows}
        known = {role.value for role in Role}
        for staff_id, role in await session.execute(
            select(StaffRoleRow.staff_id, StaffRoleRow.role).where(
                StaffRoleRow.staff_id.in_(list(roles))
            )
        ):
            if role in known:
                roles[staff_id].add(Role(role))
    lines = [
        StaffLine(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            roles=frozenset(roles[row.id]),
            active=row.active,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return AccountPage(lines=lines, total=total, page=page, pages=pages)


def _phone_digits(text: str) -> str | None:
    """The digits of a phone number being searched for, as stored after +98; None if not one."""
    digits = "".join(c for c in text if c not in " -+")
    if not digits.isascii() or not digits.isdigit():
        return None
    for prefix in ("0098", "98", "0"):
        if digits.startswith(prefix) and len(digits) > len(prefix) + 2:
            return digits.removeprefix(prefix)
    return digits


async def citizen_lines(
    database: Database, *, search: str = "", page: int = 1, per_page: int = ACCOUNTS_PER_PAGE
) -> AccountPage[CitizenLine]:
    """Citizens, newest first, with how many vehicles each registered; `search` matches a
    name or part of a phone number."""
    vehicles = (
        select(VehicleRow.citizen_id, func.count().label("vehicles"))
        .group_by(VehicleRow.citizen_id)
        .subquery()
    )
    query = select(CitizenRow, func.coalesce(vehicles.c.vehicles, 0)).outerjoin(
        vehicles, vehicles.c.citizen_id == CitizenRow.id
    )
    text = normalise(search).strip()
    if text:
        digits = _phone_digits(text)
        found = CitizenRow.display_name.contains(text, autoescape=True)
        if digits is not None:
            found = or_(found, CitizenRow.phone.contains(digits, autoescape=True))
        query = query.where(found)
    async with database.session() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page, pages = _pages(total, page, per_page)
        rows = (
            await session.execute(
                query.order_by(CitizenRow.created_at.desc(), CitizenRow.id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        ).all()
    lines = [
        CitizenLine(
            id=row.id,
            phone=row.phone,
            display_name=row.display_name,
            created_at=row.created_at,
            last_signed_in_at=row.last_signed_in_at,
            vehicles=count,
        )
        for row, count in rows
    ]
    return AccountPage(lines=lines, total=total, page=page, pages=pages)


async def permits_of(database: Database, *, citizen_id: str) -> dict[str, DisabilityPermit]:
    """The citizen's disability permits, by vehicle id."""
    async with database.session() as session:
        permits = await PermitRepository(session).of_citizen(citizen_id)
    return {permit.vehicle_id: permit for permit in permits}


async def permits_to_review(database: Database, *, limit: int = 100) -> list[DisabilityPermit]:
    """Pending permits first, oldest first, then those reviewed (for the staff page)."""
    async with database.session() as session:
        return await PermitRepository(session).listed(limit)


async def permit_photo(database: Database, *, permit_id: str) -> tuple[bytes, str] | None:
    """A permit's photo and its media type, for staff reviewing it."""
    async with database.session() as session:
        return await PermitRepository(session).photo(permit_id)


_APPROVED_PERMITS_OF = select(PermitRow.vehicle_id, PermitRow.expires_on).where(
    PermitRow.citizen_id == bindparam("citizen_id"),
    PermitRow.status == PermitStatus.approved.value,
)


async def approved_permit_expiries(database: Database, *, citizen_id: str) -> dict[str, date]:
    """The last day of each approved permit of the citizen's vehicles, by vehicle id.

    Parking asks this with every quote, so it is one read outside any transaction.
    """
    rows = await database.read(_APPROVED_PERMITS_OF, {"citizen_id": citizen_id})
    return {row.vehicle_id: row.expires_on for row in rows}
