"""Meters and bays, for parking operators: every meter's presence and bays by state, and one
meter's bays with their light and the stay holding each.

Plates are shown masked (the three middle digits hidden): an operator matching a car at the
kerb to its stay needs the first digits, letter and region, not a plate to look a person up
by; enforcement, which needs the whole plate, gets its own screen with its own role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shahr.kernel.access import Admits
from shahr.kernel.plates import IRAN_EN, IRAN_FA, parse_plate
from shahr.kernel.principals import Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import TemplatesDep
from shahr.kernel.web.paging import PAGING_MESSAGES, page_link, page_number, whole_number
from shahr.parking.api import PortsDep
from shahr.parking.lights_api import lights_now
from shahr.parking.pages.forms import formatting
from shahr.parking.queries.meter_board import (
    MeterFilter,
    Presence,
    current_stays,
    meter_board,
    meter_districts,
)

OPERATORS = Depends(Admits(Role.parking_operator, Role.admin))
FilterText = Annotated[str, Query()]
BOARD = "/staff/parking/meters"
# How often the pages ask for the board again (htmx polling): presence and lights change.
REFRESH_S = 10

router = APIRouter(tags=["parking staff pages"], include_in_schema=False)


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


PRESENCE_LABELS = {
    Presence.online: _("Online"),
    Presence.offline: _("Offline"),
    Presence.never_heard: _("Never heard from"),
}
LIGHT_LABELS = {
    "green": _("Green"),
    "red": _("Red"),
    "off": _("Off"),
}
LIGHT_STATE_LABELS = {
    "shown": _("Shown by the meter"),
    "sending": _("Sent, not yet confirmed"),
    "waiting_for_broker": _("Waiting for the meter network"),
    "meter_offline": _("Meter offline: not confirmed"),
}


@dataclass(frozen=True)
class FilterForm:
    """What the filter asked for, what was understood, and what was refused (translated)."""

    wanted: MeterFilter
    values: dict[str, str]
    errors: dict[str, str]


def read_filter(district: str, presence: str, page: str, districts: list[int]) -> FilterForm:
    """The board's filter from the query; a part that cannot be read is left out and said."""
    errors: dict[str, str] = {}
    chosen_district = None
    if district.strip():
        number = whole_number(district)
        if number is None or number not in districts:
            errors["district"] = i18n.gettext(
                "There are no meters in that district. Choose one from the list."
            )
        else:
            chosen_district = number
    chosen_presence = None
    if presence.strip():
        try:
            chosen_presence = Presence(presence.strip())
        except ValueError:
            errors["presence"] = i18n.gettext(
                "Choose online, offline or never heard from the list."
            )
    chosen_page = page_number(page)
    if chosen_page is None:
        errors["page"] = i18n.gettext(PAGING_MESSAGES["page"])
    values = {
        "district": "" if chosen_district is None else str(chosen_district),
        "presence": "" if chosen_presence is None else chosen_presence.value,
    }
    wanted = MeterFilter(district=chosen_district, presence=chosen_presence, page=chosen_page or 1)
    return FilterForm(wanted=wanted, values=values, errors=errors)


@router.get(BOARD, dependencies=[OPERATORS])
async def meters_page(
    request: Request,
    ports: PortsDep,
    templates: TemplatesDep,
    district: FilterText = "",
    presence: FilterText = "",
    page: FilterText = "",
) -> Response:
    """Every meter by district and street: online or not, when last heard, bays by state."""
    districts = await meter_districts(ports.database)
    form = read_filter(district, presence, page, districts)
    board = await meter_board(ports.database, form.wanted, now=ports.clock.now())
    context = {
        "board": board,
        "districts": districts,
        "form": form,
        "presence_labels": PRESENCE_LABELS,
        "refresh_s": REFRESH_S,
        "page_link": lambda number: page_link(BOARD, form.values, number),
    }
    status = 400 if form.errors else 200
    return templates.render(request, "parking/staff_meters.html", context, status_code=status)


def masked_plate(canonical: str) -> dict[str, str]:
    """A plate's parts with its three middle digits hidden, as the metal would show them."""
    plate = parse_plate(canonical)
    hidden = "•••"
    first_fa = ascii_to_persian(plate.first)
    region_fa = ascii_to_persian(plate.region)
    return {
        "first": first_fa,
        "letter": plate.letter_fa,
        "middle": hidden,
        "iran": IRAN_FA,
        "region": region_fa,
        "fa": f"{first_fa} {plate.letter_fa} {hidden} {IRAN_FA} {region_fa}",
        "en": f"{plate.first} {plate.letter} {hidden} {IRAN_EN} {plate.region}",
    }


def ascii_to_persian(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


@router.get("/staff/parking/meters/{meter_id}", dependencies=[OPERATORS])
async def meter_page(
    meter_id: int, request: Request, ports: PortsDep, templates: TemplatesDep
) -> Response:
    """One meter's bays: each light as commanded and as confirmed, and the stay holding it."""
    snapshot = await ports.inventory.current()
    meter = snapshot.meter(meter_id)
    lights = await lights_now(ports.database, ports.inventory, ports.clock, meter_id)
    stays = await current_stays(ports.database, meter_id, now=ports.clock.now())
    lights_by_number = {light.bay_number: light for light in lights.bays}
    bays: list[dict[str, Any]] = []
    for bay in sorted(meter.bays, key=lambda b: b.number):
        stay = stays.get(bay.id)
        bays.append(
            {
                "bay": bay,
                "light": lights_by_number.get(bay.number),
                "stay": stay,
                "plate": None if stay is None else masked_plate(stay.plate),
            }
        )
    context = {
        "meter": meter,
        "zone": snapshot.zone_of(meter),
        "lights": lights,
        "bays": bays,
        "light_labels": LIGHT_LABELS,
        "light_state_labels": LIGHT_STATE_LABELS,
        "refresh_s": REFRESH_S,
        **formatting(),
    }
    return templates.render(request, "parking/staff_meter.html", context)
