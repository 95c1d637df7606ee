"""Quotes, reservations and their changes, receipts and notices: the citizen's bookings."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from shahr.kernel.web import i18n
from shahr.kernel.web.problems import problem_response
from shahr.parking import queries, services
from shahr.parking.api.deps import PREFIX, CitizenPrincipal, PortsDep, citizen_id
from shahr.parking.domain import BayTakenError
from shahr.parking.schemas import (
    AlternativeOut,
    BayTakenProblem,
    ExtensionCreate,
    NotificationOut,
    PaymentCreate,
    PaymentStartOut,
    PlateUpdate,
    QuoteCreate,
    QuoteOut,
    ReceiptsOut,
    ReservationCreate,
    ReservationOut,
    ReservationStartOut,
    StayChangeOut,
    render_notice,
)
from shahr.parking.services import ParkingPorts, ReservationStart, StayChange

router = APIRouter(prefix=PREFIX, tags=["parking"])


@router.post("/quotes", status_code=201, response_model=QuoteOut)
async def create_quote(body: QuoteCreate, principal: CitizenPrincipal, ports: PortsDep) -> Response:
    """Price a bay for one of the citizen's vehicles and a window; the token reserves it."""
    quote = await services.quote_bay(
        ports,
        citizen_id=citizen_id(principal),
        bay_id=body.bay_id,
        plate=body.plate,
        vehicle_kind=body.vehicle_kind.value if body.vehicle_kind else None,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        duration_min=body.duration_min,
    )
    # Serialised once, here: returned as a model it would be validated again first.
    return Response(
        QuoteOut.of(quote).model_dump_json(), status_code=201, media_type="application/json"
    )


async def _view(ports: ParkingPorts, reservation_id: str, citizen: str) -> ReservationOut:
    view = await queries.reservation_view(
        ports.database, ports.inventory, reservation_id=reservation_id, citizen_id=citizen
    )
    return ReservationOut.of(view)


async def _started_view(ports: ParkingPorts, start: ReservationStart) -> ReservationOut:
    """The reservation this request held: as its wallet payment left it, else read back."""
    taken = start.taken
    if (
        not start.created
        or taken is None
        or taken.outcome != "confirmed"
        or taken.reservation is None
        or taken.payment is None
    ):
        return await _view(ports, start.reservation.id, start.reservation.citizen_id)
    # Written and confirmed by this request, so it holds this one payment and no refund.
    snapshot = await ports.inventory.current()
    meter, bay = snapshot.bay(taken.reservation.bay_id)
    paid = taken.payment
    return ReservationOut.of(
        queries.ReservationView(
            reservation=taken.reservation,
            meter=meter,
            bay=bay,
            zone=snapshot.zone_of(meter),
            payments=(
                queries.PaymentLine(
                    paid.payment_id, paid.purpose, paid.amount_rial, taken.outcome, paid.verified_at
                ),
            ),
            refunds=(),
        )
    )


def _bay_taken(request: Request, error: BayTakenError) -> JSONResponse:
    """409 with the free alternatives beside the usual problem fields."""
    response = problem_response(request.scope, 409, error)
    body = json.loads(bytes(response.body))
    body["alternatives"] = [AlternativeOut.of(a).model_dump() for a in error.alternatives]
    headers = {"content-language": response.headers.get("content-language", "fa")}
    return JSONResponse(
        body, status_code=409, headers=headers, media_type="application/problem+json"
    )


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationStartOut,
    responses={
        200: {"model": ReservationStartOut, "description": "This quote was already reserved"},
        409: {"model": BayTakenProblem, "content": {"application/problem+json": {}}},
    },
)
async def create_reservation(
    body: ReservationCreate,
    request: Request,
    principal: CitizenPrincipal,
    ports: PortsDep,
) -> Response:
    """Hold the quoted bay for the payment window and start paying; confirmed once paid.

    A bay held by someone else for part of the window answers 409 with free alternatives.
    """
    citizen = citizen_id(principal)
    try:
        start = await services.reserve(
            ports,
            citizen_id=citizen,
            quote_token=body.quote_token,
            amount_rial=body.amount_rial,
            method=body.method,
            return_url=body.return_url,
        )
    except BayTakenError as error:
        return _bay_taken(request, error)
    started = ReservationStartOut(
        reservation=await _started_view(ports, start),
        payment=PaymentStartOut.of(start.payment),
    )
    return Response(
        started.model_dump_json(),
        status_code=201 if start.created else 200,
        media_type="application/json",
    )


@router.get("/reservations", response_model=list[ReservationOut])
async def list_reservations(
    principal: CitizenPrincipal,
    ports: PortsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReservationOut]:
    """The citizen's reservations, latest start first."""
    views = await queries.reservations_of(
        ports.database, ports.inventory, citizen_id=citizen_id(principal), limit=limit
    )
    return [ReservationOut.of(view) for view in views]


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
async def get_reservation(
    reservation_id: str, principal: CitizenPrincipal, ports: PortsDep
) -> ReservationOut:
    """One of the citizen's reservations, with its payments and refunds."""
    return await _view(ports, reservation_id, citizen_id(principal))


@router.post("/reservations/{reservation_id}/pay", response_model=PaymentStartOut)
async def pay_reservation(
    reservation_id: str, body: PaymentCreate, principal: CitizenPrincipal, ports: PortsDep
) -> PaymentStartOut | None:
    """Start paying again for a held reservation (or its waiting extension)."""
    payment = await services.pay_reservation(
        ports,
        citizen_id=citizen_id(principal),
        reservation_id=reservation_id,
        method=body.method,
        return_url=body.return_url,
    )
    return PaymentStartOut.of(payment)


async def _change_out(ports: ParkingPorts, change: StayChange, citizen: str) -> StayChangeOut:
    return StayChangeOut(
        reservation=await _view(ports, change.reservation.id, citizen),
        payment=PaymentStartOut.of(change.payment),
        refund_rial=change.refund_rial,
    )


@router.post("/reservations/{reservation_id}/extend", response_model=StayChangeOut)
async def extend_reservation(
    reservation_id: str, body: ExtensionCreate, principal: CitizenPrincipal, ports: PortsDep
) -> StayChangeOut:
    """Move the end later, paying the difference; never past the maximum stay or into the
    next booking."""
    citizen = citizen_id(principal)
    change = await services.extend_reservation(
        ports,
        citizen_id=citizen,
        reservation_id=reservation_id,
        ends_at=body.ends_at,
        method=body.method,
        return_url=body.return_url,
    )
    return await _change_out(ports, change, citizen)


@router.post("/reservations/{reservation_id}/end", response_model=StayChangeOut)
async def end_reservation(
    reservation_id: str, principal: CitizenPrincipal, ports: PortsDep
) -> StayChangeOut:
    """End the stay now; the unused whole half-hours go back to the wallet."""
    citizen = citizen_id(principal)
    change = await services.end_reservation(
        ports, citizen_id=citizen, reservation_id=reservation_id
    )
    return await _change_out(ports, change, citizen)


@router.post("/reservations/{reservation_id}/cancel", response_model=StayChangeOut)
async def cancel_reservation(
    reservation_id: str, principal: CitizenPrincipal, ports: PortsDep
) -> StayChangeOut:
    """Cancel before the start; what was paid goes back to the wallet in full."""
    citizen = citizen_id(principal)
    change = await services.cancel_reservation(
        ports, citizen_id=citizen, reservation_id=reservation_id
    )
    return await _change_out(ports, change, citizen)


@router.post("/reservations/{reservation_id}/plate", response_model=StayChangeOut)
async def change_plate(
    reservation_id: str, body: PlateUpdate, principal: CitizenPrincipal, ports: PortsDep
) -> StayChangeOut:
    """Put another of the citizen's vehicles on the reservation, before it starts."""
    citizen = citizen_id(principal)
    change = await services.change_plate(
        ports,
        citizen_id=citizen,
        reservation_id=reservation_id,
        plate=body.plate,
        vehicle_kind=body.vehicle_kind.value if body.vehicle_kind else None,
    )
    return await _change_out(ports, change, citizen)


@router.get("/reservations/{reservation_id}/receipt", response_model=ReceiptsOut)
async def reservation_receipts(
    reservation_id: str, principal: CitizenPrincipal, ports: PortsDep
) -> ReceiptsOut:
    """The reservation's receipt: bay, plate, Jalali window, and links to each payment's."""
    view = await queries.reservation_view(
        ports.database,
        ports.inventory,
        reservation_id=reservation_id,
        citizen_id=citizen_id(principal),
    )
    return ReceiptsOut.of(view)


@router.get("/notifications", response_model=list[NotificationOut])
async def list_notifications(
    principal: CitizenPrincipal,
    ports: PortsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationOut]:
    """The citizen's parking notices (reminders before a stay ends), newest first."""
    language = i18n.current_language.get()
    found = await queries.notifications_of(
        ports.database, citizen_id=citizen_id(principal), limit=limit
    )
    return [
        NotificationOut(
            id=n.id,
            kind=n.kind,
            reservation_id=n.reservation_id,
            text=render_notice(n.message, n.params, language),
            created_at=n.created_at,
        )
        for n in found
    ]
