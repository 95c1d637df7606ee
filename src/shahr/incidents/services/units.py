"""Units: register, take out of service and back, and positions from the phone page or AVL.

A position outside the city is refused; one older than the last known is kept in the
history but does not move the unit. Each change is a status-history row (or a position
row) and a `UnitChanged` event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from shahr.incidents.domain.errors import IllegalMoveError, InvalidUnitError
from shahr.incidents.domain.incident import TEHRAN, CityBox
from shahr.incidents.domain.units import (
    Position,
    Unit,
    UnitKind,
    UnitStatus,
    checked_call_sign,
    checked_crew,
)
from shahr.incidents.events import UnitChanged
from shahr.incidents.persistence import IncidentsUnitOfWork
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.persian import normalise

# A phone's clock may run a little ahead of the server's; further ahead is a wrong clock.
CLOCK_SKEW_S = 30.0
# What an operator sets directly; the rest follow dispatch and the unit's own reports.
OPERATOR_STATUSES = frozenset({UnitStatus.available, UnitStatus.out_of_service})


def announce(
    uow: IncidentsUnitOfWork, bus: EventBus, unit: Unit, *, action: str, at: datetime
) -> None:
    """The unit's event, published once the transaction commits."""
    where = unit.position
    event = UnitChanged(
        event_id=str(uuid.uuid4()),
        unit_id=unit.id,
        action=action,
        status=unit.status.value,
        incident_id=unit.incident_id,
        lon=where.lon if where else None,
        lat=where.lat if where else None,
        at=at,
    )
    uow.after_commit(lambda: bus.publish(event))


async def register_unit(
    database: Database,
    clock: Clock,
    bus: EventBus,
    *,
    call_sign: str,
    kind: UnitKind,
    crew: Sequence[str] = (),
    actor: str,
) -> Unit:
    now = clock.now()
    unit = Unit(
        id=str(uuid.uuid4()),
        call_sign=checked_call_sign(normalise(call_sign)),
        kind=kind,
        crew=checked_crew([normalise(name) for name in crew]),
        status=UnitStatus.available,
        status_changed_at=now,
    )
    async with IncidentsUnitOfWork(database) as uow:
        if await uow.units.call_sign_taken(unit.call_sign):
            raise InvalidUnitError("Another unit already has this call sign.", field="call_sign")
        await uow.units.add(unit, at=now)
        await uow.units.record_status(unit, actor=actor)
        announce(uow, bus, unit, action="registered", at=now)
        await uow.commit()
    return unit


async def set_unit_status(
    database: Database, clock: Clock, bus: EventBus, unit_id: str, status: UnitStatus, *, actor: str
) -> Unit:
    """Out of service, or back available; a unit on an incident is recalled (dispatch.recall)."""
    if status not in OPERATOR_STATUSES:
        raise IllegalMoveError(
            "Set a unit available or out of service; the rest follows dispatch and the unit's "
            "reports.",
            field="status",
        )
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        unit = await uow.units.get(unit_id)
        if unit.incident_id is not None and status is UnitStatus.available:
            raise IllegalMoveError(
                "This unit is on an incident: recall it, or let it report the incident cleared.",
                field="status",
            )
        saved = await uow.units.save(unit.moved_to(status, now))
        await uow.units.record_status(saved, actor=actor)
        announce(uow, bus, saved, action="status", at=now)
        await uow.commit()
    return saved


async def report_position(
    database: Database,
    clock: Clock,
    bus: EventBus,
    unit_id: str,
    *,
    lon: float,
    lat: float,
    reported_at: datetime | None = None,
    box: CityBox = TEHRAN,
) -> Unit:
    """Where the unit is, from its phone page or an AVL feed (`reported_at` when fixed)."""
    now = clock.now()
    at = reported_at or now
    if at.tzinfo is None:
        raise InvalidUnitError("Give times with their time zone.", field="reported_at")
    if (at - now).total_seconds() > CLOCK_SKEW_S:
        raise InvalidUnitError("This position is dated in the future.", field="reported_at")
    position = Position(lon=lon, lat=lat, reported_at=min(at, now))
    async with IncidentsUnitOfWork(database) as uow:
        unit = await uow.units.get(unit_id)
        moved = unit.reported(position, box)
        await uow.units.record_position(unit.id, position, at=now)
        if moved is not unit and await uow.units.place(unit.id, position):
            announce(uow, bus, moved, action="position", at=now)
        await uow.commit()
    return moved
