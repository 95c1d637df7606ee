"""The account's vehicles: adding one in the plate-shaped input, and a disability permit
(number, expiry, a photo) sent for staff to review.

Plain HTML forms; a refused form comes back with the error beside its box, and nothing is
written (the permit and its photo are one row, written only once everything is checked).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse

from shahr.identity import queries, services
from shahr.identity.api import ERROR_STATUS, required
from shahr.identity.domain import (
    PHOTO_MAX_BYTES,
    DisabilityPermit,
    PermitState,
    Vehicle,
    VehicleKind,
)
from shahr.kernel.access import Admits
from shahr.kernel.clock import TEHRAN, in_tehran
from shahr.kernel.errors import DomainError
from shahr.kernel.persian import format_jalali
from shahr.kernel.plate_input import PLATE_BOXES, plate_from_form, plate_parts
from shahr.kernel.plates import Plate, parse_vehicle_plate, plate_letters
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import BusDep, ClockDep, DatabaseDep, TemplatesDep
from shahr.kernel.web.plate_form import PlateBoxesDep
from shahr.kernel.web.problems import KERNEL_ERROR_STATUS

CitizenCaller = Annotated[Principal | None, Depends(Admits(Role.citizen))]
FormText = Annotated[str, Form(max_length=200)]

# Labels for the kind picker, as msgids (translated in the template).
VEHICLE_KIND_LABELS = {
    VehicleKind.car: "Car",
    VehicleKind.van: "Van",
    VehicleKind.light_truck: "Light truck",
    VehicleKind.minibus: "Minibus",
    VehicleKind.motorcycle: "Motorcycle",
}
PERMIT_STATE_LABELS = {
    PermitState.pending: "Disability permit: waiting for review",
    PermitState.approved: "Disability permit: approved",
    PermitState.rejected: "Disability permit: rejected",
    PermitState.expired: "Disability permit: expired",
}
# The fields an error on the account's vehicle form may name.
VEHICLE_FIELDS = frozenset({"plate", *PLATE_BOXES, "kind", "nickname"})
PERMIT_FIELDS = frozenset({"permit_number", "permit_expires_on", "permit_photo"})

router = APIRouter(tags=["pages"], include_in_schema=False)


def status_for(error: DomainError) -> int:
    statuses = {**KERNEL_ERROR_STATUS, **ERROR_STATUS}
    for cls in type(error).__mro__:
        if cls in statuses:
            return statuses[cls]
    return status.HTTP_400_BAD_REQUEST


async def account_context(
    database: DatabaseDep, clock: ClockDep, principal: Principal
) -> dict[str, Any]:
    vehicles = await queries.vehicles_of(database, citizen_id=principal.id)
    permits = await queries.permits_of(database, citizen_id=principal.id)
    today = in_tehran(clock.now()).date()
    english = i18n.current_language.get() != "fa"
    return {
        "vehicles": [_vehicle_item(v, permits.get(v.id), today) for v in vehicles],
        "kinds": VEHICLE_KIND_LABELS,
        "permit_states": PERMIT_STATE_LABELS,
        "letters": [
            {"value": x.label, "label": f"{x.label} ({x.letter_fa})" if english else x.letter_fa}
            for x in plate_letters()
        ],
        "form": {"plate": "", "kind": VehicleKind.car.value, "nickname": "", "boxes": {}},
        "permit_form": {},
        "photo_max_mb": PHOTO_MAX_BYTES // (1024 * 1024),
        "errors": {},
    }


def jalali_day(day: date) -> str:
    """A calendar day in the Jalali calendar, in the reader's language: `۲۹ اسفند ۱۴۰۵`."""
    noon = datetime.combine(day, time(12), TEHRAN)
    return format_jalali(noon, i18n.current_language.get(), with_time=False)


def _vehicle_item(vehicle: Vehicle, permit: DisabilityPermit | None, today: date) -> dict[str, Any]:
    """The vehicle with its plate's parts as the metal shows them, and its permit's state."""
    plate = parse_vehicle_plate(vehicle.plate)
    return {
        "vehicle": vehicle,
        "plate": plate,
        "parts": plate_parts(plate),
        "permit": permit,
        "permit_state": permit.state_on(today) if permit else None,
        "permit_until": jalali_day(permit.expires_on) if permit else "",
        "can_carry_permit": vehicle.kind is not VehicleKind.motorcycle,
        # A ♿ plate opens no disabled bay by itself: its owner is asked for the permit.
        "permit_asked": permit is None and isinstance(plate, Plate) and plate.disability_series,
    }


async def form_error(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    principal: Principal,
    error: DomainError,
    *,
    fields: frozenset[str],
    default_field: str,
    **shown: Any,
) -> HTMLResponse:
    """The account page again, the message beside the box the error names."""
    context = await account_context(database, clock, principal)
    field = error.field if error.field in fields else default_field
    context.update(shown, errors={field: i18n.gettext(error.message, **error.params)})
    return templates.render(
        request, "identity/account.html", context, status_code=status_for(error)
    )


@router.post("/account/vehicles")
async def account_add_vehicle(
    request: Request,
    principal: CitizenCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    bus: BusDep,
    typed: PlateBoxesDep,
    plate: FormText = "",
    kind: FormText = VehicleKind.car.value,
    nickname: FormText = "",
) -> Response:
    """Add a vehicle: typed in the plate's boxes (the page), or as one text (`plate`)."""
    citizen = required(principal)
    try:
        text = plate if plate.strip() else plate_from_form(**typed).canonical
        await services.register_vehicle(
            database, clock, bus, citizen_id=citizen.id, plate=text, kind=kind, nickname=nickname
        )
    except DomainError as error:
        form = {"plate": plate, "kind": kind, "nickname": nickname, "boxes": typed}
        return await form_error(
            request, templates, database, clock, citizen, error,
            fields=VEHICLE_FIELDS, default_field="plate", form=form,
        )  # fmt: skip
    return RedirectResponse("/account", status_code=status.HTTP_303_SEE_OTHER)


async def _read_photo(photo: UploadFile | None) -> bytes:
    """The photo's bytes, reading no more than one byte past the limit."""
    if photo is None:
        return b""
    data = await photo.read(PHOTO_MAX_BYTES + 1)
    await photo.close()
    return data


@router.post("/account/vehicles/{vehicle_id}/permit")
async def account_submit_permit(
    vehicle_id: str,
    request: Request,
    principal: CitizenCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    permit_number: FormText = "",
    permit_expires_on: FormText = "",
    permit_photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Send the vehicle's disability permit for review (it replaces an earlier one)."""
    citizen = required(principal)
    try:
        # One byte past the limit is enough for the service to refuse a photo too large.
        photo = await _read_photo(permit_photo)
        await services.submit_permit(
            database, clock, citizen_id=citizen.id, vehicle_id=vehicle_id,
            number=permit_number, expires_on=permit_expires_on, photo=photo,
        )  # fmt: skip
    except DomainError as error:
        shown = {
            "vehicle_id": vehicle_id,
            "permit_number": permit_number,
            "permit_expires_on": permit_expires_on,
        }
        return await form_error(
            request, templates, database, clock, citizen, error,
            fields=PERMIT_FIELDS, default_field="permit_number", permit_form=shown,
        )  # fmt: skip
    return RedirectResponse("/account?sent=permit", status_code=status.HTTP_303_SEE_OTHER)
