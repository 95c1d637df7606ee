"""Staff review disability permits: the list (pending first), each permit's photo, and
approving or rejecting it. Open to parking operators and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse

from shahr.identity import queries, services
from shahr.identity.api import required
from shahr.identity.domain import PermitNotFoundError, PermitState
from shahr.identity.pages.vehicles import (
    PERMIT_STATE_LABELS,
    FormText,
    jalali_day,
    status_for,
)
from shahr.kernel.access import Admits
from shahr.kernel.clock import in_tehran
from shahr.kernel.errors import DomainError
from shahr.kernel.plate_input import plate_parts
from shahr.kernel.plates import parse_vehicle_plate
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import ClockDep, DatabaseDep, TemplatesDep

PERMITS_PATH = "/staff/parking/permits"
REVIEWERS = frozenset({Role.parking_operator, Role.admin})
ReviewerCaller = Annotated[Principal | None, Depends(Admits(*REVIEWERS))]

router = APIRouter(tags=["pages"], include_in_schema=False)


async def _permits_page(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    today = in_tehran(clock.now()).date()
    permits = await queries.permits_to_review(database)
    plates: dict[str, str] = {
        v.id: v.plate
        for citizen_id in {p.citizen_id for p in permits}
        for v in await queries.vehicles_of(database, citizen_id=citizen_id)
    }
    rows = [
        {
            "permit": permit,
            "state": permit.state_on(today),
            "until": jalali_day(permit.expires_on),
            "parts": plate_parts(parse_vehicle_plate(plates[permit.vehicle_id]))
            if permit.vehicle_id in plates
            else None,
        }
        for permit in permits
    ]
    context = {
        "rows": rows,
        "labels": PERMIT_STATE_LABELS,
        "pending": PermitState.pending,
        "error": error,
        "reviewed": request.query_params.get("reviewed", ""),
    }
    return templates.render(
        request, "identity/staff_permits.html", context, status_code=status_code
    )


@router.get(PERMITS_PATH)
async def permits_page(
    request: Request,
    _principal: ReviewerCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
) -> Response:
    """Disability permits to review, oldest first, then the latest reviewed."""
    return await _permits_page(request, templates, database, clock)


@router.get(PERMITS_PATH + "/{permit_id}/photo")
async def permit_photo(
    permit_id: str, _principal: ReviewerCaller, database: DatabaseDep
) -> Response:
    """The permit's photo as sent, JPEG or PNG (checked when it was sent)."""
    found = await queries.permit_photo(database, permit_id=permit_id)
    if found is None:
        raise PermitNotFoundError("This permit was not found.")
    photo, media_type = found
    # Staff only, and never cached by a shared cache: it is a person's medical paper.
    headers = {"cache-control": "private, no-store", "x-content-type-options": "nosniff"}
    return Response(photo, media_type=media_type, headers=headers)


@router.post(PERMITS_PATH + "/{permit_id}/review")
async def review_permit(
    permit_id: str,
    request: Request,
    principal: ReviewerCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    decision: FormText = "",
) -> Response:
    """Approve or reject a pending permit."""
    try:
        if decision not in {"approve", "reject"}:
            raise DomainError("Choose to approve or reject the permit.", field="decision")
        await services.review_permit(
            database,
            clock,
            permit_id=permit_id,
            reviewer_id=required(principal).id,
            approve=decision == "approve",
        )
    except DomainError as error:
        message = i18n.gettext(error.message, **error.params)
        return await _permits_page(
            request, templates, database, clock, error=message, status_code=status_for(error)
        )
    return RedirectResponse(
        f"{PERMITS_PATH}?reviewed={decision}", status_code=status.HTTP_303_SEE_OTHER
    )
