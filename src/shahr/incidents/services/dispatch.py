"""Dispatch: send a unit to an incident, the unit's own reports (accept, arrived, lanes
reopened, cleared), recall, and the recommendation of units by travel time.

Two dispatchers sending the same unit at once: each decides on the unit's version as read,
and the unit's row is written only over that version (`UnitRepository.save`); the second
UPDATE matches no row and its dispatcher gets a `DispatchConflictError`; nothing of theirs
is stored. On PostgreSQL the second UPDATE waits for the first's commit, then re-reads the
row; on SQLite the single writer lock orders them the same way.
"""

from __future__ import annotations

from datetime import datetime

from shahr.incidents.domain.errors import IllegalMoveError
from shahr.incidents.domain.incident import REFUSAL_MESSAGES, Action, Incident, IncidentStatus
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.domain.units import Unit, UnitStatus
from shahr.incidents.persistence import IncidentsUnitOfWork
from shahr.incidents.services.incidents import change_incident, difference, record
from shahr.incidents.services.units import announce
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database


async def dispatch(
    database: Database, clock: Clock, bus: EventBus, incident_id: str, unit_id: str, *, actor: str
) -> Unit:
    """Assign the unit to the incident (T3 if it is the first); see the module on races."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        incident = await uow.incidents.get(incident_id)
        incident.check_dispatchable()
        unit = await uow.units.get(unit_id)
        saved = await uow.units.save(
            unit.moved_to(UnitStatus.dispatched, now, incident_id=incident_id)
        )
        if not await uow.units.stamp_incident(incident_id, Mark.dispatched, now):
            # Cleared or dismissed since it was read: the whole dispatch is undone.
            raise IllegalMoveError(REFUSAL_MESSAGES[Action.dispatch], field="status")
        await uow.units.assign(saved, incident_id, at=now, actor=actor)
        await uow.units.record_status(saved, actor=actor)
        after = await uow.incidents.get(incident_id)
        change = {**difference(incident, after), "unit_id": unit_id, "call_sign": unit.call_sign}
        await record(uow, bus, after, actor=actor, action=Action.dispatch, at=now, change=change)
        announce(uow, bus, saved, action="dispatched", at=now)
        await uow.commit()
    return saved


async def _unit_moves(
    uow: IncidentsUnitOfWork,
    bus: EventBus,
    unit_id: str,
    status: UnitStatus,
    *,
    actor: str,
    at: datetime,
) -> tuple[Unit, Unit]:
    unit = await uow.units.get(unit_id)
    saved = await uow.units.save(unit.moved_to(status, at))
    await uow.units.record_status(saved, actor=actor)
    announce(uow, bus, saved, action="status", at=at)
    return unit, saved


async def accept(
    database: Database, clock: Clock, bus: EventBus, unit_id: str, *, actor: str
) -> Unit:
    """The unit accepts its assignment on its phone page and sets off (en route)."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        _, saved = await _unit_moves(uow, bus, unit_id, UnitStatus.en_route, actor=actor, at=now)
        await uow.units.note_assignment(unit_id, at=now, step="accepted")
        await uow.commit()
    return saved


async def arrived(
    database: Database, clock: Clock, bus: EventBus, unit_id: str, *, actor: str
) -> Unit:
    """The unit is on the scene: the incident's T4 if it is the first to arrive."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        unit, saved = await _unit_moves(uow, bus, unit_id, UnitStatus.on_scene, actor=actor, at=now)
        await uow.units.note_assignment(unit_id, at=now, step="arrived")
        incident_id = unit.incident_id
        if incident_id is not None:
            before = await uow.incidents.get(incident_id)
            if await uow.units.stamp_incident(incident_id, Mark.arrived, now):
                after = await uow.incidents.get(incident_id)
                change = {**difference(before, after), "unit_id": unit_id}
                await record(
                    uow, bus, after, actor=actor, action=Action.mark, at=now, change=change
                )
        await uow.commit()
    return saved


async def lanes_reopened(
    database: Database, clock: Clock, bus: EventBus, unit_id: str, *, actor: str
) -> Incident:
    """The unit on the scene reports every lane open again (T5)."""
    async with IncidentsUnitOfWork(database) as uow:
        unit = await uow.units.get(unit_id)
    if unit.status is not UnitStatus.on_scene or unit.incident_id is None:
        raise IllegalMoveError(
            "Only a unit on the scene can report the lanes reopened.", field="status"
        )
    return await change_incident(
        database,
        clock,
        bus,
        unit.incident_id,
        actor=actor,
        action=Action.update,
        change=lambda incident, now: incident.lanes_open(now),
        note={"unit_id": unit_id},
    )


async def unit_cleared(
    database: Database, clock: Clock, bus: EventBus, unit_id: str, *, actor: str
) -> Unit:
    """The unit has finished on the scene and leaves (returning); an open incident is cleared
    with it (T6), which also reopens any lanes still marked."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        unit, saved = await _unit_moves(
            uow, bus, unit_id, UnitStatus.returning, actor=actor, at=now
        )
        await uow.units.note_assignment(unit_id, at=now, step="cleared")
        if unit.incident_id is not None:
            incident = await uow.incidents.get(unit.incident_id)
            if incident.status is IncidentStatus.open:
                after = await uow.incidents.save(incident.after(Action.clear, now))
                change = {**difference(incident, after), "unit_id": unit_id}
                await record(
                    uow, bus, after, actor=actor, action=Action.clear, at=now, change=change
                )
        await uow.commit()
    return saved


async def recall(
    database: Database, clock: Clock, bus: EventBus, unit_id: str, *, actor: str
) -> Unit:
    """Take a dispatched or en-route unit off its incident (available again)."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        unit = await uow.units.get(unit_id)
        if unit.status not in (UnitStatus.dispatched, UnitStatus.en_route):
            raise IllegalMoveError(
                "Only a dispatched or en-route unit can be recalled.", field="status"
            )
        _, saved = await _unit_moves(uow, bus, unit_id, UnitStatus.available, actor=actor, at=now)
        await uow.units.note_assignment(unit_id, at=now, step="recalled")
        if unit.incident_id is not None:
            incident = await uow.incidents.get(unit.incident_id)
            change = {"unit_id": unit_id, "call_sign": unit.call_sign}
            await record(
                uow, bus, incident, actor=actor, action=Action.recall, at=now, change=change
            )
        await uow.commit()
    return saved
