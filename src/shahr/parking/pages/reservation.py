"""A reservation's page: status, bay, plate, window and payments, with the live bay light,
and what can be done with it here (pay, extend, end, cancel).

A payment the bank has not answered for is shown as such ("checking with the bank"), with
when it is decided and what happens either way; no second payment is offered meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import TemplatesDep
from shahr.parking import queries, services
from shahr.parking.api import PortsDep, citizen_id
from shahr.parking.domain import ReservationStatus
from shahr.parking.gateways import CONFIRMED, PaymentState
from shahr.parking.pages.booking import after_payment
from shahr.parking.pages.forms import (
    CitizenCaller,
    FormText,
    formatting,
    plate_parts,
    say,
    status_for,
)
from shahr.parking.pages.stay_choices import (
    end_refund,
    extension_choices,
    receipts_of,
    time_left,
)
from shahr.parking.queries import ReservationView
from shahr.parking.services import ParkingPorts

router = APIRouter(tags=["parking pages"], include_in_schema=False)

PUBLIC = Depends(Admits(public=True))
# The steps the page can open with (`?step=`): the reminder's link opens `extend`.
STEPS = frozenset({"extend", "end", "cancel"})


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


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
    "reversed": (
        "error",
        _(
            "The bank could not confirm the payment in time and has been told to return it: if"
            " your account was debited, the money comes back to it within 72 hours."
        ),
    ),
}
DONE_NOTICES = {
    "extended": _("Your stay has been extended."),
    "ended": _("Your stay has ended. The unused time has gone back to your wallet."),
    "cancelled": _("Your reservation has been cancelled."),
    "cancelled_paid": _(
        "Your reservation has been cancelled. What you paid has gone back to your wallet."
    ),
    "plate": _("The vehicle on this reservation has been changed."),
    "given_up": _(
        "The unfinished payment was let go, and you can pay again. If your account was"
        " debited for it, the bank returns the money within 72 hours."
    ),
}


def _done_notice(done: str, *, refunded: bool) -> str:
    if done == "cancelled" and refunded:
        done = "cancelled_paid"
    return i18n.gettext(DONE_NOTICES[done]) if done in DONE_NOTICES else ""


def payment_lines(
    states: list[PaymentState], clock: Callable[[datetime], str]
) -> list[dict[str, Any]]:
    """Each payment with its standing in payments' own words (the staff view shows the same)."""
    return [
        {
            "payment_id": s.payment_id,
            "purpose": s.purpose,
            "amount_rial": s.amount_rial,
            "standing": s.standing,
            "label": i18n.gettext(s.label),
            "explanation": i18n.gettext(
                s.explanation, time=clock(s.decided_by) if s.decided_by else ""
            ),
            "created_at": s.created_at,
            "unanswered": s.unanswered,
        }
        for s in states
    ]


async def reservation_page(
    request: Request,
    templates: TemplatesDep,
    ports: ParkingPorts,
    citizen: str,
    reservation_id: str,
    *,
    payment_status: str = "",
    done: str = "",
    step: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = ports.clock.now()
    view = await queries.reservation_view(
        ports.database, ports.inventory, reservation_id=reservation_id, citizen_id=citizen
    )
    r = view.reservation
    states = await services.payment_states(ports, reservation_id=r.id)
    doubt = services.in_doubt(states)
    notice = PAYMENT_NOTICES.get(payment_status)
    # Paid at the bank but not yet taken by parking: the page waits for the confirmation.
    bank_said_paid = payment_status in ("verified", "settled") or any(
        s.standing == CONFIRMED for s in states
    )
    confirming = doubt is None and bank_said_paid and r.amount_due_rial > 0
    holding = r.hold_expires_at is not None and now < r.hold_expires_at
    can_pay = (
        not confirming
        and doubt is None
        and r.amount_due_rial > 0
        and holding
        and r.status in (ReservationStatus.pending, ReservationStatus.confirmed)
    )
    formats = formatting()
    context = {
        "view": view,
        "r": r,
        "plate": plate_parts(r.plate),
        "notice": None if notice is None else {"kind": notice[0], "text": i18n.gettext(notice[1])},
        "done": _done_notice(done, refunded=r.refunded_rial > 0),
        "payment_status": payment_status,
        "payments": payment_lines(states, formats["clock"]),
        "doubt": None if doubt is None else payment_lines([doubt], formats["clock"])[0],
        "can_pay": can_pay,
        "confirming": confirming,
        **_stay_actions(view, ports, now=now, settled=doubt is None and not confirming),
        "step": step if step in STEPS else "",
        "receipts": receipts_of(view),
        "tariff": ports.rules.tariffs.version(r.tariff_version),
        "errors": errors or {},
        "now": now,
        **formats,
    }
    return templates.render(request, "parking/reservation.html", context, status_code=status_code)


def _stay_actions(
    view: ReservationView, ports: ParkingPorts, *, now: datetime, settled: bool
) -> dict[str, Any]:
    """What the page offers for the stay: extend, end now, cancel (`settled`: no payment
    is in doubt or being confirmed), and the time left."""
    r = view.reservation
    confirmed = r.status is ReservationStatus.confirmed
    running = confirmed and r.starts_at <= now < r.paid_ends_at
    upcoming = confirmed and now < r.starts_at
    return {
        "running": running,
        "upcoming": upcoming,
        "left": time_left(r.paid_ends_at, now) if running else "",
        "extensions": (
            extension_choices(view, ports, now=now)
            if (running or upcoming) and not r.extension_pending
            else []
        ),
        "refund": end_refund(view, ports, now=now) if running else 0,
        "can_cancel": settled and (r.status is ReservationStatus.pending or upcoming),
    }


@router.get("/parking/reservations/{reservation_id}")
async def show_reservation(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    payment_status: Annotated[str, Query(max_length=30)] = "",
    done: Annotated[str, Query(max_length=30)] = "",
    step: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """Status, bay, plate, window and amount, with the bay light seen live."""
    return await reservation_page(
        request, templates, ports, citizen_id(principal), reservation_id,
        payment_status=payment_status, done=done, step=step,
    )  # fmt: skip


@router.get("/parking/r/{token}", dependencies=[PUBLIC])
async def reminder_link(token: str, ports: PortsDep) -> Response:
    """The reminder SMS's one-tap link: on to the reservation's extend step, if it is ours and
    the stay has not ended (the page itself asks the citizen to sign in)."""
    link = ports.reminder_links.read(token, now=ports.clock.now())
    return RedirectResponse(
        f"/parking/reservations/{link.reservation_id}?step=extend#extend", status_code=303
    )


@router.post("/parking/reservations/{reservation_id}/give-up-payment")
async def give_up_payment(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
) -> Response:
    """The citizen did not finish at the bank's page: let that payment go, to pay again."""
    citizen = citizen_id(principal)
    try:
        await services.give_up_payment(ports, citizen_id=citizen, reservation_id=reservation_id)
    except DomainError as error:
        return await reservation_page(
            request, templates, ports, citizen, reservation_id,
            errors={"give_up": say(error)}, status_code=status_for(error),
        )  # fmt: skip
    return RedirectResponse(f"/parking/reservations/{reservation_id}?done=given_up", 303)


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
        return await reservation_page(
            request, templates, ports, citizen, reservation_id,
            errors={"method": say(error)}, status_code=status_for(error),
        )  # fmt: skip
    return after_payment(reservation_id, payment)
