"""The FHWA timeline's rules and clearance times, and the day's KPIs with secondary incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.incidents.domain.errors import IllegalMoveError, InvalidIncidentError
from shahr.incidents.domain.incident import (
    MOVES,
    Action,
    Incident,
    IncidentStatus,
    IncidentType,
    LaneState,
    Location,
    Severity,
    Source,
)
from shahr.incidents.domain.timeline import Mark, Timeline
from shahr.incidents.queries.kpis import day_kpis, day_kpis_of, secondary_incidents
from shahr.incidents.services import IncidentsPorts, incidents
from shahr.incidents.services import dispatch as dispatching
from shahr.kernel.clock import FixedClock

from .conftest import BEHIND, ENGHELAB
from .test_dispatch_flow import a_crash, a_unit

T1 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 10:30 in Tehran


def at(minutes: float) -> datetime:
    return T1 + timedelta(minutes=minutes)


def an_incident(
    where: Location = ENGHELAB,
    *,
    detected: float = 0,
    cleared: float | None = None,
    **fields: object,
) -> Incident:
    timeline = Timeline(detected=at(detected), cleared=None if cleared is None else at(cleared))
    base = Incident(
        id=f"i-{detected}-{where.segment_id}",
        kind=IncidentType.crash,
        severity=Severity.major,
        source=Source.operator,
        status=IncidentStatus.open if cleared is None else IncidentStatus.cleared,
        location=where,
        created_at=at(detected),
        updated_at=at(detected),
        timeline=timeline,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_clearance_times_are_measured_from_first_awareness() -> None:
    timeline = Timeline(
        occurred=at(-3),
        detected=at(0),
        verified=at(1),
        dispatched=at(2),
        arrived=at(9),
        lanes_reopened=at(25),
        cleared=at(40),
        normal_flow=at(55),
    )
    assert timeline.roadway_clearance_s == 25 * 60  # T5 - T1
    assert timeline.incident_clearance_s == 40 * 60  # T6 - T1
    assert timeline.to_normal_flow_s == 15 * 60


def test_a_step_before_an_earlier_one_or_in_the_future_is_refused() -> None:
    timeline = Timeline(detected=at(0), dispatched=at(2))
    with pytest.raises(InvalidIncidentError):
        timeline.marked(Mark.arrived, at(1), now=at(10))  # before the dispatch
    with pytest.raises(InvalidIncidentError):
        timeline.marked(Mark.cleared, at(11), now=at(10))
    with pytest.raises(InvalidIncidentError):
        timeline.marked(Mark.occurred, at(1), now=at(10))  # after detection
    assert timeline.marked(Mark.arrived, at(8), now=at(10)).arrived == at(8)


def test_clearing_reopens_the_lanes_and_reopening_forgets_the_clearance() -> None:
    incident = an_incident(lanes=(LaneState.blocked, LaneState.affected))
    cleared = incident.after(Action.clear, at(20))
    reopened = cleared.after(Action.reopen, at(25))
    assert cleared.lanes == (LaneState.clear, LaneState.clear)
    assert cleared.timeline.lanes_reopened == at(20)
    assert reopened.timeline.cleared is None
    assert reopened.status is IncidentStatus.open


@given(st.lists(st.sampled_from(list(Action)), max_size=20))
def test_only_the_table_of_moves_changes_an_incidents_status(actions: list[Action]) -> None:
    incident = replace(an_incident(), status=IncidentStatus.tentative)
    for step, action in enumerate(actions):
        moment = at(step + 1)
        allowed = (incident.status, action) in MOVES
        try:
            changed = incident.after(action, moment)
        except IllegalMoveError:
            assert not allowed
            continue
        assert allowed
        assert changed.status is MOVES[(incident.status, action)]
        for mark in Mark:
            changed.timeline.check_order(mark)
        incident = changed


def test_a_later_incident_behind_an_open_one_is_secondary_and_one_ahead_is_not() -> None:
    primary = an_incident(detected=0)
    behind = an_incident(BEHIND, detected=10)
    ahead = an_incident(replace(ENGHELAB, lon=51.4150, segment_id="s-enghelab-4"), detected=12)
    far = an_incident(replace(BEHIND, lon=51.37, segment_id="s-far"), detected=15)
    assert secondary_incidents([primary, behind, ahead, far], {}) == [behind.id]


def test_secondary_means_while_the_primary_is_on_the_road_or_within_an_hour_after() -> None:
    primary = an_incident(detected=0, cleared=30)
    soon = an_incident(BEHIND, detected=80)
    late = an_incident(replace(BEHIND, segment_id="s-x", offset_m=1.0), detected=100)
    linked = {primary.id: frozenset({"s-enghelab-2"})}
    assert secondary_incidents([primary, soon, late], linked) == [soon.id]


def test_the_days_kpis_count_types_false_alarms_and_median_times() -> None:
    quick = an_incident(
        detected=0, timeline=Timeline(detected=at(0), dispatched=at(2), cleared=at(30))
    )
    slow = an_incident(
        replace(ENGHELAB, segment_id="s-9"),
        detected=5,
        kind=IncidentType.breakdown,
        timeline=Timeline(detected=at(5), dispatched=at(11)),
    )
    false_alarm = an_incident(
        replace(ENGHELAB, segment_id="s-8"),
        detected=6,
        status=IncidentStatus.dismissed,
        source=Source.detection,
    )
    kpis = day_kpis_of(date(2026, 11, 26), [quick, slow, false_alarm], {})
    assert kpis.incidents == 2
    assert kpis.by_type == {"crash": 1, "breakdown": 1}
    assert kpis.dismissed == 1
    assert kpis.median_s["to_dispatch"] == 4 * 60
    assert kpis.median_s["incident_clearance"] == 30 * 60
    assert kpis.median_s["to_detect"] is None


async def test_the_days_kpis_come_from_the_stored_incidents(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    incident_id = await a_crash(ports)
    unit_id = await a_unit(ports)
    clock.advance(timedelta(minutes=3))
    await dispatching.dispatch(db, clock, bus, incident_id, unit_id, actor="op")
    await dispatching.accept(db, clock, bus, unit_id, actor="unit")
    clock.advance(timedelta(minutes=7))
    await dispatching.arrived(db, clock, bus, unit_id, actor="unit")
    await incidents.open_detected(
        db,
        clock,
        bus,
        segment_id="s-77",
        lon=51.42,
        lat=35.71,
        detected_at=clock.now(),
        method="test",
        score=1.0,
        evidence={},
    )

    kpis = await day_kpis(db, date(2026, 11, 26))
    tomorrow = await day_kpis(db, date(2026, 11, 27))
    assert kpis.incidents == 2
    assert kpis.tentative == 1
    assert kpis.median_s["to_dispatch"] == 3 * 60
    assert kpis.median_s["to_arrive"] == 7 * 60
    assert tomorrow.incidents == 0
