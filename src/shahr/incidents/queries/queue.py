"""The incident queue and one incident with its timeline, units and audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select

from shahr.incidents.domain.errors import IncidentNotFoundError
from shahr.incidents.domain.incident import Incident, IncidentStatus, IncidentType, Severity
from shahr.incidents.persistence import (
    AuditRow,
    DispatchRow,
    IncidentRow,
    IncidentSegmentRow,
    UnitRow,
    incident_of,
)
from shahr.kernel.db import Database

MAX_LIST = 500
_QUEUE_ORDER = {IncidentStatus.tentative: 0, IncidentStatus.open: 1, IncidentStatus.cleared: 2}
_SEVERITY_ORDER = {Severity.severe: 0, Severity.major: 1, Severity.minor: 2}


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    status: str
    change: dict[str, Any]


@dataclass(frozen=True)
class Assignment:
    unit_id: str
    call_sign: str
    assigned_at: datetime
    assigned_by: str
    accepted_at: datetime | None
    arrived_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


@dataclass(frozen=True)
class IncidentDetail:
    incident: Incident
    segments: tuple[tuple[str, str], ...]  # (segment id, role)
    assignments: tuple[Assignment, ...]
    audit: tuple[AuditEntry, ...]


async def incident_list(
    database: Database,
    *,
    statuses: Sequence[IncidentStatus] = (),
    kinds: Sequence[IncidentType] = (),
    segment_id: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[Incident]:
    """Incidents by the queue's order: tentative detections first, then open by severity
    (severe first) and age (oldest first), then cleared, then the rest newest first."""
    rank = case(
        *((IncidentRow.status == status.value, order) for status, order in _QUEUE_ORDER.items()),
        else_=3,
    )
    live = IncidentRow.status.in_([status.value for status in _QUEUE_ORDER])
    # Severity and age order the live ones only; closed and dismissed go newest first.
    severity = case(
        *(
            (live & (IncidentRow.severity == level.value), order)
            for level, order in _SEVERITY_ORDER.items()
        ),
        else_=3,
    )
    query = select(IncidentRow)
    if statuses:
        query = query.where(IncidentRow.status.in_([status.value for status in statuses]))
    if kinds:
        query = query.where(IncidentRow.kind.in_([kind.value for kind in kinds]))
    if segment_id:
        linked = select(IncidentSegmentRow.incident_id).where(
            IncidentSegmentRow.segment_id == segment_id
        )
        query = query.where(IncidentRow.id.in_(linked))
    if since is not None:
        query = query.where(IncidentRow.created_at >= since)
    age = case((live, IncidentRow.created_at), else_=None)
    ordered = query.order_by(rank, severity, age, IncidentRow.updated_at.desc(), IncidentRow.id)
    async with database.session() as session:
        rows = (await session.scalars(ordered.limit(min(limit, MAX_LIST)))).all()
    return [incident_of(row) for row in rows]


def queue_of(incidents: Sequence[Incident]) -> list[Incident]:
    """The live queue only: tentative and open (and cleared awaiting closure)."""
    return [incident for incident in incidents if incident.status in _QUEUE_ORDER]


async def incident_detail(database: Database, incident_id: str) -> IncidentDetail:
    async with database.session() as session:
        row = await session.get(IncidentRow, incident_id)
        if row is None:
            raise IncidentNotFoundError("There is no incident with this id.", field="incident_id")
        segments = (
            await session.execute(
                select(IncidentSegmentRow.segment_id, IncidentSegmentRow.role)
                .where(IncidentSegmentRow.incident_id == incident_id)
                .order_by(IncidentSegmentRow.role, IncidentSegmentRow.segment_id)
            )
        ).all()
        assignments = (
            await session.execute(
                select(DispatchRow, UnitRow.call_sign)
                .join(UnitRow, UnitRow.id == DispatchRow.unit_id)
                .where(DispatchRow.incident_id == incident_id)
                .order_by(DispatchRow.assigned_at, DispatchRow.id)
            )
        ).all()
        audit = (
            await session.scalars(
                select(AuditRow).where(AuditRow.incident_id == incident_id).order_by(AuditRow.id)
            )
        ).all()
    return IncidentDetail(
        incident=incident_of(row),
        segments=tuple((segment, role) for segment, role in segments),
        assignments=tuple(
            Assignment(
                unit_id=d.unit_id,
                call_sign=call_sign,
                assigned_at=d.assigned_at,
                assigned_by=d.assigned_by,
                accepted_at=d.accepted_at,
                arrived_at=d.arrived_at,
                ended_at=d.ended_at,
                end_reason=d.end_reason,
            )
            for d, call_sign in assignments
        ),
        audit=tuple(AuditEntry(a.at, a.actor, a.action, a.status, dict(a.change)) for a in audit),
    )


@dataclass(frozen=True)
class AffectedSegment:
    segment_id: str
    role: str  # "at" the incident, or "upstream" (its queue)
    incident_id: str
    status: str
    severity: str
    kind: str


async def affected_segments(database: Database) -> list[AffectedSegment]:
    """The segments tentative and open incidents affect, for the live map's layer."""
    query = (
        select(IncidentSegmentRow.segment_id, IncidentSegmentRow.role, IncidentRow)
        .join(IncidentRow, IncidentRow.id == IncidentSegmentRow.incident_id)
        .where(IncidentRow.status.in_([IncidentStatus.tentative.value, IncidentStatus.open.value]))
        .order_by(IncidentSegmentRow.segment_id, IncidentRow.created_at)
    )
    async with database.session() as session:
        rows = (await session.execute(query)).all()
    return [
        AffectedSegment(segment, role, row.id, row.status, row.severity, row.kind)
        for segment, role, row in rows
    ]
