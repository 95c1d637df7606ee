"""Dispatch: send a unit to an incident, the unit's own reports (accept, arrived, lanes
reopened, cleared), recall, and the recommendation of units by travel time.

Two dispatchers sending the same unit at once: each decides on the unit's version as read,
and the unit's row is written only over that version (`UnitRepository.save`); the second
UPDATE matches no row and its dispatcher gets a `DispatchConflictError`; nothing of theirs
is stored. On PostgreSQL the second UPDATE waits for the first's commit, then re-reads the
row; on SQLite the single writer lock orders them the same way.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from shahr.incidents.domain.errors import IllegalMoveError, NoRoadNetworkError
from shahr.incidents.domain.incident import REFUSAL_MESSAGES, Action, Incident, IncidentStatus
from shahr.incidents.domain.routing import (
    GraphCache,
    Place,
    Recommendation,
    RoadGraph,
    UnitPosition,
    rank_units,
)
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.domain.units import DISPATCHABLE, STALE_AFTER_S, Unit, UnitStatus
from shahr.incidents.gateways.roads import RoadNetwork, RoadSnapshot
from shahr.incidents.persistence import IncidentsUnitOfWork
from shahr.incidents.queries.board import units_board
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
    """The unit has finished on the scene and leaves (returning). The last unit to leave an
    open incident clears it: T6 is when the last responder leaves (FHWA); clearing also
    reopens any lanes still marked. Another unit still assigned keeps the incident open."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        unit, saved = await _unit_moves(
            uow, bus, unit_id, UnitStatus.returning, actor=actor, at=now
        )
        await uow.units.note_assignment(unit_id, at=now, step="cleared")
        if unit.incident_id is not None and not await uow.units.live_units_on(unit.incident_id):
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


async def graph_of(roads: RoadNetwork, graphs: GraphCache) -> tuple[RoadGraph, RoadSnapshot]:
    """The routing graph of the roads' current snapshot, from the process's cache; building
    a large network takes a few hundred milliseconds, so it is built off the event loop."""
    snapshot = await roads.snapshot()
    graph = await asyncio.to_thread(
        graphs.graph_for, snapshot.version, snapshot.links, network_version=snapshot.network_version
    )
    return graph, snapshot


def unit_position(unit: Unit) -> UnitPosition | None:
    """The unit as routing sees it; None without any position. A unit that may be sent now
    (available, or returning from a scene) is "available" to routing."""
    if unit.position is None:
        return None
    status = UnitStatus.available.value if unit.status in DISPATCHABLE else unit.status.value
    where = unit.position
    return UnitPosition(
        unit_id=unit.id,
        kind=unit.kind.value,
        status=status,
        lon=where.lon,
        lat=where.lat,
        reported_at=where.reported_at,
    )


def _target(graph: RoadGraph, incident: Incident) -> Place:
    where = incident.location
    if where.segment_id:
        return Place(where.segment_id, where.offset_m)
    snapped = graph.snap(where.lon, where.lat)
    if snapped is None:
        raise NoRoadNetworkError(
            "This incident is not on a road of the network: give its segment.", field="segment_id"
        )
    return snapped[0]


async def recommend(
    database: Database,
    clock: Clock,
    roads: RoadNetwork | None,
    incident_id: str,
    *,
    stale_after_s: float = STALE_AFTER_S,
    limit: int = 5,
    graphs: GraphCache,
) -> list[Recommendation]:
    """The units that would reach the incident first over the roads at their current speeds,
    then those left out and why (stale, unavailable, off the network, unreachable). Units
    that never reported a position are not listed: the units board shows them as stale."""
    if roads is None:
        raise NoRoadNetworkError(
            "No road network is connected: units cannot be ranked by travel time."
        )
    async with IncidentsUnitOfWork(database) as uow:
        incident = await uow.incidents.get(incident_id)
    now = clock.now()
    board = await units_board(database, now, stale_after_s=stale_after_s)
    positions = [p for u in board if (p := unit_position(u.unit)) is not None]
    graph, _ = await graph_of(roads, graphs)
    return rank_units(
        graph,
        _target(graph, incident),
        positions,
        now=now,
        stale_after_s=stale_after_s,
        limit=limit,
    )
