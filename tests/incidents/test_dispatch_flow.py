"""From report to clearance through the services: the audit, the timeline, the units."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest

from shahr.incidents.domain.errors import (
    IllegalMoveError,
    OutsideCityError,
    UnitUnavailableError,
)
from shahr.incidents.domain.incident import (
    Action,
    IncidentStatus,
    IncidentType,
    Location,
    Severity,
    Source,
)
from shahr.incidents.domain.units import UnitKind, UnitStatus
from shahr.incidents.queries.board import units_board
from shahr.incidents.queries.queue import affected_segments, incident_detail, incident_list
from shahr.incidents.services import IncidentsPorts, incidents, units
from shahr.incidents.services import dispatch as dispatching
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import FixedClock

from .conftest import ENGHELAB


async def a_unit(ports: IncidentsPorts, call_sign: str = "P-11") -> str:
    unit = await units.register_unit(
        ports.database,
        ports.clock,
        ports.bus,
        call_sign=call_sign,
        kind=UnitKind.patrol_car,
        crew=["Sgt. Rahimi"],
        actor="op-1",
    )
    await units.report_position(
        ports.database, ports.clock, ports.bus, unit.id, lon=51.39, lat=35.70
    )
    return unit.id


async def a_crash(ports: IncidentsPorts, source: Source = Source.operator) -> str:
    incident = await incidents.report_incident(
        ports.database,
        ports.clock,
        ports.bus,
        kind=IncidentType.crash,
        severity=Severity.major,
        location=ENGHELAB,
        source=source,
        actor="op-1",
        lanes=["blocked", "affected", "clear"],
        upstream_segments=["s-enghelab-2"],
    )
    return incident.id


async def test_an_incident_runs_from_report_to_closure_with_its_timeline_and_audit(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    incident_id = await a_crash(ports)
    unit_id = await a_unit(ports)
    clock.advance(timedelta(minutes=2))
    await dispatching.dispatch(db, clock, bus, incident_id, unit_id, actor="op-1")
    clock.advance(timedelta(seconds=30))
    await dispatching.accept(db, clock, bus, unit_id, actor="unit")
    clock.advance(timedelta(minutes=6))
    await dispatching.arrived(db, clock, bus, unit_id, actor="unit")
    clock.advance(timedelta(minutes=10))
    await dispatching.lanes_reopened(db, clock, bus, unit_id, actor="unit")
    clock.advance(timedelta(minutes=5))
    await dispatching.unit_cleared(db, clock, bus, unit_id, actor="unit")
    await incidents.move(db, clock, bus, incident_id, Action.close, actor="op-1")

    detail = await incident_detail(db, incident_id)
    timeline = detail.incident.timeline
    assert detail.incident.status is IncidentStatus.closed
    assert timeline.roadway_clearance_s == (2 * 60 + 30 + 6 * 60 + 10 * 60)
    assert timeline.incident_clearance_s == (2 * 60 + 30 + 6 * 60 + 15 * 60)
    assert [a.action for a in detail.audit] == [
        "report",
        "dispatch",
        "mark",
        "update",
        "clear",
        "close",
    ]
    assert detail.segments == (("s-enghelab-3", "at"), ("s-enghelab-2", "upstream"))
    assert detail.assignments[0].end_reason == "cleared"
    board = await units_board(db, clock.now())
    assert board[0].unit.status is UnitStatus.returning


async def test_a_cleared_incident_takes_no_unit_until_it_is_reopened(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    incident_id = await a_crash(ports)
    unit_id = await a_unit(ports)
    await incidents.move(db, clock, bus, incident_id, Action.clear, actor="op-1")

    with pytest.raises(IllegalMoveError):
        await dispatching.dispatch(db, clock, bus, incident_id, unit_id, actor="op-1")
    detail = await incident_detail(db, incident_id)
    assert [a.action for a in detail.audit] == ["report", "clear"]
    assert detail.assignments == ()

    await incidents.move(db, clock, bus, incident_id, Action.reopen, actor="op-1")
    unit = await dispatching.dispatch(db, clock, bus, incident_id, unit_id, actor="op-1")
    assert unit.status is UnitStatus.dispatched


async def test_a_busy_or_out_of_service_unit_cannot_be_dispatched(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    first, second = await a_crash(ports), await a_crash(ports)
    busy, resting = await a_unit(ports, "P-1"), await a_unit(ports, "P-2")
    await dispatching.dispatch(db, clock, bus, first, busy, actor="op-1")
    await units.set_unit_status(db, clock, bus, resting, UnitStatus.out_of_service, actor="op-1")

    for unit_id in (busy, resting):
        with pytest.raises(UnitUnavailableError):
            await dispatching.dispatch(db, clock, bus, second, unit_id, actor="op-1")
    detail = await incident_detail(db, second)
    assert detail.incident.timeline.dispatched is None
    assert [a.action for a in detail.audit] == ["report"]


async def test_a_tentative_detection_is_confirmed_or_dismissed_and_never_duplicated(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    detected_at = clock.now() - timedelta(minutes=1)

    async def detect() -> str | None:
        return await incidents.open_detected(
            db,
            clock,
            bus,
            segment_id="s-9",
            lon=51.41,
            lat=35.70,
            detected_at=detected_at,
            method="california7",
            score=0.9,
            evidence={"occ_df": 0.4},
        )

    first = await detect()
    again = await detect()
    assert first is not None
    assert again is None
    dismissed = await incidents.dismiss(db, clock, bus, first, actor="op-1", note="  سایه  ")
    assert dismissed.status is IncidentStatus.dismissed
    with pytest.raises(IllegalMoveError):
        await incidents.confirm(db, clock, bus, first, actor="op-1")
    # Dismissed, the segment may be detected again.
    assert await detect() is not None


async def test_positions_outside_the_city_are_refused_and_nothing_is_stored(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    unit_id = await a_unit(ports)
    with pytest.raises(OutsideCityError):
        await units.report_position(db, clock, bus, unit_id, lon=35.70, lat=51.39)  # swapped
    with pytest.raises(OutsideCityError):
        await incidents.report_incident(
            db,
            clock,
            bus,
            kind=IncidentType.crash,
            severity=Severity.minor,
            location=Location(lon=59.6, lat=36.3),
            source=Source.operator,
            actor="op-1",
        )
    board = await units_board(db, clock.now())
    assert (board[0].unit.position.lon, board[0].unit.position.lat) == (51.39, 35.70)  # type: ignore[union-attr]


async def test_a_silent_phone_is_flagged_stale(ports: IncidentsPorts, clock: FixedClock) -> None:
    await a_unit(ports, "P-1")
    clock.advance(timedelta(seconds=ports.stale_after_s - 1))
    fresh = await units_board(ports.database, clock.now())
    clock.advance(timedelta(seconds=2))
    silent = await units_board(ports.database, clock.now())

    assert [u.stale for u in fresh] == [False]
    assert [u.stale for u in silent] == [True]


async def test_the_live_map_sees_the_segments_of_live_incidents_only(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    incident_id = await a_crash(ports)
    live = await affected_segments(ports.database)
    await incidents.move(ports.database, clock, ports.bus, incident_id, Action.clear, actor="op")
    after = await affected_segments(ports.database)
    assert [(s.segment_id, s.role, s.severity) for s in live] == [
        ("s-enghelab-2", "upstream", "major"),
        ("s-enghelab-3", "at", "major"),
    ]
    assert after == []


async def test_the_incident_is_cleared_when_the_last_unit_leaves_the_scene(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    incident_id = await a_crash(ports)
    patrol, tow = await a_unit(ports, "P-1"), await a_unit(ports, "T-1")
    for unit_id in (patrol, tow):
        await dispatching.dispatch(db, clock, bus, incident_id, unit_id, actor="op-1")
        await dispatching.accept(db, clock, bus, unit_id, actor="unit")
        await dispatching.arrived(db, clock, bus, unit_id, actor="unit")
    clock.advance(timedelta(minutes=5))
    await dispatching.unit_cleared(db, clock, bus, patrol, actor="unit")
    still = await incident_detail(db, incident_id)
    clock.advance(timedelta(minutes=20))
    await dispatching.unit_cleared(db, clock, bus, tow, actor="unit")
    done = await incident_detail(db, incident_id)

    assert still.incident.status is IncidentStatus.open
    assert done.incident.status is IncidentStatus.cleared
    assert done.incident.timeline.incident_clearance_s == 25 * 60
    assert [a.end_reason for a in done.assignments] == ["cleared", "cleared"]


class RecordingBus:
    """Keeps what is published, in order."""

    def __init__(self) -> None:
        self.events: list[object] = []

    async def publish(self, event: object) -> None:
        self.events.append(event)


async def test_each_accepted_change_publishes_one_event_and_a_refused_one_none(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    recording = RecordingBus()
    bus = cast(EventBus, recording)
    db = ports.database
    made = await incidents.report_incident(
        db,
        clock,
        bus,
        kind=IncidentType.breakdown,
        severity=Severity.minor,
        location=ENGHELAB,
        source=Source.citizen_report,
        actor="op-1",
    )
    unit = await units.register_unit(
        db, clock, bus, call_sign="M-1", kind=UnitKind.motorcycle, actor="op-1"
    )
    with pytest.raises(IllegalMoveError):
        await dispatching.dispatch(db, clock, bus, made.id, unit.id, actor="op-1")  # tentative
    await incidents.confirm(db, clock, bus, made.id, actor="op-1")
    await dispatching.dispatch(db, clock, bus, made.id, unit.id, actor="op-1")
    await units.report_position(db, clock, bus, unit.id, lon=51.40, lat=35.70)

    published = [(type(e).__name__, getattr(e, "action", None)) for e in recording.events]
    assert published == [
        ("IncidentChanged", "report"),
        ("UnitChanged", "registered"),
        ("IncidentChanged", "confirm"),
        ("IncidentChanged", "dispatch"),
        ("UnitChanged", "dispatched"),
        ("UnitChanged", "position"),
    ]


async def test_the_queue_puts_detections_first_then_the_worst_and_oldest(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus

    async def report(severity: Severity, source: Source = Source.operator) -> str:
        clock.advance(timedelta(minutes=1))
        made = await incidents.report_incident(
            db,
            clock,
            bus,
            kind=IncidentType.crash,
            severity=severity,
            location=ENGHELAB,
            source=source,
            actor="op-1",
        )
        return made.id

    old_minor = await report(Severity.minor)
    closed = await report(Severity.severe)
    dismissed = await report(Severity.minor, Source.citizen_report)
    severe = await report(Severity.severe)
    citizen = await report(Severity.minor, Source.citizen_report)
    new_minor = await report(Severity.minor)
    await incidents.move(db, clock, bus, closed, Action.clear, actor="op-1")
    await incidents.move(db, clock, bus, closed, Action.close, actor="op-1")
    clock.advance(timedelta(minutes=1))
    await incidents.dismiss(db, clock, bus, dismissed, actor="op-1")

    queue = await incident_list(db)
    assert [i.id for i in queue] == [citizen, severe, old_minor, new_minor, dismissed, closed]
    assert [i.id for i in await incident_list(db, limit=2)] == [citizen, severe]
