"""Citizens' vehicles, registered by plate."""

from __future__ import annotations

from shahr.identity.domain import (
    Vehicle,
    VehicleId,
    VehicleKind,
    VehicleNotFoundError,
    check_name,
    duplicate_plate,
)
from shahr.identity.events import VehicleRegistered, VehicleRemoved
from shahr.identity.persistence import (
    IdentityRepository,
    PermitRepository,
    VehicleRow,
    new_id,
    vehicle_of,
)
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError, NotFoundError
from shahr.kernel.plates import InvalidPlateError, check_plate_shape, parse_vehicle_plate


async def register_vehicle(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    *,
    citizen_id: str,
    plate: str,
    kind: str,
    nickname: str | None = None,
) -> Vehicle:
    """Add a vehicle by plate to the citizen's account; the plate is stored canonical, and
    must have its kind's shape (a motorcycle's has no letter)."""
    vehicle_kind = _vehicle_kind(kind)
    try:
        parsed = parse_vehicle_plate(plate)
        check_plate_shape(parsed, motorcycle=vehicle_kind is VehicleKind.motorcycle)
    except InvalidPlateError as error:
        # The parser names the plate's part to blame; the caller typed one `plate` field.
        raise InvalidPlateError(error.message, field="plate", **error.params) from error
    name = check_name(nickname, field_name="nickname") if nickname and nickname.strip() else None
    now = clock.now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        if await repository.citizen(citizen_id) is None:
            raise NotFoundError("Your account was not found. Please sign in again.")
        if await repository.has_plate(citizen_id, parsed.canonical):
            raise duplicate_plate()
        row = VehicleRow(
            id=new_id(),
            citizen_id=citizen_id,
            plate=parsed.canonical,
            kind=vehicle_kind.value,
            nickname=name,
            created_at=now,
        )
        await repository.add_vehicle(row)
        await session.commit()
    vehicle = vehicle_of(row)
    if bus is not None:
        await bus.publish(
            VehicleRegistered(
                event_id=new_id(),
                citizen_id=citizen_id,
                vehicle_id=vehicle.id,
                plate=vehicle.plate,
                kind=vehicle.kind.value,
                occurred_at=now,
            )
        )
    return vehicle


def _vehicle_kind(kind: str) -> VehicleKind:
    try:
        return VehicleKind(kind.strip())
    except ValueError:
        raise DomainError("Choose the kind of vehicle.", field="kind") from None


async def remove_vehicle(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    *,
    citizen_id: str,
    vehicle_id: str,
) -> None:
    """Remove one of the citizen's vehicles; another citizen's vehicle is not found."""
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.vehicle_row(citizen_id, vehicle_id)
        if row is None:
            raise VehicleNotFoundError("This vehicle is not on your account.")
        plate = row.plate
        await PermitRepository(session).remove_for_vehicle(vehicle_id)
        await repository.delete_vehicle(row)
        await session.commit()
    if bus is not None:
        await bus.publish(
            VehicleRemoved(
                event_id=new_id(),
                citizen_id=citizen_id,
                vehicle_id=VehicleId(vehicle_id),
                plate=plate,
                occurred_at=clock.now(),
            )
        )
