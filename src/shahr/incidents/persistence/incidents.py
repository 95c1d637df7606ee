"""Incidents, their audit trail and affected segments: domain values in and out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shahr.incidents.domain.errors import DispatchConflictError, IncidentNotFoundError
from shahr.incidents.domain.incident import (
    ACTIVE,
    Incident,
    IncidentStatus,
    IncidentType,
    LaneState,
    Location,
    Severity,
    Source,
)
from shahr.incidents.domain.timeline import Mark, Timeline
from shahr.incidents.persistence.tables import AuditRow, IncidentRow, IncidentSegmentRow


def incident_of(row: IncidentRow) -> Incident:
    return Incident(
        id=row.id,
        kind=IncidentType(row.kind),
        severity=Severity(row.severity),
        source=Source(row.source),
        status=IncidentStatus(row.status),
        location=Location(
            lon=row.lon,
            lat=row.lat,
            segment_id=row.segment_id,
            offset_m=row.offset_m,
            bearing_deg=row.bearing_deg,
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        lanes=tuple(LaneState(lane) for lane in row.lanes),
        camera_id=row.camera_id,
        description=row.description,
        timeline=Timeline(**{mark.value: getattr(row, f"{mark.value}_at") for mark in Mark}),
        ended_at=row.ended_at,
        evidence=dict(row.evidence or {}),
        version=row.version,
    )


def columns_of(incident: Incident) -> dict[str, Any]:
    """The incident's columns except its id and version."""
    where = incident.location
    return {
        "kind": incident.kind.value,
        "severity": incident.severity.value,
        "source": incident.source.value,
        "status": incident.status.value,
        "segment_id": where.segment_id,
        "offset_m": where.offset_m,
        "lon": where.lon,
        "lat": where.lat,
        "bearing_deg": where.bearing_deg,
        "lanes": [lane.value for lane in incident.lanes],
        "camera_id": incident.camera_id,
        "description": incident.description,
        "evidence": dict(incident.evidence),
        "ended_at": incident.ended_at,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        **{f"{mark.value}_at": incident.timeline.at(mark) for mark in Mark},
    }


class IncidentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, incident: Incident) -> None:
        self.session.add(
            IncidentRow(id=incident.id, version=incident.version, **columns_of(incident))
        )
        await self.session.flush()

    async def get(self, incident_id: str) -> Incident:
        row = await self.session.get(IncidentRow, incident_id, populate_existing=True)
        if row is None:
            raise IncidentNotFoundError("There is no incident with this id.", field="incident_id")
        return incident_of(row)

    async def save(self, incident: Incident) -> Incident:
        """Write `incident` over the version it was read at; refused if someone wrote first."""
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(IncidentRow)
            .where(IncidentRow.id == incident.id, IncidentRow.version == incident.version)
            .values(version=incident.version + 1, **columns_of(incident))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise DispatchConflictError(
                "Someone else changed this incident just now: look at it again and retry.",
                field="incident_id",
            )
        return await self._fresh(incident.id)

    async def _fresh(self, incident_id: str) -> Incident:
        row = (
            await self.session.execute(
                select(IncidentRow)
                .where(IncidentRow.id == incident_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        return incident_of(row)

    async def active_on_segment(self, segment_id: str) -> bool:
        found = await self.session.scalar(
            select(IncidentRow.id)
            .where(
                IncidentRow.segment_id == segment_id,
                IncidentRow.status.in_([status.value for status in ACTIVE]),
            )
            .limit(1)
        )
        return found is not None

    async def audit(
        self, incident: Incident, *, at: datetime, actor: str, action: str, change: dict[str, Any]
    ) -> None:
        self.session.add(
            AuditRow(
                incident_id=incident.id,
                at=at,
                actor=actor,
                action=action,
                status=incident.status.value,
                change=change,
            )
        )
        await self.session.flush()

    async def link_segments(self, incident_id: str, segments: Sequence[tuple[str, str]]) -> None:
        """Replace the incident's affected segments with `segments` ((segment id, role) pairs)."""
        await self.session.execute(
            delete(IncidentSegmentRow).where(IncidentSegmentRow.incident_id == incident_id)
        )
        seen: set[str] = set()
        for segment_id, role in segments:
            if segment_id not in seen:
                seen.add(segment_id)
                self.session.add(
                    IncidentSegmentRow(incident_id=incident_id, segment_id=segment_id, role=role)
                )
        await self.session.flush()
