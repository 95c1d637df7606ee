"""The detector inventory, for traffic operators: every detector, adding one, moving or
retiring it, and each detector's kept history.

Plain HTML forms: a refused form comes back with the error beside its box and nothing
stored; a done one redirects (303) to the detector's page, which says what was done.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi import status as http_status
from fastapi.responses import RedirectResponse

from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import ClockDep, DatabaseDep, TemplatesDep
from shahr.kernel.web.paging import PAGING_MESSAGES, page_link, page_number
from shahr.traffic.domain.detectors import DetectorKind
from shahr.traffic.domain.errors import DetectorNotFoundError
from shahr.traffic.domain.inventory import ChangeKind, detector_entry
from shahr.traffic.queries.inventory import InventoryLine, detector_changes, detector_inventory
from shahr.traffic.services.inventory import place_detector, retire_detector
from shahr.traffic.staff_pages.forms import errors_of, status_for

INVENTORY = "/staff/traffic/inventory"
PER_PAGE = 25
RECENT_CHANGES = 20
Operator = Annotated[Principal | None, Depends(Admits(Role.traffic_operator, Role.admin))]
FormText = Annotated[str, Form(max_length=200)]
FilterText = Annotated[str, Query(max_length=200)]
PLACE_FIELDS = ("segment_id", "lon", "lat", "bearing_deg", "lane", "position_m")

router = APIRouter(tags=["traffic staff pages"], include_in_schema=False)


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


CHANGE_LABELS = {
    ChangeKind.added: _("Added"),
    ChangeKind.moved: _("Moved"),
    ChangeKind.changed: _("Kind changed"),
    ChangeKind.retired: _("Retired"),
    ChangeKind.restored: _("Back in service"),
}
DONE_MESSAGES = {
    "added": _("The detector is added."),
    "moved": _("The detector is moved; its old place is kept in its history."),
    "retired": _("The detector is retired: its readings are refused from now on."),
    "unchanged": _("Nothing changed: the detector was already there."),
}
KIND_LABELS = {
    DetectorKind.loop: _("Loop"),
    DetectorKind.counting_camera: _("Counting camera"),
    DetectorKind.plate_camera: _("Plate camera"),
}


def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "change_labels": CHANGE_LABELS}


async def _list_page(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    *,
    q: str = "",
    page: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    errors = dict(errors or {})
    chosen = page_number(page)
    if chosen is None:
        errors["page"] = i18n.gettext(PAGING_MESSAGES["page"])
    wanted = q.strip().lower()
    lines = [
        line
        for line in await detector_inventory(database)
        if not wanted or wanted in line.detector.id.lower() or wanted in line.detector.segment_id
    ]
    pages = max(1, -(-len(lines) // PER_PAGE))
    shown_page = min(chosen or 1, pages)
    context = {
        **_labels(),
        "lines": lines[(shown_page - 1) * PER_PAGE : shown_page * PER_PAGE],
        "total": len(lines),
        "in_service": sum(1 for line in lines if line.detector.retired_at is None),
        "page": shown_page,
        "pages": pages,
        "q": q,
        "changes": await detector_changes(database, limit=RECENT_CHANGES),
        "values": values or {"kind": DetectorKind.loop.value},
        "errors": errors,
        "page_link": lambda number: page_link(INVENTORY, {"q": q}, number),
    }
    code = 400 if "page" in errors and status_code == 200 else status_code
    return templates.render(request, "traffic/inventory.html", context, status_code=code)


@router.get(INVENTORY)
async def inventory_page(
    request: Request,
    _operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    q: FilterText = "",
    page: FilterText = "",
) -> Response:
    """Every detector (in service first), the latest changes, and a form to add one."""
    return await _list_page(request, templates, database, q=q, page=page)


def _fields(**given: str) -> dict[str, str]:
    return {name: value.strip() for name, value in given.items()}


@router.post(INVENTORY)
async def add_detector(
    request: Request,
    operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    id: FormText = "",  # the form's field is named as the file's column
    kind: FormText = "",
    segment_id: FormText = "",
    lon: FormText = "",
    lat: FormText = "",
    bearing_deg: FormText = "",
    lane: FormText = "",
    position_m: FormText = "",
) -> Response:
    """Add a detector on a segment, or at a position snapped to the road in its direction."""
    values = _fields(
        id=id, kind=kind, segment_id=segment_id, lon=lon, lat=lat,
        bearing_deg=bearing_deg, lane=lane, position_m=position_m,
    )  # fmt: skip
    try:
        entry = detector_entry(1, values)
        change = await place_detector(database, clock, entry=entry, by=_who(operator), adding=True)
    except DomainError as error:
        return await _list_page(
            request, templates, database, values=values, errors=errors_of(error),
            status_code=status_for(error),
        )  # fmt: skip
    done = "added" if change is not None else "unchanged"
    return _to_detector(values["id"], done)


def _who(operator: Principal | None) -> str:
    return operator.id if operator is not None else "staff"


def _to_detector(detector_id: str, done: str) -> Response:
    return RedirectResponse(
        f"{INVENTORY}/{detector_id}?done={done}", status_code=http_status.HTTP_303_SEE_OTHER
    )


async def _line_of(database: DatabaseDep, detector_id: str) -> InventoryLine:
    for line in await detector_inventory(database):
        if line.detector.id == detector_id:
            return line
    raise DetectorNotFoundError("No detector has this id.")


async def _detector_page(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    detector_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    line = await _line_of(database, detector_id)
    d = line.detector
    done = request.query_params.get("done", "")
    context = {
        **_labels(),
        "line": line,
        "history": await detector_changes(database, detector_id),
        "values": values
        or {
            "segment_id": d.segment_id,
            "lane": "" if d.lane is None else str(d.lane),
            "position_m": "" if d.position_m is None else f"{d.position_m:g}",
        },
        "errors": errors or {},
        "done": DONE_MESSAGES.get(done, "") if status_code == 200 else "",
    }
    return templates.render(
        request, "traffic/inventory_detector.html", context, status_code=status_code
    )


@router.get(INVENTORY + "/{detector_id}")
async def detector_page(
    detector_id: str,
    request: Request,
    _operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
) -> Response:
    """One detector: where it is, a form to move it, retiring it, and its history."""
    return await _detector_page(request, templates, database, detector_id)


@router.post(INVENTORY + "/{detector_id}/move")
async def move_detector(
    detector_id: str,
    request: Request,
    operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    segment_id: FormText = "",
    lon: FormText = "",
    lat: FormText = "",
    bearing_deg: FormText = "",
    lane: FormText = "",
    position_m: FormText = "",
) -> Response:
    """Move a detector to another segment, lane or place along it; the old place is kept."""
    values = _fields(
        segment_id=segment_id, lon=lon, lat=lat, bearing_deg=bearing_deg, lane=lane,
        position_m=position_m,
    )  # fmt: skip
    line = await _line_of(database, detector_id)
    try:
        entry = detector_entry(1, {**values, "id": detector_id, "kind": line.detector.kind})
        change = await place_detector(database, clock, entry=entry, by=_who(operator), adding=False)
    except DomainError as error:
        return await _detector_page(
            request, templates, database, detector_id, values=values,
            errors=errors_of(error), status_code=status_for(error),
        )  # fmt: skip
    return _to_detector(detector_id, "moved" if change is not None else "unchanged")


@router.post(INVENTORY + "/{detector_id}/retire")
async def retire(
    detector_id: str,
    request: Request,
    operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
) -> Response:
    """Take a detector out of service: ingest refuses its readings from then on."""
    try:
        await retire_detector(database, clock, detector_id=detector_id, by=_who(operator))
    except DomainError as error:
        return await _detector_page(
            request, templates, database, detector_id, errors=errors_of(error),
            status_code=status_for(error),
        )  # fmt: skip
    return _to_detector(detector_id, "retired")
