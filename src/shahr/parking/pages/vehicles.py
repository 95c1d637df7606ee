"""Another plate on the meter page: the vehicle typed in the plate-shaped input is added to
the citizen's account (identity's, through parking's vehicle port), then used for the quote."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from shahr.kernel.errors import DomainError
from shahr.kernel.plate_input import PLATE_BOXES, plate_from_form
from shahr.kernel.web.deps import TemplatesDep
from shahr.kernel.web.plate_form import PlateBoxesDep
from shahr.parking.api import PortsDep, citizen_id
from shahr.parking.pages.booking import MeterForm, meter_page_for
from shahr.parking.pages.forms import (
    ANOTHER_PLATE,
    DEFAULT_DURATION_MIN,
    CitizenCaller,
    FormText,
    say,
    status_for,
)

router = APIRouter(tags=["parking pages"], include_in_schema=False)


@router.post("/parking/meters/{meter_id}/vehicles")
async def add_vehicle(
    meter_id: int,
    request: Request,
    principal: CitizenCaller,
    ports: PortsDep,
    templates: TemplatesDep,
    typed: PlateBoxesDep,
    day: FormText = "",
    start: FormText = "now",
    duration_min: FormText = str(DEFAULT_DURATION_MIN),
    bay: FormText = "",
    vehicle_kind: FormText = "car",
) -> Response:
    """Add the plate typed on the meter page to the account, and quote with it."""
    try:
        plate = plate_from_form(**typed)
        added = await ports.vehicles.register(
            citizen_id=citizen_id(principal), plate=plate.canonical, kind=vehicle_kind
        )
    except DomainError as error:
        form = MeterForm(day, start, duration_min, bay, ANOTHER_PLATE, vehicle_kind, typed)
        # Each box's error beside it; one about the plate as a whole above the boxes.
        where = f"new_{error.field}" if error.field in {*PLATE_BOXES, "kind"} else "new_plate"
        return await meter_page_for(
            request, templates, ports, principal, meter_id, form,
            errors={where: say(error)}, status_code=status_for(error),
        )  # fmt: skip
    query = {"day": day, "start": start, "duration_min": duration_min, "plate": added.plate}
    if bay:
        query["bay"] = bay
    return RedirectResponse(f"/parking/meters/{meter_id}?{urlencode(query)}#quote", 303)
