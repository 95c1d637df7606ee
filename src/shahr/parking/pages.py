"""Parking's citizen pages: the map, a meter's bays and the quote, the confirmation with the
bay light, and "my parking" with extend, end, cancel, change plate and receipts.

Plain HTML forms that work without JavaScript; small modules under `/static/parking/` add
the map and the live bay light. Each route calls the same services and queries the API
does. A refused form is shown again with the error beside its field, in the reader's
language, and nothing is booked or charged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Protocol, runtime_checkable
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shahr.kernel.access import Admits, Principal, Role
from shahr.kernel.clock import TEHRAN, in_tehran
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat
from shahr.kernel.persian import JALALI_MONTHS_EN, JALALI_MONTHS_FA, ascii_digits, jalali
from shahr.kernel.plates import IRAN_FA, InvalidPlateError, parse_plate
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import SettingsDep, TemplatesDep
from shahr.kernel.web.problems import KERNEL_ERROR_STATUS
from shahr.parking import queries, services
from shahr.parking.api import ERROR_STATUS, PortsDep, citizen_id
from shahr.parking.domain import (
    Alternative,
    BayTakenError,
    InvalidWindowError,
    ReservationStatus,
    StreetClass,
    TimeWindow,
    VehicleKind,
    ZoneRules,
    check_open,
    check_stay_length,
    end_early_refund,
)
from shahr.parking.gateways import StartedPayment
from shahr.parking.queries import ReservationView
from shahr.parking.schemas import render_notice
from shahr.parking.services import ParkingPorts

router = APIRouter(tags=["parking pages"], include_in_schema=False)
AnyCaller = Annotated[Principal | None, Depends(Admits(public=True))]
CitizenCaller = Annotated[Principal | None, Depends(Admits(Role.citizen))]
FormText = Annotated[str, Form(max_length=1000)]

# Without a position the map opens on District 2 (Shahrak-e Gharb), where the demo city's
# meters stand first.
DISTRICT_2 = LonLat(51.3700, 35.7600)
SEARCH_RADIUS_M = 1_500.0
WIDER_RADIUS_M = 5_000.0
STEP_MIN = 30
DEFAULT_DURATION_MIN = 60
PRICE_CEILINGS_RIAL = (50_000, 100_000, 200_000, 400_000)
EXTENSION_CHOICES = 8
LIST_LENGTH = 15


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


KIND_LABELS = {
    VehicleKind.car: _("Car"),
    VehicleKind.van: _("Van"),
    VehicleKind.light_truck: _("Light truck"),
    VehicleKind.minibus: _("Minibus"),
    VehicleKind.motorcycle: _("Motorcycle"),
}
CLASS_LABELS = {
    StreetClass.A: _("Class A"),
    StreetClass.B: _("Class B"),
    StreetClass.C: _("Class C"),
    StreetClass.D: _("Class D"),
}
STATUS_LABELS = {
    ReservationStatus.pending: _("Waiting for payment"),
    ReservationStatus.confirmed: _("Paid and reserved"),
    ReservationStatus.lapsed: _("Not paid in time"),
    ReservationStatus.cancelled: _("Cancelled"),
    ReservationStatus.ended: _("Ended early"),
    ReservationStatus.expired: _("Finished"),
}
# Where a service's error goes on the meter page: the field the citizen can change.
METER_FIELDS = {
    "starts_at": "start",
    "ends_at": "duration_min",
    "duration_min": "duration_min",
    "day": "day",
    "start": "start",
    "bay_id": "bay",
    "plate": "plate",
    "vehicle_kind": "plate",
    "quote_token": "quote",
    "amount_rial": "method",
    "method": "method",
}


def _status_for(error: DomainError) -> int:
    statuses = {**KERNEL_ERROR_STATUS, **ERROR_STATUS}
    for cls in type(error).__mro__:
        if cls in statuses:
            return statuses[cls]
    return 400


def _say(error: DomainError) -> str:
    return i18n.gettext(error.message, **error.params)


def _digits(text: object) -> str:
    value = str(text)
    if i18n.current_language.get() == "fa":
        return value.translate(str.maketrans("0123456789.", "۰۱۲۳۴۵۶۷۸۹٫"))
    return value


# --- the citizen's vehicles (identity's data, through parking's vehicle port) -----------------


class RegisteredVehicle(Protocol):
    @property
    def plate(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def nickname(self) -> str | None: ...


@runtime_checkable
class ListsVehicles(Protocol):
    """A vehicle directory that can also list a citizen's vehicles (for the vehicle picker)."""

    async def vehicles_of(self, *, citizen_id: str) -> Sequence[RegisteredVehicle]: ...


@dataclass(frozen=True)
class VehicleChoice:
    plate: str
    kind: VehicleKind
    nickname: str | None
    parts: dict[str, str]
    display_fa: str
    display_en: str


def plate_parts(canonical: str) -> dict[str, str]:
    """A plate's parts as the metal shows them: Persian digits, letter, «ایران», region."""
    plate = parse_plate(canonical)
    fa = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    return {
        "first": plate.first.translate(fa),
        "letter": plate.letter_fa,
        "middle": plate.middle.translate(fa),
        "iran": IRAN_FA,
        "region": plate.region.translate(fa),
        "fa": plate.display_fa,
        "en": plate.display_en,
        "canonical": plate.canonical,
    }


async def _vehicles(ports: ParkingPorts, principal: Principal | None) -> list[VehicleChoice] | None:
    """The citizen's vehicles; None when signed out or the directory cannot list them."""
    if principal is None or Role.citizen not in principal.roles:
        return None
    if not isinstance(ports.vehicles, ListsVehicles):
        return None
    found = []
    for vehicle in await ports.vehicles.vehicles_of(citizen_id=principal.id):
        if vehicle.kind not in VehicleKind.__members__:
            continue
        parts = plate_parts(vehicle.plate)
        found.append(
            VehicleChoice(
                vehicle.plate,
                VehicleKind(vehicle.kind),
                vehicle.nickname,
                parts,
                parts["fa"],
                parts["en"],
            )
        )
    return found


# --- the window a citizen picks: a day, a start (now or a time) and a duration --------------


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    note: str = ""


@dataclass
class WindowChoice:
    """The day, start and duration picked in a form, and the window they make."""

    day: date
    start: str
    duration_min: int
    window: TimeWindow
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        return {
            "day": self.day.isoformat(),
            "start": self.start,
            "duration_min": str(self.duration_min),
        }


def read_window(
    now: datetime, *, day: str, start: str, duration_min: str, rules: ZoneRules
) -> WindowChoice:
    """Read the form's day, start and duration; a value that cannot be read is named."""
    errors: dict[str, str] = {}
    today = in_tehran(now).date()
    picked_day = today
    if day:
        try:
            picked_day = date.fromisoformat(ascii_digits(day).strip())
        except ValueError:
            errors["day"] = i18n.gettext("Choose a day from the list.")
    picked_start = (ascii_digits(start).strip() or "now") if start else "now"
    clock_time: time | None = None
    if picked_start != "now":
        try:
            clock_time = time.fromisoformat(picked_start)
        except ValueError:
            errors["start"] = i18n.gettext("Choose a start time from the list.")
            picked_start = "now"
    minutes = DEFAULT_DURATION_MIN
    if duration_min:
        text = ascii_digits(duration_min).strip()
        if text.isdigit() and 0 < int(text) <= services.MAX_STAY_ASKED_MIN:
            minutes = int(text)
        else:
            errors["duration_min"] = i18n.gettext("Choose how long you will park.")
    if clock_time is not None:
        starts_at = datetime.combine(picked_day, clock_time, TEHRAN)
    elif picked_day == today:
        # "Now" is the minute the citizen is in: the policy's grace admits a start this
        # recent, and the bay light turns green at once rather than at the next minute.
        starts_at = now.replace(second=0, microsecond=0)
    else:
        # "Now" on another day means from the time the street opens.
        opens = time(rules.opens_min // 60, rules.opens_min % 60)
        starts_at = datetime.combine(picked_day, opens, TEHRAN)
        picked_start = opens.strftime("%H:%M")
    window = TimeWindow(starts_at, starts_at + timedelta(minutes=minutes))
    return WindowChoice(picked_day, picked_start, minutes, window, errors)


def _minute_of_day(minutes: int) -> str:
    return _digits(f"{minutes // 60:02d}:{minutes % 60:02d}")


def _clock(moment: datetime) -> str:
    return _digits(in_tehran(moment).strftime("%H:%M"))


def _day_and_month(day: date) -> str:
    moment = jalali(datetime.combine(day, time(12), TEHRAN))
    language = i18n.current_language.get()
    months = JALALI_MONTHS_FA if language == "fa" else JALALI_MONTHS_EN
    return _digits(f"{moment.day} {months[moment.month - 1]}")


def _weekday(day: date) -> str:
    return format_date(day, "EEEE", locale=i18n.current_language.get())


def duration_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return i18n.gettext("{minutes} min", minutes=rest)
    if rest == 0:
        return i18n.gettext("{hours} h", hours=hours)
    return i18n.gettext("{hours} h {minutes} min", hours=hours, minutes=rest)


def window_options(
    now: datetime, choice: WindowChoice, rules: ZoneRules
) -> dict[str, list[Option]]:
    """The day, start and duration lists of the window form, in the reader's language."""
    today = in_tehran(now).date()
    days = []
    for offset in range(7):
        day = today + timedelta(days=offset)
        name = (
            i18n.gettext("Today")
            if offset == 0
            else i18n.gettext("Tomorrow")
            if offset == 1
            else _weekday(day)
        )
        note = i18n.gettext("no street parking, free") if day.weekday() == 4 else ""
        comma = "،" if i18n.current_language.get() == "fa" else ","
        days.append(Option(day.isoformat(), f"{name}{comma} {_day_and_month(day)}", note))
    # Times already past today, and stays that would run past closing, are not offered
    # (the one chosen stays in the list, so a refused choice is shown with its error).
    local = in_tehran(now)
    past = local.hour * 60 + local.minute if choice.day == today else -1
    latest = rules.closes_min - rules.min_stay_min
    starts = [Option("now", i18n.gettext("Now"))] if choice.day == today else []
    for minute in range(rules.opens_min, latest + 1, STEP_MIN):
        value = f"{minute // 60:02d}:{minute % 60:02d}"
        if minute > past or value == choice.start:
            starts.append(Option(value, _minute_of_day(minute)))
    if choice.start not in {o.value for o in starts}:
        label = i18n.gettext("Now") if choice.start == "now" else _digits(choice.start)
        starts.insert(0, Option(choice.start, label))
    start = in_tehran(choice.window.starts_at)
    room = rules.closes_min - (start.hour * 60 + start.minute)
    durations: list[Option] = []
    for minutes in range(rules.min_stay_min, rules.max_stay_min + 1, STEP_MIN):
        if minutes > room and minutes != choice.duration_min and durations:
            break
        end = choice.window.starts_at + timedelta(minutes=minutes)
        until = i18n.gettext("until {time}", time=_clock(end))
        durations.append(Option(str(minutes), duration_label(minutes), until))
    if choice.duration_min not in {int(o.value) for o in durations}:
        durations.insert(0, Option(str(choice.duration_min), duration_label(choice.duration_min)))
    return {"days": days, "starts": starts, "durations": durations}


def _kind(text: str) -> VehicleKind:
    return VehicleKind(text) if text in VehicleKind.__members__ else VehicleKind.car


def _formatting() -> dict[str, Any]:
    """Helpers the templates call: times, durations, distances, multipliers."""

    def distance(metres: float | None) -> str:
        if metres is None:
            return ""
        if metres < 1_000:
            return i18n.gettext("{metres} m", metres=int(round(metres, -1)))
        return i18n.gettext("{km} km", km=_digits(f"{metres / 1_000:.1f}"))

    def factor(basis_points: int) -> str:
        return _digits(f"{basis_points / 10_000:g}")

    return {
        "clock": _clock,
        "duration_label": duration_label,
        "distance": distance,
        "factor": factor,
        "plate_parts": plate_parts,
        "kind_labels": KIND_LABELS,
        "class_labels": CLASS_LABELS,
        "status_labels": STATUS_LABELS,
    }


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
    kind = _kind(vehicle_kind)
    ceiling = ascii_digits(max_price_rial).strip()
    centre = LonLat(lon, lat) if lon is not None and lat is not None else DISTRICT_2
    price_ceiling = int(ceiling) if ceiling.isdigit() else None

    async def search(radius_m: float) -> queries.SearchResult:
        return await queries.search_meters(
            ports.database,
            ports.inventory,
            ports.rules,
            now=now,
            window=choice.window,
            vehicle_kind=kind,
            near=centre,
            radius_m=radius_m,
            max_price_rial=price_ceiling,
            limit=LIST_LENGTH,
        )

    result = await search(SEARCH_RADIUS_M)
    if not result.meters:
        result = await search(WIDER_RADIUS_M)
    errors = dict(choice.errors)
    refusal = next((m.refusal for m in result.meters if m.refusal is not None), None)
    if refusal is not None and not errors:
        errors[METER_FIELDS.get(refusal.field or "", "start")] = _say(refusal)
    query = {**choice.query(), "vehicle_kind": kind.value}
    language = i18n.current_language.get()
    markers = [
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
        }
        for m in result.meters
    ]
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
        "query": query,
        "markers": markers,
        "tile_url": settings.tile_url or "",
        **_formatting(),
    }
    return templates.render(request, "parking/map.html", context)


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


async def _meter_page(
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
    signed_in = principal is not None and Role.citizen in principal.roles
    vehicles = await _vehicles(ports, principal)
    plate = ascii_digits(form.plate).strip()
    chosen: VehicleChoice | None = None
    if vehicles:
        chosen = next((v for v in vehicles if v.plate == plate), None) or vehicles[0]
        plate = chosen.plate
    kind = chosen.kind if chosen else _kind(form.vehicle_kind)
    detail = await queries.meter_detail(
        ports.database,
        ports.inventory,
        ports.rules,
        meter_id=meter_id,
        window=choice.window,
        vehicle_kind=kind,
        now=now,
    )
    if detail.refusal is not None and not choice.errors:
        shown.setdefault(
            METER_FIELDS.get(detail.refusal.field or "", "start"), _say(detail.refusal)
        )
    bay_id = int(form.bay) if form.bay.isdigit() else None
    picked = next((s for s in detail.bays if s.bay.id == bay_id), None)
    quote = None
    # An error about the quote itself (expired, price changed) still shows a fresh quote.
    blocking = shown.keys() - {"quote", "method"}
    if picked is not None and picked.available and signed_in and plate and not blocking:
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
            shown[METER_FIELDS.get(error.field or "", "quote")] = _say(error)
            status_code = max(status_code, _status_for(error))
    elif picked is not None and signed_in and not plate:
        shown.setdefault("plate", i18n.gettext("Choose the vehicle you will park."))
    if picked is not None and not picked.available and not blocking:
        shown["bay"] = i18n.gettext("This bay is not free for that time. Choose a free bay.")
    context = {
        "meter": meter,
        "zone": zone,
        "detail": detail,
        "choice": choice,
        "options": window_options(now, choice, zone.rules),
        "form": form,
        "signed_in": signed_in,
        "vehicles": vehicles,
        "chosen": chosen,
        "plate": plate,
        "kind": kind,
        "kinds": KIND_LABELS,
        "picked": picked,
        "quote": quote,
        "price": quote.price if quote else detail.price,
        "errors": shown,
        "alternatives": alternatives,
        "query": {**choice.query(), "vehicle_kind": kind.value},
        "clock_text": {
            "opens": _minute_of_day(zone.rules.opens_min),
            "closes": _minute_of_day(zone.rules.closes_min),
        },
        "here": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        **_formatting(),
    }
    return templates.render(request, "parking/meter.html", context, status_code=status_code)


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
    return await _meter_page(request, templates, ports, principal, meter_id, form)


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
        return await _meter_page(
            request, templates, ports, principal, int(meter_id), form,
            errors={where: _say(error)}, alternatives=alternatives,
            status_code=_status_for(error),
        )  # fmt: skip
    return _after_payment(started.reservation.id, started.payment)


def _after_payment(reservation_id: str, payment: StartedPayment | None, done: str = "") -> Response:
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


# --- a reservation: the confirmation page with the live bay light ------------------------------


def _receipts(view: ReservationView) -> list[dict[str, Any]]:
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
        "receipts": _receipts(view),
        "errors": errors or {},
        "now": now,
        **_formatting(),
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
            errors={"method": _say(error)}, status_code=_status_for(error),
        )  # fmt: skip
    return _after_payment(reservation_id, payment)


# --- my parking: current and upcoming stays, and what can be done with them ------------------


@dataclass(frozen=True)
class ExtensionChoice:
    ends_at: datetime
    extra_rial: int


def extension_choices(
    view: ReservationView, ports: ParkingPorts, *, now: datetime
) -> list[ExtensionChoice]:
    """Later ends in half-hour steps, each with the extra to pay; within hours and max stay.

    Someone else's later booking is found only when extending (the service says how far).
    """
    r = view.reservation
    tariff = ports.rules.tariffs.version(r.tariff_version)
    choices = []
    for step in range(1, EXTENSION_CHOICES + 1):
        ends_at = r.paid_ends_at + timedelta(minutes=STEP_MIN * step)
        window = TimeWindow(r.starts_at, ends_at)
        try:
            check_open(window, view.zone.rules, ports.rules.holidays)
            check_stay_length(window.duration_min, view.zone.rules)
        except InvalidWindowError:
            break
        price = tariff.price(window.duration_min, r.vehicle_kind, r.street_class)
        choices.append(ExtensionChoice(ends_at, max(0, price.total_rial - r.amount_rial)))
    return choices if now < r.paid_ends_at else []


def end_refund(view: ReservationView, ports: ParkingPorts, *, now: datetime) -> int:
    """What ending the stay now gives back: the unused whole half-hours."""
    r = view.reservation
    tariff = ports.rules.tariffs.version(r.tariff_version)
    return end_early_refund(r, tariff, ports.rules.policy, at=now)


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
    now = ports.clock.now()
    citizen = citizen_id(principal)
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
        "receipts": {rid: _receipts(view) for rid, view in full.items()},
        "vehicles": await _vehicles(ports, principal),
        "notices": [render_notice(n.message, n.params, language) for n in notices],
        "errors": errors or {},
        "open_form": open_form,
        "now": now,
        **_formatting(),
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
) -> HTMLResponse:
    """My parking again, the error beside the form of the stay it concerns."""
    return await _my_page(
        request,
        templates,
        ports,
        principal,
        errors={reservation_id: {where: _say(error)}},
        open_form=f"{action}-{reservation_id}",
        status_code=_status_for(error),
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
            request, templates, ports, principal, reservation_id, "extend", error, where
        )
    return _after_payment(reservation_id, change.payment, done="extended")


@router.post("/parking/reservations/{reservation_id}/end")
async def end(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
) -> Response:
    """End the stay now; the unused whole half-hours go back to the wallet."""
    try:
        await services.end_reservation(
            ports, citizen_id=citizen_id(principal), reservation_id=reservation_id
        )
    except DomainError as error:
        return await _refused(
            request, templates, ports, principal, reservation_id, "end", error, "end"
        )
    return RedirectResponse(f"/parking/reservations/{reservation_id}?done=ended", 303)


@router.post("/parking/reservations/{reservation_id}/cancel")
async def cancel(
    reservation_id: str,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
) -> Response:
    """Cancel before the start; everything paid goes back to the wallet."""
    try:
        await services.cancel_reservation(
            ports, citizen_id=citizen_id(principal), reservation_id=reservation_id
        )
    except DomainError as error:
        return await _refused(
            request, templates, ports, principal, reservation_id, "cancel", error, "cancel"
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
