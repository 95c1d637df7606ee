"""Incidents' API models: what the dashboard, the unit's phone page and other programs send
and receive. Ranges are checked by the domain, so a refusal reads the same in every
language and channel."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shahr.incidents.domain.incident import Incident, IncidentType, LaneState, Location, Severity
from shahr.incidents.domain.routing import Recommendation
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.domain.units import UnitKind, UnitStatus
from shahr.incidents.queries.board import UnitOnBoard
from shahr.incidents.queries.kpis import DayKpis
from shahr.incidents.queries.queue import IncidentDetail

LANES = "Per lane, from the kerb lane (0) outwards in the direction of travel"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocationIn(Strict):
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    segment_id: str | None = Field(default=None, max_length=200)
    offset_m: float = Field(
        default=0.0, allow_inf_nan=False, description="Metres from the segment's start"
    )
    bearing_deg: float | None = Field(
        default=None, allow_inf_nan=False, description="Direction of travel, clockwise from north"
    )

    def value(self) -> Location:
        return Location(**self.model_dump())


class IncidentCreate(Strict):
    kind: IncidentType
    severity: Severity = Severity.minor
    source: Literal["operator", "police_unit", "citizen_report"] = "operator"
    location: LocationIn
    lanes: list[LaneState] = Field(default_factory=list, max_length=12, description=LANES)
    camera_id: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", max_length=2000)
    occurred_at: datetime | None = None
    upstream_segments: list[str] = Field(default_factory=list, max_length=50)


class IncidentPatch(Strict):
    lanes: list[LaneState] | None = Field(default=None, max_length=12, description=LANES)
    severity: Severity | None = None
    kind: IncidentType | None = None
    camera_id: str | None = Field(default=None, max_length=120, description="Empty to remove")
    description: str | None = Field(default=None, max_length=2000)


class ActionIn(Strict):
    note: str = Field(default="", max_length=2000, description="Why (kept in the audit trail)")


class MarkIn(Strict):
    step: Mark
    at: datetime | None = Field(description="When; null to unset")


class DispatchIn(Strict):
    unit_id: str = Field(max_length=36)


class LocationOut(BaseModel):
    lon: float
    lat: float
    segment_id: str | None
    offset_m: float
    bearing_deg: float | None
    direction: str


class IncidentOut(BaseModel):
    id: str
    kind: IncidentType
    severity: Severity
    source: str
    status: str
    location: LocationOut
    lanes: list[LaneState] = Field(description=LANES)
    camera_id: str | None
    description: str
    timeline: dict[str, datetime | None] = Field(description="FHWA T0..T7 by name")
    roadway_clearance_s: float | None = Field(description="T5 - T1")
    incident_clearance_s: float | None = Field(description="T6 - T1")
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    evidence: dict[str, Any]

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        where = incident.location
        return cls(
            id=incident.id,
            kind=incident.kind,
            severity=incident.severity,
            source=incident.source.value,
            status=incident.status.value,
            location=LocationOut(
                lon=where.lon,
                lat=where.lat,
                segment_id=where.segment_id,
                offset_m=where.offset_m,
                bearing_deg=where.bearing_deg,
                direction=where.direction,
            ),
            lanes=list(incident.lanes),
            camera_id=incident.camera_id,
            description=incident.description,
            timeline=incident.timeline.as_dict(),
            roadway_clearance_s=incident.timeline.roadway_clearance_s,
            incident_clearance_s=incident.timeline.incident_clearance_s,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            ended_at=incident.ended_at,
            evidence=dict(incident.evidence),
        )


class AssignmentOut(BaseModel):
    unit_id: str
    call_sign: str
    assigned_at: datetime
    assigned_by: str
    accepted_at: datetime | None
    arrived_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    status: str
    change: dict[str, Any]


class IncidentDetailOut(IncidentOut):
    segments: list[dict[str, str]]
    assignments: list[AssignmentOut]
    audit: list[AuditOut]

    @classmethod
    def of_detail(cls, detail: IncidentDetail) -> IncidentDetailOut:
        return cls(
            **IncidentOut.of(detail.incident).model_dump(),
            segments=[{"segment_id": s, "role": role} for s, role in detail.segments],
            assignments=[AssignmentOut(**a.__dict__) for a in detail.assignments],
            audit=[AuditOut(**a.__dict__) for a in detail.audit],
        )


class UnitCreate(Strict):
    call_sign: str = Field(max_length=40)
    kind: UnitKind
    crew: list[str] = Field(default_factory=list, max_length=8)


class UnitStatusIn(Strict):
    status: UnitStatus = Field(
        description=(
            "en_route (accept), on_scene (arrived), returning (incident cleared), available "
            "(recall, or back in service), out_of_service; dispatched only through dispatch"
        )
    )


class PositionIn(Strict):
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    reported_at: datetime | None = Field(default=None, description="When the fix was taken")


class UnitOut(BaseModel):
    id: str
    call_sign: str
    kind: UnitKind
    crew: list[str]
    status: UnitStatus
    status_changed_at: datetime
    incident_id: str | None
    lon: float | None
    lat: float | None
    reported_at: datetime | None
    position_age_s: float | None
    stale: bool = Field(description="No position for longer than the stale limit")

    @classmethod
    def of(cls, board: UnitOnBoard) -> UnitOut:
        unit, where = board.unit, board.unit.position
        return cls(
            id=unit.id,
            call_sign=unit.call_sign,
            kind=unit.kind,
            crew=list(unit.crew),
            status=unit.status,
            status_changed_at=unit.status_changed_at,
            incident_id=unit.incident_id,
            lon=where.lon if where else None,
            lat=where.lat if where else None,
            reported_at=where.reported_at if where else None,
            position_age_s=board.position_age_s,
            stale=board.stale,
        )


class KpisOut(BaseModel):
    day: date
    incidents: int
    by_type: dict[str, int]
    by_source: dict[str, int]
    tentative: int
    dismissed: int = Field(description="False alarms: dismissed detections and reports")
    open: int
    cleared: int
    median_s: dict[str, float | None]
    secondary: int
    secondary_ids: list[str]

    @classmethod
    def of(cls, kpis: DayKpis) -> KpisOut:
        return cls(**{**kpis.__dict__, "secondary_ids": list(kpis.secondary_ids)})


class RecommendationOut(BaseModel):
    unit_id: str
    call_sign: str
    travel_s: float | None = Field(description="Over the roads at their current speeds")
    network_m: float | None
    straight_m: float
    position_age_s: float
    snapped_segment_id: str | None
    skipped: str | None = Field(
        description="null: ranked; else why not: unavailable, stale, off_network, unreachable"
    )
    off_road_m: float | None
    via: list[str] = Field(description="The named streets of the fastest way, in order")

    @classmethod
    def of(cls, recommendation: Recommendation, call_sign: str) -> RecommendationOut:
        return cls(
            **{**recommendation.__dict__, "via": list(recommendation.via)}, call_sign=call_sign
        )
