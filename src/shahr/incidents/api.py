"""Incidents' JSON API: the queue, one incident, reports and status moves, dispatch, units,
the day's KPIs, and the Open511 and FIWARE Alert exports."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shahr.incidents import fiware, open511
from shahr.incidents.domain.errors import (
    DispatchConflictError,
    IllegalMoveError,
    IncidentNotFoundError,
    InvalidIncidentError,
    InvalidUnitError,
    NoRoadNetworkError,
    OutsideCityError,
    UnitNotFoundError,
    UnitUnavailableError,
)
from shahr.incidents.domain.incident import Action, IncidentStatus, IncidentType, Source
from shahr.incidents.domain.routing import RoadNotInNetworkError
from shahr.incidents.domain.units import UnitStatus
from shahr.incidents.queries import board, kpis, queue
from shahr.incidents.schemas import (
    ActionIn,
    DispatchIn,
    IncidentCreate,
    IncidentDetailOut,
    IncidentOut,
    IncidentPatch,
    KpisOut,
    MarkIn,
    PositionIn,
    RecommendationOut,
    UnitCreate,
    UnitOut,
    UnitStatusIn,
)
from shahr.incidents.services import INCIDENTS, IncidentsPorts, incidents, units
from shahr.incidents.services import dispatch as dispatching
from shahr.kernel.access import Admits
from shahr.kernel.clock import in_tehran
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.deps import SettingsDep, wired
from shahr.kernel.web.instants import Instant

ERROR_STATUS: dict[type[DomainError], int] = {
    InvalidIncidentError: 422,
    InvalidUnitError: 422,
    OutsideCityError: 422,
    IllegalMoveError: 409,
    UnitUnavailableError: 409,
    DispatchConflictError: 409,
    IncidentNotFoundError: 404,
    UnitNotFoundError: 404,
    NoRoadNetworkError: 404,
    RoadNotInNetworkError: 404,
}

PUBLIC = Depends(Admits(public=True))
# Everyone in the command centre and the units on the street read and report.
STAFF = Depends(Admits(Role.traffic_operator, Role.police_unit, Role.admin))
# Deciding (confirm, dismiss, dispatch, close) is the operators'.
OPERATORS = Depends(Admits(Role.traffic_operator, Role.admin))
Staff = Annotated[Principal | None, STAFF]
Operator = Annotated[Principal | None, OPERATORS]
_LIST = {"schema": {"type": "array", "items": {"type": "object"}}}
_OBJECT = {"schema": {"type": "object"}}

router = APIRouter(prefix="/api/v1", tags=["incidents"])


async def _ports(request: Request) -> IncidentsPorts:
    return wired(request, INCIDENTS)


PortsDep = Annotated[IncidentsPorts, Depends(_ports)]


def actor_of(principal: Principal | None) -> str:
    return principal.id if principal else "anonymous"


TRANSITIONS = {
    Action.confirm: "Confirm a tentative incident (tentative -> open)",
    Action.dismiss: "Dismiss a false alarm (tentative -> dismissed; kept for counting)",
    Action.clear: "Clear an open incident (open -> cleared)",
    Action.reopen: "Reopen a cleared incident (cleared -> open)",
    Action.close: "Close a cleared incident (cleared -> closed)",
}


@router.get("/incidents", response_model=list[IncidentOut])
async def list_incidents(
    ports: PortsDep,
    _who: Staff,
    status: Annotated[list[IncidentStatus] | None, Query()] = None,
    kind: Annotated[list[IncidentType] | None, Query()] = None,
    segment_id: Annotated[str | None, Query(max_length=200)] = None,
    since: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=queue.MAX_LIST)] = 200,
) -> list[IncidentOut]:
    """The queue: tentative detections first, then open by severity (severe first) and age
    (oldest first), then cleared, then closed and dismissed (newest first)."""
    found = await queue.incident_list(
        ports.database,
        statuses=status or (),
        kinds=kind or (),
        segment_id=segment_id,
        since=since,
        limit=limit,
    )
    return [IncidentOut.of(incident) for incident in found]


@router.post("/incidents", response_model=IncidentOut, status_code=201)
async def report(body: IncidentCreate, ports: PortsDep, who: Staff) -> IncidentOut:
    """Report an incident: open when an operator or unit saw it, tentative for a citizen's."""
    source = Source(body.source)
    if who and not who.roles & {Role.traffic_operator, Role.admin} and source is Source.operator:
        source = Source.police_unit  # a unit on the street reports as a unit
    incident = await incidents.report_incident(
        ports.database,
        ports.clock,
        ports.bus,
        kind=body.kind,
        severity=body.severity,
        location=body.location.value(),
        source=source,
        actor=actor_of(who),
        lanes=[lane.value for lane in body.lanes],
        camera_id=body.camera_id,
        description=body.description,
        occurred_at=body.occurred_at,
        upstream_segments=body.upstream_segments,
        box=ports.box,
    )
    return IncidentOut.of(incident)


@router.get("/incident-kpis", response_model=KpisOut)
async def day_kpis(
    ports: PortsDep,
    _who: Staff,
    day: Annotated[
        date | None, Query(description="A Tehran calendar day; today by default")
    ] = None,
) -> KpisOut:
    """The day's incidents by type, false alarms, median FHWA times and secondary incidents."""
    asked = day or in_tehran(ports.clock.now()).date()
    return KpisOut.of(await kpis.day_kpis(ports.database, asked))


@router.get(
    "/incidents.open511",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={200: {"content": {"application/json": _OBJECT}}},
)
async def open511_events(request: Request, ports: PortsDep, settings: SettingsDep) -> Response:
    """Confirmed incidents as Open511 events (ACTIVE while open, ARCHIVED once cleared)."""
    found = await queue.incident_list(
        ports.database,
        statuses=(IncidentStatus.open, IncidentStatus.cleared, IncidentStatus.closed),
        limit=queue.MAX_LIST,
    )
    base = str(request.base_url).rstrip("/")
    document = open511.events(found, jurisdiction=settings.city, base_url=base)
    return Response(json.dumps(document, ensure_ascii=False), media_type="application/json")


@router.get(
    "/incidents/fiware/Alert",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={200: {"content": {"application/json": _LIST, "application/ld+json": _LIST}}},
)
async def fiware_alerts(
    ports: PortsDep,
    settings: SettingsDep,
    options: Literal["keyValues", "normalized"] = "keyValues",
) -> Response:
    """Confirmed incidents as FIWARE Alert entities (category traffic)."""
    found = await queue.incident_list(
        ports.database,
        statuses=(IncidentStatus.open, IncidentStatus.cleared, IncidentStatus.closed),
        limit=queue.MAX_LIST,
    )
    entities = fiware.alerts(found, city=settings.city, key_values=options == "keyValues")
    media = "application/json" if options == "keyValues" else "application/ld+json"
    return Response(json.dumps(entities, ensure_ascii=False), media_type=media)


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut)
async def one_incident(incident_id: str, ports: PortsDep, _who: Staff) -> IncidentDetailOut:
    """One incident with its affected segments, units sent, timeline and audit trail."""
    return IncidentDetailOut.of_detail(await queue.incident_detail(ports.database, incident_id))


@router.patch("/incidents/{incident_id}", response_model=IncidentOut)
async def change(incident_id: str, body: IncidentPatch, ports: PortsDep, who: Staff) -> IncidentOut:
    """Change the lanes, severity, type, camera or description of a live incident."""
    incident = await incidents.update(
        ports.database,
        ports.clock,
        ports.bus,
        incident_id,
        actor=actor_of(who),
        lanes=None if body.lanes is None else [lane.value for lane in body.lanes],
        severity=body.severity,
        kind=body.kind,
        camera_id=body.camera_id,
        description=body.description,
    )
    return IncidentOut.of(incident)


@router.post("/incidents/{incident_id}/marks", response_model=IncidentOut)
async def mark(incident_id: str, body: MarkIn, ports: PortsDep, who: Operator) -> IncidentOut:
    """Set or correct one step of the FHWA timeline (T0..T7)."""
    incident = await incidents.mark(
        ports.database,
        ports.clock,
        ports.bus,
        incident_id,
        actor=actor_of(who),
        step=body.step,
        at=body.at,
    )
    return IncidentOut.of(incident)


@router.post("/incidents/{incident_id}/dispatch", response_model=UnitOut)
async def send_unit(incident_id: str, body: DispatchIn, ports: PortsDep, who: Operator) -> UnitOut:
    """Send a unit: refused if the unit is busy or out of service, if the incident is not
    open, or if another dispatcher has just sent it (409)."""
    unit = await dispatching.dispatch(
        ports.database, ports.clock, ports.bus, incident_id, body.unit_id, actor=actor_of(who)
    )
    return UnitOut.of(board.on_board(unit, ports.clock.now(), ports.stale_after_s))


@router.get("/incidents/{incident_id}/recommendations", response_model=list[RecommendationOut])
async def recommendations(
    incident_id: str,
    ports: PortsDep,
    _who: Operator,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[RecommendationOut]:
    """The units that would arrive first by travel time over the roads at current speeds,
    then the nearest left out, each with why (stale, unavailable, off_network, unreachable)."""
    ranked = await dispatching.recommend(
        ports.database,
        ports.clock,
        ports.roads,
        incident_id,
        stale_after_s=ports.stale_after_s,
        limit=limit,
        graphs=ports.graphs,
    )
    signs = {
        u.unit.id: u.unit.call_sign
        for u in await board.units_board(ports.database, ports.clock.now())
    }
    return [RecommendationOut.of(r, signs.get(r.unit_id, "")) for r in ranked]


def _transition(action: Action) -> Any:
    async def move(
        incident_id: str, ports: PortsDep, who: Operator, body: ActionIn | None = None
    ) -> IncidentOut:
        incident = await incidents.move(
            ports.database,
            ports.clock,
            ports.bus,
            incident_id,
            action,
            actor=actor_of(who),
            note=body.note if body else "",
        )
        return IncidentOut.of(incident)

    return move


# One address per move: a path parameter would also answer other addresses under an incident,
# and an undeclared method there must be a 405 (decision 0032).
for _action, _summary in TRANSITIONS.items():
    router.add_api_route(
        f"/incidents/{{incident_id}}/{_action.value}",
        _transition(_action),
        methods=["POST"],
        response_model=IncidentOut,
        name=f"{_action.value}_incident",
        summary=_summary,
    )


@router.get("/units", response_model=list[UnitOut])
async def list_units(ports: PortsDep, _who: Staff) -> list[UnitOut]:
    """Every unit with its status and last position; `stale` when its phone went silent."""
    found = await board.units_board(
        ports.database, ports.clock.now(), stale_after_s=ports.stale_after_s
    )
    return [UnitOut.of(unit) for unit in found]


@router.post("/units", response_model=UnitOut, status_code=201)
async def register(body: UnitCreate, ports: PortsDep, who: Operator) -> UnitOut:
    unit = await units.register_unit(
        ports.database,
        ports.clock,
        ports.bus,
        call_sign=body.call_sign,
        kind=body.kind,
        crew=body.crew,
        actor=actor_of(who),
    )
    return UnitOut.of(board.on_board(unit, ports.clock.now(), ports.stale_after_s))


@router.get("/units/{unit_id}", response_model=UnitOut)
async def one_unit(unit_id: str, ports: PortsDep, _who: Staff) -> UnitOut:
    found = await board.unit_on_board(
        ports.database, unit_id, ports.clock.now(), stale_after_s=ports.stale_after_s
    )
    return UnitOut.of(found)


@router.post("/units/{unit_id}/status", response_model=UnitOut)
async def unit_status(unit_id: str, body: UnitStatusIn, ports: PortsDep, who: Staff) -> UnitOut:
    """The unit's own reports (en_route, on_scene, returning) or an operator's (available,
    out_of_service); `available` for a dispatched or en-route unit recalls it."""
    db, clock, bus, actor = ports.database, ports.clock, ports.bus, actor_of(who)
    now_unit = (await board.unit_on_board(db, unit_id, clock.now())).unit
    status = body.status
    if status is UnitStatus.en_route:
        unit = await dispatching.accept(db, clock, bus, unit_id, actor=actor)
    elif status is UnitStatus.on_scene:
        unit = await dispatching.arrived(db, clock, bus, unit_id, actor=actor)
    elif status is UnitStatus.returning:
        unit = await dispatching.unit_cleared(db, clock, bus, unit_id, actor=actor)
    elif status is UnitStatus.available and now_unit.status in (
        UnitStatus.dispatched,
        UnitStatus.en_route,
    ):
        unit = await dispatching.recall(db, clock, bus, unit_id, actor=actor)
    elif status is UnitStatus.dispatched:
        raise IllegalMoveError(
            "A unit is dispatched to an incident from the incident.", field="status"
        )
    else:
        unit = await units.set_unit_status(db, clock, bus, unit_id, status, actor=actor)
    return UnitOut.of(board.on_board(unit, clock.now(), ports.stale_after_s))


@router.post("/units/{unit_id}/position", response_model=UnitOut)
async def position(unit_id: str, body: PositionIn, ports: PortsDep, _who: Staff) -> UnitOut:
    """Where the unit is (from its phone page or an AVL feed); refused outside the city."""
    unit = await units.report_position(
        ports.database,
        ports.clock,
        ports.bus,
        unit_id,
        lon=body.lon,
        lat=body.lat,
        reported_at=body.reported_at,
        box=ports.box,
    )
    return UnitOut.of(board.on_board(unit, ports.clock.now(), ports.stale_after_s))


@router.post("/units/{unit_id}/lanes-reopened", response_model=IncidentOut)
async def lanes_reopened(unit_id: str, ports: PortsDep, who: Staff) -> IncidentOut:
    """The unit on the scene reports every lane open again (T5)."""
    incident = await dispatching.lanes_reopened(
        ports.database, ports.clock, ports.bus, unit_id, actor=actor_of(who)
    )
    return IncidentOut.of(incident)
