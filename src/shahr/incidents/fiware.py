"""FIWARE Smart Data Models `Alert` (dataModel.Alert): one entity per confirmed incident.

category "traffic"; subCategory from the model's own enumeration: carAccident (crash),
carStopped (breakdown), roadWorks (roadwork, roadClosed when every lane is blocked),
hazardOnRoad (hazard), flood (flooding), trafficJam (other: what detection sees before an
operator names it). Severity on the model's scale: minor -> low, major -> medium,
severe -> high. keyValues, or NGSI-LD normalized (Property / GeoProperty / Relationship).
Tentative and dismissed incidents are not published: they are not known to be true.
"""

from __future__ import annotations

from typing import Any

from shahr.incidents.domain.incident import Incident, IncidentStatus, IncidentType, Severity

CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Alert/master/context.jsonld"
]
SUB_CATEGORY = {
    IncidentType.crash: "carAccident",
    IncidentType.breakdown: "carStopped",
    IncidentType.roadwork: "roadWorks",
    IncidentType.hazard: "hazardOnRoad",
    IncidentType.flooding: "flood",
    IncidentType.other: "trafficJam",
}
SEVERITY = {Severity.minor: "low", Severity.major: "medium", Severity.severe: "high"}
PUBLISHED = frozenset({IncidentStatus.open, IncidentStatus.cleared, IncidentStatus.closed})


def _iso(incident: Incident, moment: Any) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def sub_category(incident: Incident) -> str:
    every_lane_blocked = bool(incident.lanes) and incident.lanes_blocked == len(incident.lanes)
    if incident.kind is IncidentType.roadwork and every_lane_blocked:
        return "roadClosed"
    return SUB_CATEGORY[incident.kind]


def alert(incident: Incident, *, city: str) -> dict[str, Any]:
    """The incident as an Alert entity in keyValues form."""
    where = incident.location
    valid_to = incident.timeline.cleared or incident.ended_at
    plain: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Alert:{city}:incident:{incident.id}",
        "type": "Alert",
        "dataProvider": "Shahr",
        "category": "traffic",
        "subCategory": sub_category(incident),
        "severity": SEVERITY[incident.severity],
        "alertSource": f"urn:ngsi-ld:Shahr:{city}:{incident.source.value}",
        "location": {"type": "Point", "coordinates": [where.lon, where.lat]},
        "dateIssued": _iso(incident, incident.created_at),
        "validFrom": _iso(incident, incident.timeline.detected or incident.created_at),
        "dateModified": _iso(incident, incident.updated_at),
        "data": {
            "status": incident.status.value,
            "lanes": [lane.value for lane in incident.lanes],
            "direction": where.direction,
        },
    }
    if valid_to is not None:
        plain["validTo"] = _iso(incident, valid_to)
    if where.segment_id:
        plain["refRoadSegment"] = f"urn:ngsi-ld:RoadSegment:{city}:{where.segment_id}"
    return plain


def alerts(
    incidents: list[Incident], *, city: str, key_values: bool = True
) -> list[dict[str, Any]]:
    entities = [alert(i, city=city) for i in incidents if i.status in PUBLISHED]
    return entities if key_values else [normalized(entity) for entity in entities]


def normalized(plain: dict[str, Any]) -> dict[str, Any]:
    """keyValues to NGSI-LD normalized form."""
    entity: dict[str, Any] = {"id": plain["id"], "type": plain["type"], "@context": CONTEXT}
    for key, value in plain.items():
        if key in ("id", "type"):
            continue
        if key == "location":
            entity[key] = {"type": "GeoProperty", "value": value}
        elif key.startswith("ref"):
            entity[key] = {"type": "Relationship", "object": value}
        else:
            entity[key] = {"type": "Property", "value": value}
    return entity
