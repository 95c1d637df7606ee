"""Random sequences of actions, through the services on the real database: a refused action
changes nothing, an accepted one is exactly one audit row, and no sequence reaches a state
the machines do not allow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shahr.incidents.domain.incident import ACTIVE, MOVES, Action, IncidentStatus, Source
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.domain.units import ASSIGNED, DISPATCHABLE, UnitStatus
from shahr.incidents.persistence import AuditRow, DispatchRow, IncidentsUnitOfWork
from shahr.incidents.persistence.incidents import columns_of
from shahr.incidents.services import IncidentsPorts, incidents, units
from shahr.incidents.services import dispatch as dispatching
from shahr.kernel.clock import FixedClock
from shahr.kernel.errors import DomainError

from .test_dispatch_flow import a_crash, a_unit

MOVES_BY_NAME = {"confirm", "dismiss", "clear", "reopen", "close"}
UNIT_STEPS = ["dispatch", "accept", "arrived", "lanes", "unit_cleared", "recall", "out", "in"]
STEPS = st.lists(
    st.sampled_from(sorted(MOVES_BY_NAME) + UNIT_STEPS + ["update"]), min_size=1, max_size=14
)


async def _state(ports: IncidentsPorts, incident_id: str, unit_id: str) -> tuple[Any, ...]:
    async with IncidentsUnitOfWork(ports.database) as uow:
        incident = await uow.incidents.get(incident_id)
        unit = await uow.units.get(unit_id)
        audit = await uow.session.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.incident_id == incident_id)
        )
        live = await uow.session.scalar(
            select(func.count())
            .select_from(DispatchRow)
            .where(DispatchRow.unit_id == unit_id, DispatchRow.ended_at.is_(None))
        )
    return incident, unit, audit, live


def _expected(step: str, incident: Any, unit: Any) -> tuple[bool, int]:
    """Whether the machines allow `step` now, and how many audit rows it then writes."""
    status, on_it = incident.status, unit.incident_id == incident.id
    open_ = int(status is IncidentStatus.open)
    rules: dict[str, tuple[bool, int]] = {
        "update": (status in ACTIVE, 1),
        "dispatch": (status is IncidentStatus.open and unit.status in DISPATCHABLE, 1),
        "accept": (unit.status is UnitStatus.dispatched, 0),
        "arrived": (unit.status is UnitStatus.en_route, open_ if on_it else 0),
        "lanes": (unit.status is UnitStatus.on_scene and on_it and status in ACTIVE, 1),
        "unit_cleared": (unit.status is UnitStatus.on_scene, open_ if on_it else 0),
        "recall": (unit.status in (UnitStatus.dispatched, UnitStatus.en_route), int(on_it)),
        "out": (unit.status in (UnitStatus.available, UnitStatus.returning), 0),
        "in": (unit.status in (UnitStatus.out_of_service, UnitStatus.returning), 0),
    }
    if step in MOVES_BY_NAME:
        return (status, Action(step)) in MOVES, 1
    return rules[step]


async def _do(step: str, ports: IncidentsPorts, incident_id: str, unit_id: str) -> None:
    db, clock, bus = ports.database, ports.clock, ports.bus
    if step in MOVES_BY_NAME:
        await incidents.move(db, clock, bus, incident_id, Action(step), actor="op")
    elif step == "update":
        await incidents.update(db, clock, bus, incident_id, actor="op", lanes=["blocked", "clear"])
    elif step == "dispatch":
        await dispatching.dispatch(db, clock, bus, incident_id, unit_id, actor="op")
    elif step in ("out", "in"):
        target = UnitStatus.out_of_service if step == "out" else UnitStatus.available
        await units.set_unit_status(db, clock, bus, unit_id, target, actor="op")
    else:
        service = {
            "accept": dispatching.accept,
            "arrived": dispatching.arrived,
            "lanes": dispatching.lanes_reopened,
            "unit_cleared": dispatching.unit_cleared,
            "recall": dispatching.recall,
        }[step]
        await service(db, clock, bus, unit_id, actor="unit")


def _legal(incident: Any, unit: Any, live: int) -> None:
    timeline = incident.timeline
    for mark in Mark:
        timeline.check_order(mark)
    assert (incident.status is IncidentStatus.cleared) <= (timeline.cleared is not None)
    assert (incident.status in (IncidentStatus.closed, IncidentStatus.dismissed)) == (
        incident.ended_at is not None
    )
    assert (unit.status in ASSIGNED) == (unit.incident_id is not None)
    assert live == int(unit.status in ASSIGNED)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, tentative=st.booleans())
async def test_random_sequences_keep_the_machines_legal_and_audit_each_accepted_change(
    ports: IncidentsPorts, clock: FixedClock, steps: list[str], tentative: bool
) -> None:
    source = Source.citizen_report if tentative else Source.operator
    incident_id = await a_crash(ports, source)
    unit_id = await a_unit(ports, f"U-{incident_id[:8]}")
    for step in steps:
        clock.advance(timedelta(seconds=30))
        incident, unit, audit, live = await _state(ports, incident_id, unit_id)
        allowed, rows = _expected(step, incident, unit)
        try:
            await _do(step, ports, incident_id, unit_id)
            accepted = True
        except DomainError:
            accepted = False
        after, unit_after, audit_after, live_after = await _state(ports, incident_id, unit_id)

        assert accepted == allowed, (step, incident.status, unit.status)
        if accepted:
            assert audit_after == audit + rows, step
        else:
            assert columns_of(after) == columns_of(incident)
            assert unit_after == unit
            assert (audit_after, live_after) == (audit, live)
        _legal(after, unit_after, live_after)
