"""My parking: current and upcoming stays, with extend, end, cancel, change plate and
receipts."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import ascii_digits
from shahr.kernel.plates import InvalidPlateError
from shahr.kernel.principals import Principal
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import TemplatesDep
from shahr.parking import queries, services
from shahr.parking.api import PortsDep, citizen_id
from shahr.parking.domain import InvalidWindowError, ReservationStatus
from shahr.parking.pages.booking import after_payment
from shahr.parking.pages.forms import (
    CitizenCaller,
    FormText,
    citizen_vehicles,
    formatting,
    say,
    status_for,
)
from shahr.parking.pages.reservation import reservation_page
from shahr.parking.pages.stay_choices import (
    end_refund,
    extension_choices,
    receipts_of,
    time_left,
)
from shahr.parking.queries import ReservationView
from shahr.parking.schemas import render_notice
from shahr.parking.services import ParkingPorts

router = APIRouter(tags=["parking pages"], include_in_schema=False)

# A form's `back` field when it was sent from the reservation's own page.
RESERVATION_PAGE = "reservation"


async def _my_page(
    request: Request,
    templates: TemplatesDep,
    ports: ParkingPorts,
    principal: Principal | None,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    open_form: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    now, citizen = ports.clock.now(), citizen_id(principal)
    found = await queries.reservations_of(ports.database, ports.inventory, citizen_id=citizen)
    current, upcoming, past = [], [], []
    for summary in found:
        r = summary.reservation
        holding = r.status is ReservationStatus.confirmed or (
            r.status is ReservationStatus.pending
            and r.hold_expires_at is not None
            and now < r.hold_expires_at
        )
        if holding and r.starts_at <= now < r.paid_ends_at:
            current.append(summary)
        elif holding and now < r.starts_at:
            upcoming.append(summary)
        else:
            past.append(summary)
    full: dict[str, ReservationView] = {}
    for summary in [*current, *upcoming, *past[:10]]:
        full[summary.reservation.id] = await queries.reservation_view(
            ports.database,
            ports.inventory,
            reservation_id=summary.reservation.id,
            citizen_id=citizen,
        )
    notices = await queries.notifications_of(ports.database, citizen_id=citizen, limit=3)
    language = i18n.current_language.get()
    context = {
        "current": [full[v.reservation.id] for v in current],
        "upcoming": list(reversed([full[v.reservation.id] for v in upcoming])),
        "past": [full[v.reservation.id] for v in past[:10]],
        "extensions": {
            v.reservation.id: extension_choices(v, ports, now=now)
            for v in current
            if v.reservation.status is ReservationStatus.confirmed
        },
        "refunds": {
            v.reservation.id: end_refund(v, ports, now=now)
            for v in current
            if v.reservation.status is ReservationStatus.confirmed
        },
        "receipts": {rid: receipts_of(view) for rid, view in full.items()},
        "time_left": time_left,
        "vehicles": await citizen_vehicles(ports, principal),
        "notices": [render_notice(n.message, n.params, language) for n in notices],
        "errors": errors or {},
        "open_form": open_form,
        "now": now,
        **formatting(),
    }
    return templates.render(request, "parking/my.html", context, status_code=status_code)


@router.get("/parking/my")
async def my_parking(
    request: Request, principal: CitizenCaller, ports: PortsDep, templates: TemplatesDep
) -> Response:
    """The citizen's current and upcoming stays, with extend, end, cancel, plate and receipts."""
    return await _my_page(request, templates, ports, principal)


async def _refused(
    request: Request,
    templates: TemplatesDep,
    ports: ParkingPorts,
    principal: Principal | None,
    reservation_id: str,
    action: str,
    error: DomainError,
    where: str,
    back: str = "",
) -> HTMLResponse:
    """The page the form was on again (My parking, or the reservation's own), with the error
    beside the form of the stay it concerns."""
    if back == RESERVATION_PAGE:
        return await reservation_page(
            request, templates, ports, citizen_id(principal), reservation_id,
            errors={where: say(error)}, step=action, status_code=status_for(error),
        )  # fmt: skip
    return await _my_page(
        request,
        templates,
        ports,
        principal,
        errors={reservation_id: {where: say(error)}},
        open_form=f"{action}-{reservation_id}",
        status_code=status_for(error),
    )


@router.post("/parking/reservations/{reservation_id}/extend")
async def extend(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    ends_at: FormText = "",
    method: FormText = "psp",
    back: FormText = "",
) -> Response:
    """Extend to a later end, paying only the difference (shown before paying)."""
    try:
        try:
            new_end = datetime.fromisoformat(ascii_digits(ends_at).strip())
        except ValueError:
            raise InvalidWindowError("Choose the new end from the list.", field="ends_at") from None
        if new_end.tzinfo is None:
            raise InvalidWindowError("Choose the new end from the list.", field="ends_at")
        change = await services.extend_reservation(
            ports,
            citizen_id=citizen_id(principal),
            reservation_id=reservation_id,
            ends_at=new_end,
            method="wallet" if method == "wallet" else "psp",
            return_url=f"/parking/reservations/{reservation_id}",
        )
    except DomainError as error:
        where = "method" if error.field == "amount_rial" else "ends_at"
        return await _refused(
            request, templates, ports, principal, reservation_id, "extend", error, where, back
        )
    return after_payment(reservation_id, change.payment, done="extended")


@router.post("/parking/reservations/{reservation_id}/end")
async def end(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    back: FormText = "",
) -> Response:
    """End the stay now; the unused whole half-hours go back to the wallet."""
    try:
        await services.end_reservation(
            ports, citizen_id=citizen_id(principal), reservation_id=reservation_id
        )
    except DomainError as error:
        return await _refused(
            request, templates, ports, principal, reservation_id, "end", error, "end", back
        )
    return RedirectResponse(f"/parking/reservations/{reservation_id}?done=ended", 303)


@router.post("/parking/reservations/{reservation_id}/cancel")
async def cancel(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    back: FormText = "",
) -> Response:
    """Cancel before the start; everything paid goes back to the wallet."""
    try:
        await services.cancel_reservation(
            ports, citizen_id=citizen_id(principal), reservation_id=reservation_id
        )
    except DomainError as error:
        return await _refused(
            request, templates, ports, principal, reservation_id, "cancel", error, "cancel", back
        )
    return RedirectResponse(f"/parking/reservations/{reservation_id}?done=cancelled", 303)


@router.post("/parking/reservations/{reservation_id}/plate")
async def change_plate(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    plate: FormText = "",
) -> Response:
    """Put another of the citizen's vehicles on the reservation, before it starts."""
    try:
        if not plate.strip():
            raise InvalidPlateError("Enter a licence plate.", field="plate")
        await services.change_plate(
            ports, citizen_id=citizen_id(principal), reservation_id=reservation_id, plate=plate
        )
    except DomainError as error:
        return await _refused(
            request, templates, ports, principal, reservation_id, "plate", error, "plate"
        )
    return RedirectResponse(f"/parking/reservations/{reservation_id}?done=plate", 303)
