"""The map of meters, a meter's bays with the vehicle, time and quote, and reserving."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat
from shahr.kernel.persian import ascii_digits
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import SettingsDep, TemplatesDep
from shahr.parking import queries, services
from shahr.parking.api import PortsDep, citizen_id
from shahr.parking.domain import (
    Alternative,
    BayKind,
    BayTakenError,
    TimeWindow,
    VehicleKind,
    ZoneRules,
    permit_covers,
)
from shahr.parking.gateways import StartedPayment
from shahr.parking.pages.forms import (
    ANOTHER_PLATE,
    DEFAULT_DURATION_MIN,
    KIND_LABELS,
    METER_FIELDS,
    AnyCaller,
    CitizenCaller,
    FormText,
    VehicleChoice,
    WindowChoice,
    citizen_vehicles,
    formatting,
    kind_of,
    minute_of_day,
    plate_letter_options,
    read_window,
    say,
    status_for,
    window_options,
)
from shahr.parking.services import ParkingPorts, Quote

router = APIRouter(tags=["parking pages"], include_in_schema=False)

# Without a position the map opens on District 2 (Shahrak-e Gharb), where the demo city's
# meters stand first.
DISTRICT_2 = LonLat(51.3700, 35.7600)
SEARCH_RADIUS_M = 1_500.0
WIDER_RADIUS_M = 5_000.0
PRICE_CEILINGS_RIAL = (50_000, 100_000, 200_000, 400_000)
LIST_LENGTH = 15


# --- the map --------------------------------------------------------------------------------


@router.get("/parking")
async def map_page(
    request: Request,
    _principal: AnyCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    lon: Annotated[float | None, Query(ge=44, le=63.5)] = None,
    lat: Annotated[float | None, Query(ge=25, le=40)] = None,
    vehicle_kind: str = VehicleKind.car.value,
    day: str = "",
    start: str = "now",
    duration_min: str = str(DEFAULT_DURATION_MIN),
    max_price_rial: str = "",
) -> Response:
    """Meters near the place (District 2 without one), nearest first, with free bays."""
    now = ports.clock.now()
    rules = ZoneRules()
    choice = read_window(now, day=day, start=start, duration_min=duration_min, rules=rules)
    kind = kind_of(vehicle_kind)
    ceiling = ascii_digits(max_price_rial).strip()
    centre = LonLat(lon, lat) if lon is not None and lat is not None else DISTRICT_2
    price_ceiling = int(ceiling) if ceiling.isdigit() else None
    result = await _nearby(ports, choice.window, kind, centre, price_ceiling, now=now)
    errors = dict(choice.errors)
    refusal = next((m.refusal for m in result.meters if m.refusal is not None), None)
    if refusal is not None and not errors:
        errors[METER_FIELDS.get(refusal.field or "", "start")] = say(refusal)
    context = {
        "result": result,
        "choice": choice,
        "options": window_options(now, choice, rules),
        "kinds": KIND_LABELS,
        "kind": kind,
        "ceilings": PRICE_CEILINGS_RIAL,
        "ceiling": ceiling,
        "centre": centre,
        "located": lon is not None and lat is not None,
        "errors": errors,
        "query": {**choice.query(), "vehicle_kind": kind.value},
        "markers": _markers(result.meters),
        "tile_url": settings.tile_url or "",
        "tile_attribution": settings.tile_attribution,
        **formatting(),
    }
    return templates.render(request, "parking/map.html", context)


async def _nearby(
    ports: ParkingPorts,
    window: TimeWindow,
    kind: VehicleKind,
    centre: LonLat,
    price_ceiling: int | None,
    *,
    now: datetime,
) -> queries.SearchResult:
    """The meters around the centre; none close by, those further out."""
    for radius_m in (SEARCH_RADIUS_M, WIDER_RADIUS_M):
        result = await queries.search_meters(
            ports.database,
            ports.inventory,
            ports.rules,
            now=now,
            window=window,
            vehicle_kind=kind,
            near=centre,
            radius_m=radius_m,
            max_price_rial=price_ceiling,
            limit=LIST_LENGTH,
        )
        if result.meters:
            break
    return result


def _markers(found: Sequence[queries.MeterAvailability]) -> list[dict[str, object]]:
    """What the map's script draws of each meter, the street in the reader's language."""
    language = i18n.current_language.get()
    return [
        {
            "id": m.meter.id,
            "lon": m.meter.lon,
            "lat": m.meter.lat,
            "street": m.meter.street_fa if language == "fa" else m.meter.street_en,
            "free": m.bays_free,
            "total": m.bays_total,
            "bookable": m.price is not None,
            "half_hour": None if m.price is None else m.price.first_unit_rial,
            "total_rial": None if m.price is None else m.price.total_rial,
            "disabled_bays": sum(
                1 for b in m.meter.bays if b.kind is BayKind.disabled and b.in_service
            ),
        }
        for m in found
    ]


# --- a meter: its bays for the window, the vehicle, the quote ----------------------------------


@dataclass
class MeterForm:
    """What the meter page's form holds, so a refused reservation can show it again."""

    day: str = ""
    start: str = "now"
    duration_min: str = str(DEFAULT_DURATION_MIN)
    bay: str = ""
    plate: str = ""
    vehicle_kind: str = ""
    # "Another plate", as typed in the plate-shaped input's boxes, shown again if refused.
    new_plate: dict[str, str] = field(default_factory=dict)


async def meter_page_for(
    request: Request,
    templates: TemplatesDep,
    ports: ParkingPorts,
    principal: Principal | None,
    meter_id: int,
    form: MeterForm,
    *,
    errors: dict[str, str] | None = None,
    alternatives: Sequence[Alternative] = (),
    status_code: int = 200,
) -> HTMLResponse:
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    meter = snapshot.meter(meter_id)
    zone = snapshot.zone_of(meter)
    choice = read_window(
        now, day=form.day, start=form.start, duration_min=form.duration_min, rules=zone.rules
    )
    shown = {**choice.errors, **(errors or {})}
    opens, closes = zone.rules.opens_min, zone.rules.closes_min
    signed_in = principal is not None and Role.citizen in principal.roles
    vehicles = await citizen_vehicles(ports, principal)
    chosen, plate, kind = _chosen_vehicle(vehicles, form)
    detail = await queries.meter_detail(
        ports.database,
        ports.inventory,
        ports.rules,
        meter_id=meter_id,
        window=choice.window,
        vehicle_kind=kind,
        now=now,
    )
    picked, quote, status_code = await _pick(
        ports, principal, detail, form, plate, choice, shown, status_code
    )
    context = {
        "meter": meter,
        "zone": zone,
        "detail": detail,
        "choice": choice,
        "options": window_options(now, choice, zone.rules),
        "form": form,
        **_vehicle_context(vehicles, chosen, form, choice, signed_in=signed_in),
        "plate": plate,
        "kind": kind,
        "kinds": KIND_LABELS,
        "picked": picked,
        "quote": quote,
        # A price is shown for a bay picked; before that, only the half-hour rate ("from").
        "price": quote.price if quote else detail.price,
        "errors": shown,
        "alternatives": alternatives,
        "query": {**choice.query(), "vehicle_kind": kind.value},
        "clock_text": {"opens": minute_of_day(opens), "closes": minute_of_day(closes)},
        "here": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        **formatting(),
    }
    return templates.render(request, "parking/meter.html", context, status_code=status_code)


def _vehicle_context(
    vehicles: list[VehicleChoice] | None,
    chosen: VehicleChoice | None,
    form: MeterForm,
    choice: WindowChoice,
    *,
    signed_in: bool,
) -> dict[str, object]:
    """The picker, "another plate" and whether the chosen vehicle may take a disabled bay."""
    return {
        "signed_in": signed_in,
        "vehicles": vehicles,
        "chosen": chosen,
        "another_value": ANOTHER_PLATE,
        "another": signed_in and (not vehicles or form.plate == ANOTHER_PLATE),
        "new_plate": form.new_plate,
        "letters": plate_letter_options(),
        "permit_ok": chosen is not None
        and permit_covers(chosen.permit_expires_on, choice.window.ends_at),
    }


def _chosen_vehicle(
    vehicles: Sequence[VehicleChoice] | None, form: MeterForm
) -> tuple[VehicleChoice | None, str, VehicleKind]:
    """The citizen's vehicle with the form's plate, else the one they booked with last (none
    signed out, or "another plate" picked); the plate to show, and the kind to show bays for."""
    plate = ascii_digits(form.plate).strip()
    if not vehicles or plate == ANOTHER_PLATE:
        return None, "", kind_of(form.vehicle_kind)
    chosen = next((v for v in vehicles if v.plate == plate), None) or vehicles[0]
    return chosen, chosen.plate, chosen.kind


async def _pick(
    ports: ParkingPorts,
    principal: Principal | None,
    detail: queries.MeterDetail,
    form: MeterForm,
    plate: str,
    choice: WindowChoice,
    shown: dict[str, str],
    status_code: int,
) -> tuple[queries.BayState | None, Quote | None, int]:
    """The bay the form picked and, when it can be booked, its quote; what stands in the
    way (the window's refusal too) joins the errors shown, and the status."""
    if detail.refusal is not None and not choice.errors:
        shown.setdefault(METER_FIELDS.get(detail.refusal.field or "", "start"), say(detail.refusal))
    bay_id = int(form.bay) if form.bay.isdigit() else None
    picked = next((s for s in detail.bays if s.bay.id == bay_id), None)
    if picked is None:
        return None, None, status_code
    signed_in = principal is not None and Role.citizen in principal.roles
    # An error about the quote itself (expired, price changed) still shows a fresh quote.
    blocking = shown.keys() - {"quote", "method"}
    if signed_in and not plate:
        shown.setdefault("plate", i18n.gettext("Choose the vehicle you will park."))
    if not picked.available and not blocking:
        shown["bay"] = i18n.gettext("This bay is not free for that time. Choose a free bay.")
    if not (picked.available and signed_in and plate and not blocking):
        return picked, None, status_code
    try:
        quote = await services.quote_bay(
            ports,
            citizen_id=citizen_id(principal),
            bay_id=picked.bay.id,
            plate=plate,
            vehicle_kind=None,  # the plate's registered kind decides
            starts_at=choice.window.starts_at,
            ends_at=choice.window.ends_at,
        )
    except DomainError as error:
        shown[METER_FIELDS.get(error.field or "", "quote")] = say(error)
        return picked, None, max(status_code, status_for(error))
    return picked, quote, status_code


@router.get("/parking/meters/{meter_id}")
async def meter_page(
    meter_id: int,
    request: Request,
    principal: AnyCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    day: str = "",
    start: str = "now",
    duration_min: str = str(DEFAULT_DURATION_MIN),
    bay: str = "",
    plate: str = "",
    vehicle_kind: str = "",
) -> Response:
    """The bay picker: each bay's state for the window, the vehicle, the time and the quote."""
    form = MeterForm(day, start, duration_min, bay, plate, vehicle_kind)
    return await meter_page_for(request, templates, ports, principal, meter_id, form)


@router.post("/parking/reservations")
async def reserve(
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    meter_id: FormText = "",
    quote_token: FormText = "",
    amount_rial: FormText = "",
    method: FormText = "psp",
    day: FormText = "",
    start: FormText = "now",
    duration_min: FormText = str(DEFAULT_DURATION_MIN),
    bay: FormText = "",
    plate: FormText = "",
    vehicle_kind: FormText = "",
) -> Response:
    """Hold the quoted bay and go to pay: the bank's page, or straight on from the wallet."""
    form = MeterForm(day, start, duration_min, bay, plate, vehicle_kind)
    amount = ascii_digits(amount_rial).strip()
    try:
        started = await services.reserve(
            ports,
            citizen_id=citizen_id(principal),
            quote_token=quote_token,
            amount_rial=int(amount) if amount.isdigit() else None,
            method="wallet" if method == "wallet" else "psp",
        )
    except DomainError as error:
        if not meter_id.isdigit():
            raise
        alternatives = error.alternatives if isinstance(error, BayTakenError) else ()
        where = METER_FIELDS.get(error.field or "", "quote")
        return await meter_page_for(
            request, templates, ports, principal, int(meter_id), form,
            errors={where: say(error)}, alternatives=alternatives,
            status_code=status_for(error),
        )  # fmt: skip
    return after_payment(started.reservation.id, started.payment)


def after_payment(reservation_id: str, payment: StartedPayment | None, done: str = "") -> Response:
    """To the bank's page; or, paid from the wallet, to the reservation, told it was paid.

    The wallet pays at once, but the reservation is confirmed when parking hears of the
    payment (an event), so the page may still say pending for a moment: told the payment
    went through, it waits for the confirmation instead of offering to pay again.
    """
    if payment is not None and payment.redirect_url:
        return RedirectResponse(payment.redirect_url, status_code=303)
    query = {"done": done} if done else {}
    if payment is not None:
        query["payment_status"] = payment.status
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse(f"/parking/reservations/{reservation_id}{suffix}", status_code=303)
