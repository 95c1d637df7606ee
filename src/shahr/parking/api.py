"""Parking's JSON API: map layers, search, meters, quotes, reservations, FIWARE exports."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from shahr.kernel.access import Admits, Principal, Role
from shahr.kernel.errors import DomainError, NotSignedInError
from shahr.kernel.geo import LonLat
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import DatabaseDep, SettingsDep
from shahr.kernel.web.problems import problem_response
from shahr.parking import fiware, queries, services
from shahr.parking.domain import (
    BayKindMismatchError,
    BayNotFoundError,
    BayTakenError,
    ExtensionBlockedError,
    GeoFileError,
    InvalidQuoteError,
    InvalidWindowError,
    MeterFileError,
    MeterNotFoundError,
    NoTariffError,
    PlateChangeError,
    QuoteExpiredError,
    ReservationNotFoundError,
    ReservationStateError,
    TimeWindow,
    UnknownVehicleError,
    VehicleKind,
    VehicleKindMismatchError,
    next_whole_minute,
)
from shahr.parking.schemas import (
    AlternativeOut,
    BayTakenProblem,
    DistrictCollection,
    ExtensionCreate,
    MeterOut,
    MetroStationCollection,
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
    SearchOut,
    StayChangeOut,
    render_notice,
)
from shahr.parking.services import (
    ParkingPorts,
    PriceChangedError,
    ReservationStart,
    StayChange,
)


class SearchAreaError(DomainError):
    """A search names neither a point nor a usable map view."""


ERROR_STATUS: dict[type[DomainError], int] = {
    GeoFileError: 422,
    MeterFileError: 422,
    SearchAreaError: 422,
    InvalidWindowError: 422,
    InvalidQuoteError: 422,
    QuoteExpiredError: 422,
    NoTariffError: 422,
    BayKindMismatchError: 422,
    UnknownVehicleError: 422,
    VehicleKindMismatchError: 422,
    PlateChangeError: 422,
    BayNotFoundError: 404,
    MeterNotFoundError: 404,
    ReservationNotFoundError: 404,
    PriceChangedError: 409,
    ReservationStateError: 409,
    BayTakenError: 409,
    ExtensionBlockedError: 409,
}

GEOJSON = "application/geo+json"
# Districts and stations change only on an import; five minutes of caching spares the map.
CACHE_CONTROL = "public, max-age=300"
PUBLIC = Depends(Admits(public=True))

router = APIRouter(prefix="/api/v1/parking", tags=["parking"])


def cached_geojson(request: Request, body: bytes) -> Response:
    """The body with an ETag; a client that already holds it gets 304 and no body."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"etag": etag, "cache-control": CACHE_CONTROL}
    held = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in held.split(",")) or held == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get(
    "/districts",
    dependencies=[PUBLIC],
    response_model=DistrictCollection,
    responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Not modified"}},
)
async def list_districts(request: Request, database: DatabaseDep) -> Response:
    """The municipal districts as GeoJSON polygons; `approximate` marks demo outlines."""
    collection = DistrictCollection.of(await queries.districts(database))
    return cached_geojson(request, collection.model_dump_json().encode())


@router.get(
    "/metro-stations",
    dependencies=[PUBLIC],
    response_model=MetroStationCollection,
    responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Not modified"}},
)
async def list_metro_stations(request: Request, database: DatabaseDep) -> Response:
    """Metro stations as GeoJSON points, with the data set's ODbL attribution."""
    collection = MetroStationCollection.of(await queries.metro_stations(database))
    return cached_geojson(request, collection.model_dump_json().encode())


# --- search, meters, quotes and reservations ----------------------------------------------------

CITIZEN = Depends(Admits(Role.citizen))
CitizenPrincipal = Annotated[Principal | None, CITIZEN]
LD_JSON = "application/ld+json"
DEFAULT_STAY = timedelta(hours=1)


async def _ports(request: Request) -> ParkingPorts:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    ports: ParkingPorts = request.app.state.parking
    return ports


PortsDep = Annotated[ParkingPorts, Depends(_ports)]


def citizen_id(principal: Principal | None) -> str:
    """The signed-in citizen's id (the guard has already refused everyone else)."""
    if principal is None:
        raise NotSignedInError("Please sign in first.")
    return principal.id


def _window(
    ports: ParkingPorts, starts_at: datetime | None, ends_at: datetime | None
) -> TimeWindow:
    """The window asked for; without one, an hour from the next whole minute."""
    start = starts_at or next_whole_minute(ports.clock.now())
    end = ends_at or start + DEFAULT_STAY
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidWindowError("Give times with their time zone.", field="starts_at")
    if end <= start:
        raise InvalidWindowError("The stay must end after it starts.", field="ends_at")
    return TimeWindow(start, end)


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise SearchAreaError("Give the map view as min_lon,min_lat,max_lon,max_lat.", field="bbox")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise SearchAreaError("Give the map view as min_lon,min_lat,max_lon,max_lat.", field="bbox")
    return min_lon, min_lat, max_lon, max_lat


@router.get("/search", dependencies=[PUBLIC], response_model=SearchOut)
async def search(
    ports: PortsDep,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    radius_m: Annotated[float, Query(gt=0, le=5_000)] = 1_000,
    bbox: Annotated[
        str | None, Query(max_length=120, description="min_lon,min_lat,max_lon,max_lat")
    ] = None,
    vehicle_kind: VehicleKind = VehicleKind.car,
    starts_at: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    ends_at: Annotated[AwareDatetime | None, Query(description="Default: an hour on")] = None,
    max_price_rial: Annotated[int | None, Query(ge=0)] = None,
    available_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Meters near a point (or in the map view), nearest first, with free bays for the window.

    Counts only bays that take the vehicle; leaves out meters dearer than `max_price_rial`
    for the window. Names the closest metro station to the place searched (park and ride).
    """
    box = _bbox(bbox) if bbox else None
    if box is None and (lon is None or lat is None):
        raise SearchAreaError("Give a point (lon and lat) or a map view (bbox).", field="lon")
    result = await queries.search_meters(
        ports.database,
        ports.inventory,
        ports.rules,
        now=ports.clock.now(),
        window=_window(ports, starts_at, ends_at),
        vehicle_kind=vehicle_kind,
        near=LonLat(lon, lat) if lon is not None and lat is not None else None,
        radius_m=radius_m,
        bbox=box,
        max_price_rial=max_price_rial,
        available_only=available_only,
        limit=limit,
    )
    # Serialised here, once: returned as a model, it would be validated against
    # `response_model` again, turned into dicts, then into JSON (the route's hottest cost).
    return Response(SearchOut.of(result).model_dump_json(), media_type="application/json")


@router.get("/meters/{meter_id}", dependencies=[PUBLIC], response_model=MeterOut)
async def get_meter(
    meter_id: int,
    ports: PortsDep,
    starts_at: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    ends_at: Annotated[AwareDatetime | None, Query(description="Default: an hour on")] = None,
    vehicle_kind: VehicleKind | None = None,
) -> MeterOut:
    """A meter, its zone's rules, and each bay's state for the window (the bay picker)."""
    detail = await queries.meter_detail(
        ports.database,
        ports.inventory,
        ports.rules,
        meter_id=meter_id,
        window=_window(ports, starts_at, ends_at),
        vehicle_kind=vehicle_kind,
        now=ports.clock.now(),
    )
    return MeterOut.of_detail(detail)


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


# --- FIWARE (NGSI-LD) exports -----------------------------------------------------------------

NgsiOptions = Annotated[
    Literal["keyValues", "normalized"],
    Query(description="NGSI-LD representation: keyValues or normalized"),
]


@router.get(
    "/ngsi-ld/ParkingSpot",
    dependencies=[PUBLIC],
    response_model=list[dict[str, Any]],
    responses={200: {"content": {LD_JSON: {}}}},
)
async def ngsi_parking_spots(
    ports: PortsDep,
    settings: SettingsDep,
    options: NgsiOptions = "normalized",
    meter_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Bays as FIWARE `ParkingSpot` entities: occupancy `status`, and `reserved`, `paid`."""
    entities = await fiware.parking_spots(
        ports.database,
        ports.inventory,
        ports.rules,
        city=settings.city,
        now=ports.clock.now(),
        key_values=options == "keyValues",
        meter_id=meter_id,
        limit=limit,
        offset=offset,
    )
    return Response(json.dumps(entities, ensure_ascii=False), media_type=LD_JSON)


@router.get(
    "/ngsi-ld/OnStreetParking",
    dependencies=[PUBLIC],
    response_model=list[dict[str, Any]],
    responses={200: {"content": {LD_JSON: {}}}},
)
async def ngsi_on_street_parking(
    ports: PortsDep,
    settings: SettingsDep,
    options: NgsiOptions = "normalized",
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Meters as FIWARE `OnStreetParking` entities, with how many bays are free now."""
    entities = await fiware.on_street_parkings(
        ports.database,
        ports.inventory,
        ports.rules,
        city=settings.city,
        now=ports.clock.now(),
        key_values=options == "keyValues",
        limit=limit,
        offset=offset,
    )
    return Response(json.dumps(entities, ensure_ascii=False), media_type=LD_JSON)
