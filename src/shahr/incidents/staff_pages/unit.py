"""The police unit's phone page: its assignment, one button for the next step (accept,
arrived, lanes reopened, cleared, available again), and its position from the phone.

A phone belongs to a unit by choice: the unit is picked once from the list and remembered
in a cookie (a crew member's account, named in the unit's crew, finds it by itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from shahr.incidents.domain.units import UnitStatus
from shahr.incidents.queries import board, queue
from shahr.incidents.queries.board import UnitOnBoard
from shahr.incidents.services import IncidentsPorts, units
from shahr.incidents.services import dispatch as dispatching
from shahr.incidents.staff_pages import recommend, views
from shahr.incidents.staff_pages.dashboard import PortsDep, actor_of, said, status_of
from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError, NotFoundError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.deps import TemplatesDep
from shahr.kernel.web.i18n import gettext

UNIT_PAGE = "/staff/unit"
UNIT_COOKIE = "shahr_unit"
UNIT_COOKIE_MAX_AGE_S = 30 * 24 * 3600
Crew = Annotated[Principal | None, Depends(Admits(Role.police_unit, Role.admin))]

router = APIRouter(tags=["incidents pages"], include_in_schema=False)


class Step(StrEnum):
    """What the unit reports from its phone, in the order of a call-out."""

    accept = "accept"
    arrived = "arrived"
    lanes_reopened = "lanes-reopened"
    cleared = "cleared"
    available = "available"


STEP_LABELS = {
    Step.accept: "Accept and set off",
    Step.arrived: "Arrived on the scene",
    Step.lanes_reopened: "All lanes reopened",
    Step.cleared: "Scene cleared, leaving",
    Step.available: "Available again",
}
# What the unit may report in each status (the status machine decides in the end).
NEXT_STEPS = {
    UnitStatus.dispatched: (Step.accept,),
    UnitStatus.en_route: (Step.arrived,),
    UnitStatus.on_scene: (Step.lanes_reopened, Step.cleared),
    UnitStatus.returning: (Step.available,),
    UnitStatus.out_of_service: (Step.available,),
}


def _doer(step: Step) -> Callable[..., Awaitable[Any]]:
    if step is Step.accept:
        return dispatching.accept
    if step is Step.arrived:
        return dispatching.arrived
    if step is Step.lanes_reopened:
        return dispatching.lanes_reopened
    if step is Step.cleared:
        return dispatching.unit_cleared

    async def available(database: Any, clock: Any, bus: Any, unit_id: str, *, actor: str) -> Any:
        return await units.set_unit_status(
            database, clock, bus, unit_id, UnitStatus.available, actor=actor
        )

    return available


async def _find(ports: IncidentsPorts, who: Principal | None, wanted: str) -> UnitOnBoard | None:
    """The unit asked for, else the one whose crew names this account."""
    now = ports.clock.now()
    if wanted:
        try:
            return await board.unit_on_board(
                ports.database, wanted, now, stale_after_s=ports.stale_after_s
            )
        except NotFoundError:
            return None
    if who is None:
        return None
    every = await board.units_board(ports.database, now, stale_after_s=ports.stale_after_s)
    names = {who.id, who.display_name}
    return next((u for u in every if names & set(u.unit.crew)), None)


async def render(
    request: Request,
    ports: IncidentsPorts,
    templates: TemplatesDep,
    who: Principal | None,
    *,
    wanted: str,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    found = await _find(ports, who, wanted)
    detail, street = None, None
    if found is not None and found.unit.incident_id is not None:
        detail = await queue.incident_detail(ports.database, found.unit.incident_id)
        if detail.incident.location.segment_id:
            street = await recommend.street(ports.roads, detail.incident.location.segment_id)
    now = ports.clock.now()
    context = {
        "found": found,
        "detail": detail,
        "street": street,
        "steps": NEXT_STEPS.get(found.unit.status, ()) if found else (),
        "step_labels": STEP_LABELS,
        "every": [] if found else await board.units_board(ports.database, now),
        "labels": views.LABELS,
        "refusal": refusal,
    }
    response = templates.render(request, "incidents/unit.html", context, status_code=status_code)
    if found is not None and request.cookies.get(UNIT_COOKIE) != found.unit.id:
        response.set_cookie(
            UNIT_COOKIE, found.unit.id, max_age=UNIT_COOKIE_MAX_AGE_S, httponly=True,
            samesite="lax", secure=request.url.scheme == "https",
        )  # fmt: skip
    return response


@router.get(UNIT_PAGE)
async def unit_page(
    request: Request,
    ports: PortsDep,
    templates: TemplatesDep,
    who: Crew,
    unit: Annotated[str, Query(max_length=64)] = "",
    choose: Annotated[bool, Query()] = False,
) -> Response:
    """The unit's assignment and its next step, on a phone (`choose`: pick another unit)."""
    if choose:
        return await render(request, ports, templates, None, wanted="")
    wanted = unit or request.cookies.get(UNIT_COOKIE, "")
    return await render(request, ports, templates, who, wanted=wanted)


@router.post(UNIT_PAGE + "/{unit_id}/{step}")
async def report_step(
    request: Request,
    unit_id: str,
    step: str,
    ports: PortsDep,
    templates: TemplatesDep,
    who: Crew,
) -> Response:
    """One step of the call-out, reported by the unit; a refused one is said, nothing changes."""
    if step not in set(Step):
        refusal = gettext("This step is not one a unit reports.")
        return await render(
            request, ports, templates, who, wanted=unit_id, refusal=refusal, status_code=422
        )
    try:
        await _doer(Step(step))(
            ports.database, ports.clock, ports.bus, unit_id, actor=actor_of(who)
        )
    except DomainError as error:
        return await render(
            request, ports, templates, who, wanted=unit_id,
            refusal=said(error), status_code=status_of(error),
        )  # fmt: skip
    return RedirectResponse(f"{UNIT_PAGE}?unit={unit_id}", status_code=303)
