"""What the dashboard and the unit's page say about incidents and units: labels and rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shahr.incidents.domain.incident import (
    Incident,
    IncidentStatus,
    IncidentType,
    LaneState,
    Severity,
    Source,
)
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.domain.units import UnitKind, UnitStatus
from shahr.incidents.queries.board import UnitOnBoard
from shahr.kernel.web.i18n import gettext


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


KIND_LABELS = {
    IncidentType.crash: _("Crash"),
    IncidentType.breakdown: _("Breakdown"),
    IncidentType.roadwork: _("Roadwork"),
    IncidentType.hazard: _("Hazard"),
    IncidentType.flooding: _("Flooding"),
    IncidentType.other: _("Other incident"),
}
SEVERITY_LABELS = {
    Severity.minor: _("Minor"),
    Severity.major: _("Major"),
    Severity.severe: _("Severe"),
}
STATUS_LABELS = {
    IncidentStatus.tentative: _("Tentative: to confirm"),
    IncidentStatus.open: _("Open"),
    IncidentStatus.dismissed: _("Dismissed"),
    IncidentStatus.cleared: _("Cleared"),
    IncidentStatus.closed: _("Closed"),
}
SOURCE_LABELS = {
    Source.operator: _("Operator"),
    Source.police_unit: _("Police unit"),
    Source.citizen_report: _("Citizen report"),
    Source.detection: _("Automatic detection"),
}
LANE_LABELS = {
    LaneState.blocked: _("Blocked"),
    LaneState.affected: _("Affected"),
    LaneState.clear: _("Clear"),
}
MARK_LABELS = {
    Mark.occurred: _("Occurred"),
    Mark.detected: _("Detected"),
    Mark.verified: _("Verified"),
    Mark.dispatched: _("Unit dispatched"),
    Mark.arrived: _("Unit arrived"),
    Mark.lanes_reopened: _("Lanes reopened"),
    Mark.cleared: _("Cleared"),
    Mark.normal_flow: _("Normal flow"),
}
UNIT_KIND_LABELS = {
    UnitKind.patrol_car: _("Patrol car"),
    UnitKind.motorcycle: _("Motorcycle"),
    UnitKind.tow_truck: _("Tow truck"),
    UnitKind.ambulance_liaison: _("Ambulance liaison"),
}
UNIT_STATUS_LABELS = {
    UnitStatus.available: _("Available"),
    UnitStatus.dispatched: _("Dispatched"),
    UnitStatus.en_route: _("En route"),
    UnitStatus.on_scene: _("On scene"),
    UnitStatus.returning: _("Returning"),
    UnitStatus.out_of_service: _("Out of service"),
}
SKIP_LABELS = {
    "unavailable": _("Busy or out of service"),
    "stale": _("Position too old: the phone went silent"),
    "off_network": _("Too far from any road"),
    "unreachable": _("No way over the roads to the incident"),
}
AUDIT_LABELS = {
    "report": _("Reported"),
    "confirm": _("Confirmed"),
    "dismiss": _("Dismissed"),
    "clear": _("Cleared"),
    "reopen": _("Reopened"),
    "close": _("Closed"),
    "update": _("Changed"),
    "mark": _("Timeline marked"),
    "dispatch": _("Unit dispatched"),
    "recall": _("Unit recalled"),
}
KPI_LABELS = {
    "to_detect": _("Time to detect"),
    "to_verify": _("Time to verify"),
    "to_dispatch": _("Time to dispatch"),
    "to_arrive": _("Time to arrive"),
    "roadway_clearance": _("Roadway clearance"),
    "incident_clearance": _("Incident clearance"),
}
LABELS = {
    "kinds": KIND_LABELS,
    "severities": SEVERITY_LABELS,
    "statuses": STATUS_LABELS,
    "sources": SOURCE_LABELS,
    "lanes": LANE_LABELS,
    "marks": MARK_LABELS,
    "unit_kinds": UNIT_KIND_LABELS,
    "unit_statuses": UNIT_STATUS_LABELS,
    "skips": SKIP_LABELS,
    "audit": AUDIT_LABELS,
    "kpis": KPI_LABELS,
}


@dataclass(frozen=True)
class Step:
    """One line of the FHWA timeline: T-number, what, when (None while not yet)."""

    number: int
    mark: Mark
    at: datetime | None


def timeline_of(incident: Incident) -> list[Step]:
    return [Step(number, mark, incident.timeline.at(mark)) for number, mark in enumerate(Mark)]


def minutes(seconds: float | None) -> float | None:
    """Seconds as minutes for the page (one decimal), None kept."""
    return None if seconds is None else round(seconds / 60.0, 1)


def incident_marker(incident: Incident) -> dict[str, Any]:
    """What the map draws for an incident."""
    return {
        "id": incident.id,
        "kind": incident.kind.value,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "lon": incident.location.lon,
        "lat": incident.location.lat,
        "label": gettext(KIND_LABELS[incident.kind])
        + gettext(", ")
        + gettext(STATUS_LABELS[incident.status]),
    }


def unit_markers(units: Sequence[UnitOnBoard]) -> list[dict[str, Any]]:
    """What the map draws for each unit that has reported a position."""
    return [
        {
            "id": u.unit.id,
            "call_sign": u.unit.call_sign,
            "status": u.unit.status.value,
            "stale": u.stale,
            "lon": u.unit.position.lon,
            "lat": u.unit.position.lat,
            "label": u.unit.call_sign + gettext(", ") + gettext(UNIT_STATUS_LABELS[u.unit.status]),
        }
        for u in units
        if u.unit.position is not None
    ]
