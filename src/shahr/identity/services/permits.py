"""Disability permits: a citizen submits one for a vehicle, staff approve or reject it."""

from __future__ import annotations

from shahr.identity.domain import (
    DisabilityPermit,
    InvalidPermitError,
    PermitAlreadyReviewedError,
    PermitNotFoundError,
    PermitStatus,
    VehicleNotFoundError,
    check_permit_number,
    parse_expiry,
    photo_type,
)
from shahr.identity.persistence import (
    IdentityRepository,
    PermitRepository,
    PermitRow,
    new_id,
    permit_of,
)
from shahr.kernel.clock import Clock, in_tehran
from shahr.kernel.db import Database


async def submit_permit(
    database: Database,
    clock: Clock,
    *,
    citizen_id: str,
    vehicle_id: str,
    number: str,
    expires_on: str,
    photo: bytes,
) -> DisabilityPermit:
    """Send a vehicle's permit for review; it replaces the vehicle's earlier permit.

    Everything is checked before anything is written, and the permit and its photo are one
    row: a refused submission leaves the earlier permit as it was.
    """
    now = clock.now()
    checked_number = check_permit_number(number)
    expiry = parse_expiry(expires_on, today=in_tehran(now).date())
    media_type = photo_type(photo)
    async with database.session() as session:
        vehicle = await IdentityRepository(session).vehicle_row(citizen_id, vehicle_id)
        if vehicle is None:
            raise VehicleNotFoundError("This vehicle is not on your account.")
        if vehicle.kind == "motorcycle":
            raise InvalidPermitError(
                "Disabled bays are for cars and vans; a motorcycle cannot carry a permit.",
                field="permit_number",
            )
        row = PermitRow(
            id=new_id(),
            vehicle_id=vehicle_id,
            citizen_id=citizen_id,
            number=checked_number,
            expires_on=expiry,
            status=PermitStatus.pending.value,
            photo=photo,
            photo_type=media_type,
            submitted_at=now,
        )
        await PermitRepository(session).replace_for_vehicle(row)
        await session.commit()
    return permit_of(row)


async def review_permit(
    database: Database, clock: Clock, *, permit_id: str, reviewer_id: str, approve: bool
) -> DisabilityPermit:
    """Approve or reject a pending permit; a permit is reviewed once."""
    async with database.session() as session:
        row = await PermitRepository(session).row(permit_id)
        if row is None:
            raise PermitNotFoundError("This permit was not found.")
        if row.status != PermitStatus.pending.value:
            raise PermitAlreadyReviewedError("This permit was reviewed already.")
        row.status = (PermitStatus.approved if approve else PermitStatus.rejected).value
        row.reviewed_at = clock.now()
        row.reviewed_by = reviewer_id
        await session.commit()
        return permit_of(row)
