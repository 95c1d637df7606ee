"""Accounts made without signing in: what the demo seeder (and an admin CLI) call."""

from __future__ import annotations

from shahr.identity.domain import (
    CitizenId,
    check_name,
    check_staff_roles,
    normalise_username,
    parse_phone,
)
from shahr.identity.persistence import CitizenRow, IdentityRepository, StaffRow, new_id
from shahr.identity.services.hashing import hash_password, password_matches
from shahr.kernel.clock import Clock, SystemClock
from shahr.kernel.db import Database
from shahr.kernel.principals import Role


async def ensure_staff_account(
    database: Database,
    *,
    username: str,
    password: str,
    display_name: str,
    roles: frozenset[Role],
    clock: Clock | None = None,
) -> str:
    """Create the staff account, or bring its name, roles and password up to date; its id."""
    name = normalise_username(username)
    check_name(name, field_name="username")
    display = check_name(display_name, field_name="display_name")
    wanted_roles = check_staff_roles(frozenset(roles))
    now = (clock or SystemClock()).now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.staff_by_username(name)
        if row is None:
            row = StaffRow(
                id=new_id(),
                username=name,
                display_name=display,
                password_hash=await hash_password(password),
                active=True,
                created_at=now,
            )
            repository.add_staff(row)
            await session.flush()
        else:
            row.display_name = display
            row.active = True
            # Rehash only when the password changed: seeding twice stays cheap.
            if not await password_matches(row.password_hash, password):
                row.password_hash = await hash_password(password)
        if await repository.staff_roles(row.id) != wanted_roles:
            await repository.set_staff_roles(row.id, wanted_roles)
        staff_id = row.id
        await session.commit()
    return staff_id


async def ensure_citizen(
    database: Database,
    *,
    phone: str,
    display_name: str,
    clock: Clock | None = None,
) -> str:
    """Create the citizen for this phone if there is none, else update its name; its id."""
    canonical = parse_phone(phone)
    display = check_name(display_name, field_name="display_name")
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.citizen_by_phone(canonical)
        if row is None:
            row = CitizenRow(
                id=new_id(),
                phone=canonical,
                display_name=display,
                created_at=(clock or SystemClock()).now(),
            )
            repository.add_citizen(row)
        else:
            row.display_name = display
        citizen_id = CitizenId(row.id)
        await session.commit()
    return citizen_id
