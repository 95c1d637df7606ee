"""FIWARE Smart Data Models `TrafficFlowObserved`: one entity per segment and interval.

keyValues or NGSI-LD normalized (Property / GeoProperty / Relationship). Only measured
states are exported: an estimate is not an observation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shahr.traffic.domain.network import Segment
from shahr.traffic.domain.readings import iso
from shahr.traffic.domain.state import INTERVAL_S
from shahr.traffic.queries.state import SegmentStateView

CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld"
]


def road_segment_urn(city: str, segment_id: str) -> str:
    return f"urn:ngsi-ld:RoadSegment:{city}:{segment_id}"


def traffic_flow_observed(
    states: list[SegmentStateView],
    segments: dict[str, Segment],
    *,
    city: str,
    key_values: bool = True,
) -> list[dict[str, Any]]:
    """The measured states as TrafficFlowObserved entities."""
    entities = []
    for state in states:
        segment = segments.get(state.segment_id)
        if state.estimated or segment is None:
            continue
        start = state.interval_start
        end = start + timedelta(seconds=INTERVAL_S)
        plain: dict[str, Any] = {
            "id": f"urn:ngsi-ld:TrafficFlowObserved:{city}:{segment.id}:{int(start.timestamp())}",
            "type": "TrafficFlowObserved",
            "name": segment.name or segment.id,
            "dataProvider": "Shahr",
            "location": {
                "type": "LineString",
                "coordinates": [[p.lon, p.lat] for p in segment.geometry],
            },
            "refRoadSegment": road_segment_urn(city, segment.id),
            "dateObserved": f"{iso(start)}/{iso(end)}",
            "dateObservedFrom": iso(start),
            "dateObservedTo": iso(end),
            "intensity": round(state.flow_veh_h * INTERVAL_S / 3600.0, 2),
            "averageVehicleSpeed": round(state.speed_kmh, 2),
            "congested": state.los in ("E", "F"),
            "laneDirection": "forward",
        }
        if state.occupancy_pct is not None:
            plain["occupancy"] = round(min(max(state.occupancy_pct / 100.0, 0.0), 1.0), 4)
        entities.append(plain if key_values else normalized(plain))
    return entities


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
