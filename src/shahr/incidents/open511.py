"""Open511 events (open511.org, v1) for the confirmed incidents, as JSON.

status ACTIVE while open, ARCHIVED once cleared or closed; event_type INCIDENT (roadwork
CONSTRUCTION, flooding WEATHER_CONDITION); severity minor/major/severe as MINOR/MODERATE/
MAJOR; geography a GeoJSON Point; roads with their direction of travel and lane state
(CLOSED when every lane is blocked, SOME_LANES_CLOSED, ALL_LANES_OPEN). The headline is
made from the type, never an operator's free text. Tentative and dismissed incidents are
not published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shahr.incidents.domain.incident import Incident, IncidentStatus, IncidentType, Severity

SEVERITY = {Severity.minor: "MINOR", Severity.major: "MODERATE", Severity.severe: "MAJOR"}
EVENT_TYPE = {IncidentType.roadwork: "CONSTRUCTION", IncidentType.flooding: "WEATHER_CONDITION"}
HEADLINE = {
    IncidentType.crash: "Crash",
    IncidentType.breakdown: "Broken-down vehicle",
    IncidentType.roadwork: "Roadwork",
    IncidentType.hazard: "Hazard on the road",
    IncidentType.flooding: "Flooding",
    IncidentType.other: "Incident",
}
STATUS = {
    IncidentStatus.open: "ACTIVE",
    IncidentStatus.cleared: "ARCHIVED",
    IncidentStatus.closed: "ARCHIVED",
}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _road(incident: Incident) -> dict[str, Any]:
    lanes = incident.lanes
    blocked = incident.lanes_blocked
    if lanes and blocked == len(lanes):
        state = "CLOSED"
    elif blocked:
        state = "SOME_LANES_CLOSED"
    else:
        state = "ALL_LANES_OPEN"
    road: dict[str, Any] = {"direction": incident.location.direction, "state": state}
    if lanes:
        road["lanes_closed"] = blocked
        road["lanes_open"] = len(lanes) - blocked
    if incident.location.segment_id:
        road["name"] = incident.location.segment_id
    return road


def event(incident: Incident, *, jurisdiction: str, base_url: str) -> dict[str, Any]:
    where = incident.location
    start = incident.timeline.detected or incident.created_at
    end = incident.timeline.cleared
    return {
        "id": f"{jurisdiction}/{incident.id}",
        "url": f"{base_url}/api/v1/incidents/{incident.id}",
        "jurisdiction_url": f"{base_url}/api/v1/incidents.open511",
        "status": STATUS[incident.status],
        "headline": HEADLINE[incident.kind],
        "event_type": EVENT_TYPE.get(incident.kind, "INCIDENT"),
        "severity": SEVERITY[incident.severity],
        "geography": {"type": "Point", "coordinates": [where.lon, where.lat]},
        "roads": [_road(incident)],
        "schedule": {"intervals": [f"{_iso(start)}/{_iso(end) if end else ''}"]},
        "created": _iso(incident.created_at),
        "updated": _iso(incident.updated_at),
    }


def events(incidents: list[Incident], *, jurisdiction: str, base_url: str) -> dict[str, Any]:
    """The Open511 events document: `events` and `meta`."""
    published = [
        event(incident, jurisdiction=jurisdiction, base_url=base_url)
        for incident in incidents
        if incident.status in STATUS
    ]
    return {"events": published, "meta": {"version": "v1"}}
