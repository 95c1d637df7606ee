"""The command dashboard: the live map, the queue (tentative detections first), one incident
in full with the units recommended for it, and the day's KPIs; confirm, dismiss, dispatch.

Every action is a plain form that comes back to the page (post, redirect, get); a refusal
(the unit another dispatcher has just sent, an incident cleared meanwhile) is said on the
page in the operator's language, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shahr.incidents.domain.incident import IncidentStatus
from shahr.incidents.queries import board, kpis, queue
from shahr.incidents.services import INCIDENTS, IncidentsPorts, incidents
from shahr.incidents.services import dispatch as dispatching
from shahr.incidents.staff_pages import recommend, views
from shahr.incidents.staff_pages.feed import EVENTS_PATH, VIEWERS
from shahr.kernel.access import Admits
from shahr.kernel.clock import in_tehran
from shahr.kernel.errors import ConflictError, DomainError, NotFoundError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.deps import SettingsDep, TemplatesDep, wired
from shahr.kernel.web.i18n import gettext

DASHBOARD_PAGE = "/staff/incidents"
LIVE = (IncidentStatus.tentative, IncidentStatus.open, IncidentStatus.cleared)
QUEUE_SHOWN = 100
CAMERAS_SHOWN = 3
Viewer = Annotated[Principal | None, Depends(Admits(*VIEWERS))]
Operator = Annotated[Principal | None, Depends(Admits(Role.traffic_operator, Role.admin))]

router = APIRouter(tags=["incidents pages"], include_in_schema=False)


async def _ports(request: Request) -> IncidentsPorts:
    return wired(request, INCIDENTS)


PortsDep = Annotated[IncidentsPorts, Depends(_ports)]


def actor_of(principal: Principal | None) -> str:
    return principal.id if principal else "anonymous"


def status_of(error: DomainError) -> int:
    if isinstance(error, NotFoundError):
        return 404
    return 409 if isinstance(error, ConflictError) else 422


def said(error: DomainError) -> str:
    """A refusal in the page's language."""
    return gettext(error.message, **error.params)


async def _cameras(ports: IncidentsPorts, lon: float, lat: float) -> list[Any]:
    """The nearest cameras (H4's CameraDirectory), none when the directory is not wired."""
    if ports.cameras is None:
        return []
    return list(await ports.cameras.nearest(lon, lat, limit=CAMERAS_SHOWN))


async def _selected(ports: IncidentsPorts, wanted: str, shown: list[Any]) -> dict[str, Any]:
    """The incident in the panel (the one asked for, else the queue's first) and its parts."""
    chosen = wanted or (shown[0].id if shown else "")
    if not chosen:
        return {"detail": None}
    try:
        detail = await queue.incident_detail(ports.database, chosen)
    except NotFoundError:
        return {"detail": None, "missing": True}
    incident = detail.incident
    ranked = None
    if incident.status is IncidentStatus.open:
        ranked = await recommend.recommend(ports, incident)
    return {
        "detail": detail,
        "timeline": views.timeline_of(incident),
        "recommended": ranked,
        "cameras": await _cameras(ports, incident.location.lon, incident.location.lat),
    }


async def render(
    request: Request,
    ports: IncidentsPorts,
    templates: TemplatesDep,
    settings: SettingsDep,
    *,
    wanted: str = "",
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    now = ports.clock.now()
    shown = await queue.incident_list(ports.database, statuses=LIVE, limit=QUEUE_SHOWN)
    units = await board.units_board(ports.database, now, stale_after_s=ports.stale_after_s)
    panel = await _selected(ports, wanted, shown)
    detail = panel["detail"]
    context = {
        **panel,
        "queue": shown,
        "units": {u.unit.id: u for u in units},
        "kpis": await kpis.day_kpis(ports.database, in_tehran(now).date()),
        "today": in_tehran(now),
        "streets": await recommend.streets(ports.roads),
        "has_roads": ports.roads is not None,
        "labels": views.LABELS,
        "minutes": views.minutes,
        "errors": errors or {},
        "values": values or {},
        "refusal": refusal,
        "tile_url": settings.tile_url or "",
        "events_url": EVENTS_PATH,
        "map_data": {
            "incidents": [views.incident_marker(i) for i in shown],
            "units": views.unit_markers(units),
            "selected": views.incident_marker(detail.incident) if detail else None,
            "cameras": [
                {"id": c.camera_id, "name": c.name, "lon": c.lon, "lat": c.lat}
                for c in panel.get("cameras", [])
            ],
        },
    }
    return templates.render(request, "incidents/dashboard.html", context, status_code=status_code)


@router.get(DASHBOARD_PAGE)
async def dashboard(
    request: Request,
    ports: PortsDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    _who: Viewer,
    incident: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The command centre's screen: map, queue, the chosen incident, the day's figures."""
    return await render(request, ports, templates, settings, wanted=incident)


def back_to(incident_id: str) -> RedirectResponse:
    return RedirectResponse(f"{DASHBOARD_PAGE}?incident={incident_id}", status_code=303)


@router.post(DASHBOARD_PAGE + "/{incident_id}/confirm")
async def confirm(
    request: Request,
    incident_id: str,
    ports: PortsDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    who: Operator,
) -> Response:
    """A tentative incident is real: open it (T2), ready for dispatch."""
    try:
        await incidents.confirm(
            ports.database, ports.clock, ports.bus, incident_id, actor=actor_of(who)
        )
    except DomainError as error:
        return await render(
            request, ports, templates, settings, wanted=incident_id,
            refusal=said(error), status_code=status_of(error),
        )  # fmt: skip
    return back_to(incident_id)


@router.post(DASHBOARD_PAGE + "/{incident_id}/dismiss")
async def dismiss(
    request: Request,
    incident_id: str,
    ports: PortsDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    who: Operator,
) -> Response:
    """A false alarm: dismissed and kept, so false alarms are counted."""
    try:
        await incidents.dismiss(
            ports.database, ports.clock, ports.bus, incident_id, actor=actor_of(who)
        )
    except DomainError as error:
        return await render(
            request, ports, templates, settings, wanted=incident_id,
            refusal=said(error), status_code=status_of(error),
        )  # fmt: skip
    return RedirectResponse(DASHBOARD_PAGE, status_code=303)


@router.post(DASHBOARD_PAGE + "/{incident_id}/dispatch")
async def send_unit(
    request: Request,
    incident_id: str,
    ports: PortsDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    who: Operator,
    unit_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Send the chosen unit; the dispatcher who loses a race is told, and nothing changes."""
    try:
        await dispatching.dispatch(
            ports.database, ports.clock, ports.bus, incident_id, unit_id, actor=actor_of(who)
        )
    except DomainError as error:
        refusal = gettext("The unit was not sent: {reason}", reason=said(error))
        return await render(
            request, ports, templates, settings, wanted=incident_id,
            refusal=refusal, status_code=status_of(error),
        )  # fmt: skip
    return back_to(incident_id)
