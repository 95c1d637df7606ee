"""Incidents' use cases: report, open a detection, confirm, dismiss, update, mark, clear,
reopen, close. Each accepted change is one audit row and one `IncidentChanged` event; a
refused one raises a DomainError and changes nothing.

Who reports decides the first status: an operator or a police unit has seen it (open,
verified at once); a citizen's report and an automatic detection are tentative until an
operator confirms them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shahr.incidents.domain.errors import InvalidIncidentError
from shahr.incidents.domain.incident import (
    TEHRAN,
    Action,
    CityBox,
    Incident,
    IncidentStatus,
    IncidentType,
    Location,
    Severity,
    Source,
    checked_description,
    checked_lanes,
)
from shahr.incidents.domain.timeline import Mark, Timeline
from shahr.incidents.events import IncidentChanged
from shahr.incidents.persistence import IncidentsUnitOfWork
from shahr.incidents.persistence.incidents import columns_of
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.persian import normalise

SEEN_BY = frozenset({Source.operator, Source.police_unit})
DETECTION_ACTOR = "detection"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def difference(before: Incident | None, after: Incident) -> dict[str, Any]:
    """The columns a change altered, old and new, for the audit trail."""
    old = columns_of(before) if before else {}
    new = columns_of(after)
    return {
        name: {"from": _plain(old.get(name)), "to": _plain(value)}
        for name, value in new.items()
        if name not in ("updated_at", "created_at") and old.get(name) != value
    }


async def record(
    uow: IncidentsUnitOfWork,
    bus: EventBus,
    incident: Incident,
    *,
    actor: str,
    action: Action,
    at: datetime,
    change: Mapping[str, Any],
) -> None:
    """The audit row of an accepted change, and its event once the transaction commits."""
    await uow.incidents.audit(
        incident, at=at, actor=actor, action=action.value, change=dict(change)
    )
    event = IncidentChanged(
        event_id=str(uuid.uuid4()),
        incident_id=incident.id,
        action=action.value,
        status=incident.status.value,
        severity=incident.severity.value,
        kind=incident.kind.value,
        segment_id=incident.location.segment_id,
        actor=actor,
        at=at,
    )
    uow.after_commit(lambda: bus.publish(event))


async def report_incident(
    database: Database,
    clock: Clock,
    bus: EventBus,
    *,
    kind: IncidentType,
    severity: Severity,
    location: Location,
    source: Source,
    actor: str,
    lanes: Sequence[str] = (),
    camera_id: str | None = None,
    description: str = "",
    occurred_at: datetime | None = None,
    upstream_segments: Sequence[str] = (),
    box: CityBox = TEHRAN,
    evidence: Mapping[str, Any] | None = None,
) -> Incident:
    """A new incident: open if an operator or unit saw it, else tentative (see the module)."""
    now = clock.now()
    location.checked(box)
    seen = source in SEEN_BY
    timeline = Timeline(detected=now, verified=now if seen else None)
    if occurred_at is not None:
        timeline = timeline.marked(Mark.occurred, occurred_at, now=now)
    incident = Incident(
        id=str(uuid.uuid4()),
        kind=kind,
        severity=severity,
        source=source,
        status=IncidentStatus.open if seen else IncidentStatus.tentative,
        location=location,
        created_at=now,
        updated_at=now,
        lanes=checked_lanes(lanes),
        camera_id=camera_id or None,
        description=checked_description(normalise(description)),
        timeline=timeline,
        evidence=dict(evidence or {}),
    )
    async with IncidentsUnitOfWork(database) as uow:
        await uow.incidents.add(incident)
        await _link(uow, incident, upstream_segments)
        await record(
            uow,
            bus,
            incident,
            actor=actor,
            action=Action.report,
            at=now,
            change=difference(None, incident),
        )
        await uow.commit()
    return incident


async def _link(uow: IncidentsUnitOfWork, incident: Incident, upstream: Sequence[str]) -> None:
    at = incident.location.segment_id
    segments = ([(at, "at")] if at else []) + [(segment, "upstream") for segment in upstream]
    if segments:
        await uow.incidents.link_segments(incident.id, segments)


async def open_detected(
    database: Database,
    clock: Clock,
    bus: EventBus,
    *,
    segment_id: str,
    lon: float,
    lat: float,
    detected_at: datetime,
    method: str,
    score: float,
    evidence: dict[str, Any],
    box: CityBox = TEHRAN,
) -> str | None:
    """A tentative incident from automatic detection (its T1 is `detected_at`); None when an
    open or tentative incident already stands on the segment (no duplicates)."""
    if detected_at.tzinfo is None:
        raise InvalidIncidentError("Give times with their time zone.", field="detected_at")
    async with IncidentsUnitOfWork(database) as uow:
        if await uow.incidents.active_on_segment(segment_id):
            return None
    now = clock.now()
    incident = Incident(
        id=str(uuid.uuid4()),
        kind=IncidentType.other,
        severity=Severity.minor,
        source=Source.detection,
        status=IncidentStatus.tentative,
        location=Location(lon=lon, lat=lat, segment_id=segment_id).checked(box),
        created_at=now,
        updated_at=now,
        timeline=Timeline(detected=min(detected_at, now)),
        evidence={**evidence, "method": method, "score": score},
    )
    async with IncidentsUnitOfWork(database) as uow:
        await uow.incidents.add(incident)
        await _link(uow, incident, ())
        await record(
            uow,
            bus,
            incident,
            actor=DETECTION_ACTOR,
            action=Action.report,
            at=now,
            change=difference(None, incident),
        )
        await uow.commit()
    return incident.id


async def change_incident(
    database: Database,
    clock: Clock,
    bus: EventBus,
    incident_id: str,
    *,
    actor: str,
    action: Action,
    change: Callable[[Incident, datetime], Incident],
    note: Mapping[str, Any] | None = None,
) -> Incident:
    """Read, change by the domain's rule, write over the version read, audit, publish."""
    now = clock.now()
    async with IncidentsUnitOfWork(database) as uow:
        before = await uow.incidents.get(incident_id)
        after = change(before, now)
        saved = await uow.incidents.save(after)
        details = {**difference(before, saved), **(note or {})}
        await record(uow, bus, saved, actor=actor, action=action, at=now, change=details)
        await uow.commit()
    return saved


async def move(
    database: Database,
    clock: Clock,
    bus: EventBus,
    incident_id: str,
    action: Action,
    *,
    actor: str,
    note: str = "",
) -> Incident:
    """confirm, dismiss, clear, reopen or close: the status machine decides."""
    extra = {"note": checked_description(normalise(note))} if note else None
    return await change_incident(
        database,
        clock,
        bus,
        incident_id,
        actor=actor,
        action=action,
        change=lambda incident, now: incident.after(action, now),
        note=extra,
    )


async def confirm(
    database: Database, clock: Clock, bus: EventBus, incident_id: str, *, actor: str
) -> Incident:
    return await move(database, clock, bus, incident_id, Action.confirm, actor=actor)


async def dismiss(
    database: Database, clock: Clock, bus: EventBus, incident_id: str, *, actor: str, note: str = ""
) -> Incident:
    """A false alarm: kept, dismissed, so false alarms can be counted."""
    return await move(database, clock, bus, incident_id, Action.dismiss, actor=actor, note=note)


async def update(
    database: Database,
    clock: Clock,
    bus: EventBus,
    incident_id: str,
    *,
    actor: str,
    lanes: Sequence[str] | None = None,
    severity: Severity | None = None,
    kind: IncidentType | None = None,
    camera_id: str | None = None,
    description: str | None = None,
) -> Incident:
    text = None if description is None else normalise(description)
    return await change_incident(
        database,
        clock,
        bus,
        incident_id,
        actor=actor,
        action=Action.update,
        change=lambda incident, now: incident.updated(
            now, lanes=lanes, severity=severity, kind=kind, camera_id=camera_id, description=text
        ),
    )


async def mark(
    database: Database,
    clock: Clock,
    bus: EventBus,
    incident_id: str,
    *,
    actor: str,
    step: Mark,
    at: datetime | None,
) -> Incident:
    """Set (or with None, unset) one timeline step, checked for order and not in the future."""
    return await change_incident(
        database,
        clock,
        bus,
        incident_id,
        actor=actor,
        action=Action.mark,
        change=lambda incident, now: incident.marked(step, at, now=now),
    )
