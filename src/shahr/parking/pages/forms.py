"""What the parking pages share: the vehicle picker, the window form (day, start,
duration), labels and formatting for the templates, and where an error goes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import Depends, Form

from shahr.kernel.access import Admits
from shahr.kernel.clock import TEHRAN, in_tehran
from shahr.kernel.errors import DomainError
from shahr.kernel.persian import (
    JALALI_MONTHS_EN,
    JALALI_MONTHS_FA,
    ascii_digits,
    jalali,
    persian_digits,
)
from shahr.kernel.plate_input import plate_parts as parts_of
from shahr.kernel.plates import parse_vehicle_plate, plate_letters
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web import i18n
from shahr.kernel.web.problems import KERNEL_ERROR_STATUS
from shahr.parking import queries, services
from shahr.parking.api import ERROR_STATUS
from shahr.parking.domain import (
    ReservationStatus,
    StreetClass,
    TimeWindow,
    VehicleKind,
    ZoneRules,
)
from shahr.parking.services import ParkingPorts

AnyCaller = Annotated[Principal | None, Depends(Admits(public=True))]
CitizenCaller = Annotated[Principal | None, Depends(Admits(Role.citizen))]
FormText = Annotated[str, Form(max_length=1000)]

STEP_MIN = 30
DEFAULT_DURATION_MIN = 60


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


def status_for(error: DomainError) -> int:
    statuses = {**KERNEL_ERROR_STATUS, **ERROR_STATUS}
    for cls in type(error).__mro__:
        if cls in statuses:
            return statuses[cls]
    return 400


def say(error: DomainError) -> str:
    # Times passed as text still read in the page's digits.
    text = i18n.gettext(error.message, **error.params)
    return persian_digits(text) if i18n.current_language.get() == "fa" else text


def digits(text: object) -> str:
    value = str(text)
    if i18n.current_language.get() == "fa":
        return value.translate(str.maketrans("0123456789.", "۰۱۲۳۴۵۶۷۸۹٫"))
    return value


# --- the citizen's vehicles (identity's data, through parking's vehicle port) -----------------

# The picker's value for "another plate", typed in the plate-shaped input.
ANOTHER_PLATE = "another"


@dataclass(frozen=True)
class VehicleChoice:
    plate: str
    kind: VehicleKind
    nickname: str | None
    parts: dict[str, str]
    display_fa: str
    display_en: str
    permit_expires_on: date | None = None
    last_used: bool = False  # the vehicle of the citizen's latest booking


def plate_parts(canonical: str) -> dict[str, str]:
    """A plate's parts as the metal shows them: Persian digits, letter, «ایران», region."""
    return parts_of(parse_vehicle_plate(canonical))


async def citizen_vehicles(
    ports: ParkingPorts, principal: Principal | None
) -> list[VehicleChoice] | None:
    """The citizen's vehicles, the one they booked with last first; None when signed out."""
    if principal is None or Role.citizen not in principal.roles:
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
                vehicle.permit_expires_on,
            )
        )
    if len(found) > 1:
        last = await queries.last_plate(ports.database, citizen_id=principal.id)
        found = [replace(v, last_used=v.plate == last) for v in found]
        found.sort(key=lambda v: not v.last_used)  # stable: the rest keep their order
    return found


def plate_letter_options() -> list[Option]:
    """The letters of Iranian plates for the plate-shaped input's list, in the reader's script."""
    english = i18n.current_language.get() != "fa"
    return [
        Option(
            letter.label,
            f"{letter.label} ({letter.letter_fa})" if english else letter.letter_fa,
            letter.meaning or "",
        )
        for letter in plate_letters()
    ]


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


def minute_of_day(minutes: int) -> str:
    return digits(f"{minutes // 60:02d}:{minutes % 60:02d}")


def clock(moment: datetime) -> str:
    return digits(in_tehran(moment).strftime("%H:%M"))


def _day_and_month(day: date) -> str:
    moment = jalali(datetime.combine(day, time(12), TEHRAN))
    language = i18n.current_language.get()
    months = JALALI_MONTHS_FA if language == "fa" else JALALI_MONTHS_EN
    return digits(f"{moment.day} {months[moment.month - 1]}")


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
            starts.append(Option(value, minute_of_day(minute)))
    if choice.start not in {o.value for o in starts}:
        label = i18n.gettext("Now") if choice.start == "now" else digits(choice.start)
        starts.insert(0, Option(choice.start, label))
    start = in_tehran(choice.window.starts_at)
    room = rules.closes_min - (start.hour * 60 + start.minute)
    durations: list[Option] = []
    for minutes in range(rules.min_stay_min, rules.max_stay_min + 1, STEP_MIN):
        if minutes > room and minutes != choice.duration_min and durations:
            break
        end = choice.window.starts_at + timedelta(minutes=minutes)
        until = i18n.gettext("until {time}", time=clock(end))
        durations.append(Option(str(minutes), duration_label(minutes), until))
    if choice.duration_min not in {int(o.value) for o in durations}:
        durations.insert(0, Option(str(choice.duration_min), duration_label(choice.duration_min)))
    return {"days": days, "starts": starts, "durations": durations}


def kind_of(text: str) -> VehicleKind:
    return VehicleKind(text) if text in VehicleKind.__members__ else VehicleKind.car


def formatting() -> dict[str, Any]:
    """Helpers the templates call: times, durations, distances, multipliers."""

    def distance(metres: float | None) -> str:
        if metres is None:
            return ""
        if metres < 1_000:
            return i18n.gettext("{metres} m", metres=int(round(metres, -1)))
        return i18n.gettext("{km} km", km=digits(f"{metres / 1_000:.1f}"))

    def factor(basis_points: int) -> str:
        return digits(f"{basis_points / 10_000:g}")

    return {
        "clock": clock,
        "duration_label": duration_label,
        "distance": distance,
        "factor": factor,
        "plate_parts": plate_parts,
        "kind_labels": KIND_LABELS,
        "class_labels": CLASS_LABELS,
        "status_labels": STATUS_LABELS,
    }
