"""Traffic's pages: the live map for citizens and staff, and detector health for operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shahr.kernel.access import Admits, current_principal
from shahr.kernel.principals import Role
from shahr.kernel.web.deps import ClockDep, DatabaseDep, SettingsDep, TemplatesDep
from shahr.kernel.web.i18n import gettext
from shahr.kernel.web.paging import PAGING_MESSAGES, page_link, page_number
from shahr.traffic.api import live_states
from shahr.traffic.domain.detectors import DetectorHealth, DetectorKind, Fault
from shahr.traffic.queries.detector_health import detector_health_board
from shahr.traffic.queries.indices import district_cards
from shahr.traffic.staff_pages import router as inventory_router

PUBLIC = Depends(Admits(public=True))
STAFF_ROLES = {Role.traffic_operator, Role.police_unit, Role.admin}

router = APIRouter(tags=["traffic pages"])
router.include_router(inventory_router)


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
        "tile_attribution": settings.tile_attribution,
    }
    return templates.render(request, "traffic/live.html", context)


# --- detector health, for traffic operators ---

DETECTORS_PAGE = "/staff/traffic/detectors"
OPERATORS = Depends(Admits(Role.traffic_operator, Role.admin))


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


HEALTH_LABELS = {
    DetectorHealth.ok: _("Working"),
    DetectorHealth.failed: _("Faulty"),
    DetectorHealth.silent: _("Silent"),
}
FAULT_LABELS = {
    Fault.too_many_vehicles: _("Counts more vehicles than a lane can carry"),
    Fault.occupancy_stuck: _("Occupancy stuck at full"),
    Fault.no_vehicles: _("No vehicles for hours"),
    Fault.sudden_jumps: _("Counts jump from one interval to the next"),
    Fault.silent: _("Nothing received for a while"),
}
KIND_LABELS = {
    DetectorKind.loop: _("Loop"),
    DetectorKind.counting_camera: _("Counting camera"),
    DetectorKind.plate_camera: _("Plate camera"),
}
FILTER_MESSAGES = {"health": "Choose faulty or silent from the list."}


@router.get(DETECTORS_PAGE, dependencies=[OPERATORS], include_in_schema=False)
async def detector_health(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    settings: SettingsDep,
    health: Annotated[str, Query()] = "",
    page: Annotated[str, Query()] = "",
) -> Response:
    """Detectors on a map by health, and the failed and silent ones: why, and since when."""
    errors: dict[str, str] = {}
    wanted: DetectorHealth | None = None
    if health.strip():
        try:
            wanted = DetectorHealth(health.strip())
        except ValueError:
            errors["health"] = gettext(FILTER_MESSAGES["health"])
    chosen_page = page_number(page)
    if chosen_page is None:
        errors["page"] = gettext(PAGING_MESSAGES["page"])
    board = await detector_health_board(database, health=wanted, page=chosen_page or 1)
    values = {"health": wanted.value if wanted else ""}
    context = {
        "board": board,
        "values": values,
        "errors": errors,
        "health_labels": HEALTH_LABELS,
        "fault_labels": FAULT_LABELS,
        "kind_labels": KIND_LABELS,
        "fault_labels_translated": {f.value: gettext(m) for f, m in FAULT_LABELS.items()},
        "tile_url": settings.tile_url or "",
        "page_link": lambda number: page_link(DETECTORS_PAGE, values, number),
    }
    status = 400 if errors else 200
    return templates.render(request, "traffic/detectors.html", context, status_code=status)
