"""Reporting an incident from the dashboard: a click on the map (placed on the nearest
street) or a street picked from the list, the type, severity and lanes.

Each bad field gets its own error beside it, in the operator's language, and nothing is
stored until every field is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shahr.incidents.domain.incident import (
    MAX_DESCRIPTION,
    MAX_LANES,
    IncidentType,
    LaneState,
    Location,
    Severity,
    Source,
)
from shahr.incidents.services import IncidentsPorts, incidents
from shahr.incidents.staff_pages import recommend
from shahr.incidents.staff_pages.dashboard import (
    DASHBOARD_PAGE,
    PortsDep,
    Viewer,
    actor_of,
    render,
    said,
)
from shahr.kernel.errors import DomainError
from shahr.kernel.persian import ascii_digits, normalise
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.deps import SettingsDep, TemplatesDep
from shahr.kernel.web.i18n import gettext

REPORT_PATH = DASHBOARD_PAGE + "/report"

REPORT_MESSAGES = {
    "kind": "Choose the type of incident.",
    "severity": "Choose how severe it is.",
    "lanes": "Give the number of lanes, from 0 to 12.",
    "blocked": "Blocked lanes are between 0 and the number of lanes.",
    "place": "Click the map where it happened, or pick a street from the list.",
    "street": "This street is not on the road network: pick one from the list.",
    "far": "No street within 200 m of the point on the map: click on a street.",
    "number": "The point on the map is not a longitude and latitude.",
    "description": "A description has at most 2000 characters.",
}

router = APIRouter(tags=["incidents pages"], include_in_schema=False)


@dataclass
class Draft:
    """The form as typed, and what is wrong with it, field by field."""

    values: dict[str, str]
    errors: dict[str, str]


def _count(text: str, *, low: int, high: int) -> int | None:
    try:
        number = int(ascii_digits(text.strip() or "0"))
    except ValueError:
        return None
    return number if low <= number <= high else None


def _choices(draft: Draft) -> tuple[IncidentType | None, Severity | None, list[str]]:
    values, errors = draft.values, draft.errors
    kind = IncidentType(values["kind"]) if values["kind"] in set(IncidentType) else None
    if kind is None:
        errors["kind"] = gettext(REPORT_MESSAGES["kind"])
    severity = Severity(values["severity"]) if values["severity"] in set(Severity) else None
    if severity is None:
        errors["severity"] = gettext(REPORT_MESSAGES["severity"])
    lanes = _count(values["lanes"], low=0, high=MAX_LANES)
    blocked = _count(values["blocked"], low=0, high=lanes if lanes is not None else MAX_LANES)
    if lanes is None:
        errors["lanes"] = gettext(REPORT_MESSAGES["lanes"])
    elif blocked is None:
        errors["blocked"] = gettext(REPORT_MESSAGES["blocked"])
    # Lane 0 is the kerb lane: a stopped car blocks the kerb side first.
    states = [LaneState.blocked.value] * (blocked or 0)
    states += [LaneState.clear.value] * ((lanes or 0) - (blocked or 0))
    if len(values["description"]) > MAX_DESCRIPTION:
        errors["description"] = gettext(REPORT_MESSAGES["description"])
    return kind, severity, states


async def _place(ports: IncidentsPorts, draft: Draft) -> Location | None:
    """Where: the picked street's middle, or the clicked point placed on its street."""
    values, errors = draft.values, draft.errors
    if values["segment_id"]:
        street = await recommend.street(ports.roads, values["segment_id"])
        if street is None:
            errors["segment_id"] = gettext(REPORT_MESSAGES["street"])
            return None
        return Location(street.lon, street.lat, street.segment_id, street.offset_m)
    if not (values["lon"] and values["lat"]):
        errors["place"] = gettext(REPORT_MESSAGES["place"])
        return None
    try:
        lon, lat = float(ascii_digits(values["lon"])), float(ascii_digits(values["lat"]))
        ports.box.check(lon, lat)
    except ValueError:
        errors["place"] = gettext(REPORT_MESSAGES["number"])
        return None
    except DomainError as error:
        errors["place"] = said(error)
        return None
    if ports.roads is None:
        return Location(lon, lat)  # no network to place it on: the point alone
    placed = await recommend.place_click(ports.roads, ports, lon, lat)
    if placed is None:
        errors["place"] = gettext(REPORT_MESSAGES["far"])
        return None
    return Location(placed.lon, placed.lat, placed.place.segment_id, placed.place.offset_m)


def source_of(who: Principal | None) -> Source:
    if who is not None and Role.police_unit in who.roles and Role.traffic_operator not in who.roles:
        return Source.police_unit
    return Source.operator


@router.post(REPORT_PATH)
async def report(
    request: Request,
    ports: PortsDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    who: Viewer,
    kind: Annotated[str, Form(max_length=20)] = "",
    severity: Annotated[str, Form(max_length=20)] = "",
    lanes: Annotated[str, Form(max_length=4)] = "",
    blocked: Annotated[str, Form(max_length=4)] = "",
    segment_id: Annotated[str, Form(max_length=200)] = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """A new incident, open at once (the operator or unit saw it)."""
    values = {
        "kind": kind, "severity": severity, "lanes": lanes, "blocked": blocked,
        "segment_id": segment_id.strip(), "lon": lon.strip(), "lat": lat.strip(),
        "description": normalise(description).strip(),
    }  # fmt: skip
    draft = Draft(values, {})
    chosen_kind, chosen_severity, lane_states = _choices(draft)
    location = await _place(ports, draft)
    if draft.errors or chosen_kind is None or chosen_severity is None or location is None:
        return await render(
            request, ports, templates, settings, errors=draft.errors, values=values,
            status_code=422,
        )  # fmt: skip
    try:
        incident = await incidents.report_incident(
            ports.database, ports.clock, ports.bus, kind=chosen_kind, severity=chosen_severity,
            location=location, source=source_of(who), actor=actor_of(who), lanes=lane_states,
            description=values["description"], box=ports.box,
        )  # fmt: skip
    except DomainError as error:
        draft.errors[error.field if error.field in values else "place"] = said(error)
        return await render(
            request, ports, templates, settings, errors=draft.errors, values=values,
            status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"{DASHBOARD_PAGE}?incident={incident.id}", status_code=303)
