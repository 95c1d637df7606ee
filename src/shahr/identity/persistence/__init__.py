"""Identity's tables and the repository that maps them to domain objects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    String,
    UniqueConstraint,
    bindparam,
    delete,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.identity.domain import (
    ApiKey,
    ApiKeyId,
    Citizen,
    CitizenId,
    QuotaTier,
    StaffAccount,
    StaffId,
    Vehicle,
    VehicleId,
    VehicleKind,
    duplicate_plate,
)
from shahr.identity.persistence.codes import CodeRepository, OtpChallengeRow
from shahr.identity.persistence.permits import PermitRepository, PermitRow, permit_of
from shahr.kernel.db import Base, Database, UtcDateTime
from shahr.kernel.principals import Role


def new_id() -> str:
    """A new row id: random, so ids reveal neither order nor count."""
    return str(uuid.uuid4())


class CitizenRow(Base):
    __tablename__ = "identity_citizen"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StaffRow(Base):
    __tablename__ = "identity_staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StaffRoleRow(Base):
    __tablename__ = "identity_staff_role"

    staff_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("identity_staff.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class SessionRow(Base):
    __tablename__ = "identity_session"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("identity_citizen.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("identity_staff.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class VehicleRow(Base):
    __tablename__ = "identity_vehicle"
    __table_args__ = (UniqueConstraint("citizen_id", "plate"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("identity_citizen.id", ondelete="CASCADE")
    )
    plate: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    nickname: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    __tablename__ = "identity_api_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(120))
    quota_tier: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


def citizen_of(row: CitizenRow) -> Citizen:
    return Citizen(
        id=CitizenId(row.id),
        phone=row.phone,
        display_name=row.display_name,
        created_at=row.created_at,
    )


def vehicle_of(row: VehicleRow | Row[Any]) -> Vehicle:
    """A vehicle from its ORM row, or from a Core row of the same columns."""
    return Vehicle(
        id=VehicleId(row.id),
        citizen_id=CitizenId(row.citizen_id),
        plate=row.plate,
        kind=VehicleKind(row.kind),
        nickname=row.nickname,
        created_at=row.created_at,
    )


def api_key_of(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=ApiKeyId(row.id),
        consumer=row.consumer,
        quota_tier=QuotaTier(row.quota_tier),
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        created_by=row.created_by,
    )


@dataclass(frozen=True)
class StaffCredentials:
    id: str
    password_hash: str
    active: bool


async def staff_credentials(database: Database, username: str) -> StaffCredentials | None:
    """A username's stored password hash, read without a session: none is held while the
    slow hash is checked (docs/decisions/0030)."""
    found = await database.read(
        select(StaffRow.id, StaffRow.password_hash, StaffRow.active).where(
            StaffRow.username == username
        )
    )
    if not found:
        return None
    row = found[0]
    return StaffCredentials(id=row.id, password_hash=row.password_hash, active=row.active)


@dataclass(frozen=True)
class SessionHolder:
    """A session row and, for a citizen's session, the citizen it speaks for (if they exist)."""

    citizen_id: str | None
    staff_id: str | None
    expires_at: datetime
    revoked_at: datetime | None
    citizen: Citizen | None


# Every signed-in request asks this, so it is one statement, built once: the session and
# its citizen joined (a staff session's roles are read apart; staff sign in rarely).
_SESSION_HOLDER = (
    select(
        SessionRow.citizen_id,
        SessionRow.staff_id,
        SessionRow.expires_at,
        SessionRow.revoked_at,
        CitizenRow.id.label("found_citizen_id"),
        CitizenRow.phone,
        CitizenRow.display_name,
        CitizenRow.created_at,
    )
    .outerjoin(CitizenRow, CitizenRow.id == SessionRow.citizen_id)
    .where(SessionRow.token_hash == bindparam("token_hash"))
)


async def session_holder(database: Database, token_hash: str) -> SessionHolder | None:
    """The session with this token hash and its citizen, in one read outside any transaction."""
    rows = await database.read(_SESSION_HOLDER, {"token_hash": token_hash})
    if not rows:
        return None
    row = rows[0]
    citizen = None
    if row.found_citizen_id is not None:
        citizen = Citizen(
            id=CitizenId(row.found_citizen_id),
            phone=row.phone,
            display_name=row.display_name,
            created_at=row.created_at,
        )
    return SessionHolder(row.citizen_id, row.staff_id, row.expires_at, row.revoked_at, citizen)


class IdentityRepository:
    """Reads and writes identity's rows inside the caller's session (the unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- citizens ---

    async def citizen(self, citizen_id: str) -> Citizen | None:
        row = await self.session.get(CitizenRow, citizen_id)
        return None if row is None else citizen_of(row)

    async def citizen_by_phone(self, phone: str) -> CitizenRow | None:
        result = await self.session.execute(select(CitizenRow).where(CitizenRow.phone == phone))
        return result.scalar_one_or_none()

    def add_citizen(self, row: CitizenRow) -> None:
        self.session.add(row)

    # --- staff ---

    async def staff_by_username(self, username: str) -> StaffRow | None:
        result = await self.session.execute(select(StaffRow).where(StaffRow.username == username))
        return result.scalar_one_or_none()

    async def staff_row(self, staff_id: str) -> StaffRow | None:
        return await self.session.get(StaffRow, staff_id)

    async def staff(self, staff_id: str) -> StaffAccount | None:
        row = await self.session.get(StaffRow, staff_id)
        return None if row is None else await self.staff_of(row)

    async def staff_of(self, row: StaffRow) -> StaffAccount:
        return StaffAccount(
            id=StaffId(row.id),
            username=row.username,
            display_name=row.display_name,
            roles=await self.staff_roles(row.id),
            password_hash=row.password_hash,
            active=row.active,
        )

    async def staff_roles(self, staff_id: str) -> frozenset[Role]:
        result = await self.session.execute(
            select(StaffRoleRow.role).where(StaffRoleRow.staff_id == staff_id)
        )
        # A role renamed in code but still in a row is dropped, not a crash at sign-in.
        known = {role.value for role in Role}
        return frozenset(Role(value) for value in result.scalars() if value in known)

    async def set_staff_roles(self, staff_id: str, roles: frozenset[Role]) -> None:
        await self.session.execute(delete(StaffRoleRow).where(StaffRoleRow.staff_id == staff_id))
        self.session.add_all(StaffRoleRow(staff_id=staff_id, role=role.value) for role in roles)

    def add_staff(self, row: StaffRow) -> None:
        self.session.add(row)

    # --- sessions ---

    def add_session(self, row: SessionRow) -> None:
        self.session.add(row)

    async def session_by_token_hash(self, token_hash: str) -> SessionRow | None:
        result = await self.session.execute(
            select(SessionRow).where(SessionRow.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    # --- vehicles ---

    async def vehicles_of(self, citizen_id: str) -> list[Vehicle]:
        result = await self.session.execute(
            select(VehicleRow)
            .where(VehicleRow.citizen_id == citizen_id)
            .order_by(VehicleRow.created_at, VehicleRow.id)
        )
        return [vehicle_of(row) for row in result.scalars()]

    async def vehicle_row(self, citizen_id: str, vehicle_id: str) -> VehicleRow | None:
        result = await self.session.execute(
            select(VehicleRow).where(
                VehicleRow.id == vehicle_id, VehicleRow.citizen_id == citizen_id
            )
        )
        return result.scalar_one_or_none()

    async def has_plate(self, citizen_id: str, plate: str) -> bool:
        result = await self.session.execute(
            select(VehicleRow.id).where(
                VehicleRow.citizen_id == citizen_id, VehicleRow.plate == plate
            )
        )
        return result.first() is not None

    async def add_vehicle(self, row: VehicleRow) -> None:
        """Add the vehicle; DuplicateVehicleError if the citizen has its plate already."""
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError:
            # The same plate added twice at once: the unique constraint has the last word.
            raise duplicate_plate() from None

    async def delete_vehicle(self, row: VehicleRow) -> None:
        await self.session.delete(row)

    # --- API keys ---

    def add_api_key(self, row: ApiKeyRow) -> None:
        self.session.add(row)

    async def api_key_row(self, key_id: str) -> ApiKeyRow | None:
        return await self.session.get(ApiKeyRow, key_id)

    async def api_key_by_prefix(self, prefix: str) -> ApiKeyRow | None:
        result = await self.session.execute(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        return result.scalar_one_or_none()

    async def api_keys(self) -> list[ApiKey]:
        result = await self.session.execute(
            select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id)
        )
        return [api_key_of(row) for row in result.scalars()]


# The permit table's names are re-exported so the area's persistence is imported as one.
__all__ = ["CodeRepository", "OtpChallengeRow", "PermitRepository", "PermitRow", "permit_of"]
