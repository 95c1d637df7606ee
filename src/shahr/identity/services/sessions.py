"""Sessions: a random token for the caller, its hash and expiry in the table."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from shahr.identity.domain import Citizen, StaffAccount
from shahr.identity.persistence import IdentityRepository, SessionRow, new_id, session_holder
from shahr.identity.services.hashing import hash_token
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.principals import Principal, Role
from shahr.kernel.settings import Settings


@dataclass(frozen=True)
class CitizenSignedIn:
    """A new citizen session: the token is shown to the caller once; only its hash is kept."""

    token: str
    expires_at: datetime
    citizen: Citizen


@dataclass(frozen=True)
class StaffSignedIn:
    """A new staff session, likewise."""

    token: str
    expires_at: datetime
    staff: StaffAccount


def _citizen_principal(citizen: Citizen) -> Principal:
    return Principal(
        id=citizen.id,
        kind="citizen",
        display_name=citizen.display_name,
        roles=frozenset({Role.citizen}),
    )


def _staff_principal(staff: StaffAccount) -> Principal:
    return Principal(id=staff.id, kind="staff", display_name=staff.display_name, roles=staff.roles)


def start_session(
    repository: IdentityRepository,
    settings: Settings,
    now: datetime,
    *,
    citizen_id: str | None = None,
    staff_id: str | None = None,
) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.session_ttl_s)
    repository.add_session(
        SessionRow(
            id=new_id(),
            token_hash=hash_token(token),
            citizen_id=citizen_id,
            staff_id=staff_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token, expires_at


async def principal_for_token(database: Database, clock: Clock, *, token: str) -> Principal | None:
    """The citizen or staff member a session token speaks for; None if it is not valid now."""
    if not token or len(token) > 200:
        return None
    holder = await session_holder(database, hash_token(token))
    if holder is None or holder.revoked_at is not None or holder.expires_at <= clock.now():
        return None
    if holder.citizen_id is not None:
        return None if holder.citizen is None else _citizen_principal(holder.citizen)
    if holder.staff_id is not None:
        async with database.session() as session:
            staff = await IdentityRepository(session).staff(holder.staff_id)
        if staff is None or not staff.active:
            return None
        return _staff_principal(staff)
    return None


async def sign_out(database: Database, clock: Clock, *, token: str) -> None:
    """Revoke the session; signing out twice, or with a stale token, is not an error."""
    if not token or len(token) > 200:
        return
    async with database.session() as session:
        row = await IdentityRepository(session).session_by_token_hash(hash_token(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = clock.now()
            await session.commit()
