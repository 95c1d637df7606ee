"""A reservation's page: status, bay, plate, window and payments, with the live bay light."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from shahr.kernel.errors import DomainError
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import TemplatesDep
from shahr.parking import queries, services
from shahr.parking.api import PortsDep, citizen_id
from shahr.parking.domain import ReservationStatus
from shahr.parking.pages.booking import after_payment
from shahr.parking.pages.forms import (
    CitizenCaller,
    FormText,
    formatting,
    plate_parts,
    say,
    status_for,
)
from shahr.parking.queries import ReservationView
from shahr.parking.services import ParkingPorts

router = APIRouter(tags=["parking pages"], include_in_schema=False)


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


def receipts_of(view: ReservationView) -> list[dict[str, Any]]:
    return [
        {
            "payment_id": p.payment_id,
            "purpose": p.purpose,
            "amount_rial": p.amount_rial,
            "verified_at": p.verified_at,
            "page": f"/payments/{p.payment_id}/receipt",
        }
        for p in view.payments
        if p.outcome in ("confirmed", "extended")
    ]


PAYMENT_NOTICES = {
    "verified": ("success", _("The payment went through.")),
    "settled": ("success", _("The payment went through.")),
    "cancelled": ("error", _("The payment was cancelled at the bank. Nothing was charged.")),
    "failed": (
        "error",
        _(
            "The payment did not go through. Nothing was booked; if money was taken from your"
            " card, your bank will return it within 72 hours."
        ),
    ),
    "expired": ("error", _("The payment was not completed in time. Nothing was charged.")),
    "reversed": ("error", _("The payment was reversed and the money returned to your card.")),
}
DONE_NOTICES = {
    "extended": _("Your stay has been extended."),
    "ended": _("Your stay has ended. The unused time has gone back to your wallet."),
    "cancelled": _(
        "Your reservation has been cancelled. What you paid has gone back to your wallet."
    ),
    "plate": _("The vehicle on this reservation has been changed."),
}


async def _reservation_page(
    request: Request,
    templates: TemplatesDep,
    ports: ParkingPorts,
    citizen: str,
    reservation_id: str,
    *,
    payment_status: str = "",
    done: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = ports.clock.now()
    view = await queries.reservation_view(
        ports.database, ports.inventory, reservation_id=reservation_id, citizen_id=citizen
    )
    r = view.reservation
    notice = PAYMENT_NOTICES.get(payment_status)
    confirming = payment_status in ("verified", "settled") and r.amount_due_rial > 0
    can_pay = (
        not confirming
        and r.amount_due_rial > 0
        and r.hold_expires_at is not None
        and now < r.hold_expires_at
        and r.status in (ReservationStatus.pending, ReservationStatus.confirmed)
    )
    context = {
        "view": view,
        "r": r,
        "plate": plate_parts(r.plate),
        "notice": None if notice is None else {"kind": notice[0], "text": i18n.gettext(notice[1])},
        "done": i18n.gettext(DONE_NOTICES[done]) if done in DONE_NOTICES else "",
        "payment_status": payment_status,
        "can_pay": can_pay,
        "confirming": confirming,
        "running": r.status is ReservationStatus.confirmed and r.starts_at <= now < r.paid_ends_at,
        "upcoming": r.status is ReservationStatus.confirmed and now < r.starts_at,
        "receipts": receipts_of(view),
        "tariff": ports.rules.tariffs.version(r.tariff_version),
        "errors": errors or {},
        "now": now,
        **formatting(),
    }
    return templates.render(request, "parking/reservation.html", context, status_code=status_code)


@router.get("/parking/reservations/{reservation_id}")
async def reservation_page(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    payment_status: Annotated[str, Query(max_length=30)] = "",
    done: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """Status, bay, plate, window and amount, with the bay light seen live."""
    return await _reservation_page(
        request, templates, ports, citizen_id(principal), reservation_id,
        payment_status=payment_status, done=done,
    )  # fmt: skip


@router.post("/parking/reservations/{reservation_id}/pay")
async def pay_again(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    method: FormText = "psp",
) -> Response:
    """Pay for a held reservation (or its waiting extension) again, by card or wallet."""
    citizen = citizen_id(principal)
    try:
        payment = await services.pay_reservation(
            ports,
            citizen_id=citizen,
            reservation_id=reservation_id,
            method="wallet" if method == "wallet" else "psp",
        )
    except DomainError as error:
        return await _reservation_page(
            request, templates, ports, citizen, reservation_id,
            errors={"method": say(error)}, status_code=status_for(error),
        )  # fmt: skip
    return after_payment(reservation_id, payment)
