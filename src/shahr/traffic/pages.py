"""Traffic's pages: the live map for citizens and staff."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shahr.kernel.access import Admits, current_principal
from shahr.kernel.principals import Role
from shahr.kernel.web.deps import ClockDep, DatabaseDep, SettingsDep, TemplatesDep
from shahr.traffic.api import live_states
from shahr.traffic.queries.indices import district_cards

PUBLIC = Depends(Admits(public=True))
STAFF_ROLES = {Role.traffic_operator, Role.police_unit, Role.admin}

router = APIRouter(tags=["traffic pages"])


@router.get("/traffic", dependencies=[PUBLIC], include_in_schema=False)
async def live_map(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Tehran's streets coloured by level of service, live, with the districts' indices."""
    view = await live_states(request).view()
    cards = await district_cards(database, view.snapshot, now=clock.now())
    principal = await current_principal(request)
    staff = principal is not None and bool(principal.roles & STAFF_ROLES)
    measured = sum(1 for s in view.snapshot.states if not s.estimated)
    context = {
        "interval_start": view.snapshot.interval_start,
        "segments": len(view.snapshot.registry.segments),
        "measured": measured,
        "estimated": len(view.snapshot.states) - measured,
        "cards": cards,
        "staff": staff,
        "tile_url": settings.tile_url or "",
    }
    return templates.render(request, "traffic/live.html", context)
