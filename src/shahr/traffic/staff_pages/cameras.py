"""The camera registry, for traffic operators: every camera, adding, editing and retiring one.

Plain HTML forms, like the detector inventory: a refused form comes back with the error
beside its box and nothing stored.
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
from shahr.traffic.domain.cameras import Camera, CameraStatus
from shahr.traffic.domain.errors import CameraNotFoundError
from shahr.traffic.queries.cameras import camera as camera_of
from shahr.traffic.queries.cameras import cameras as all_cameras
from shahr.traffic.services.cameras import retire_camera, save_camera
from shahr.traffic.staff_pages.forms import errors_of, status_for

CAMERAS = "/staff/traffic/cameras"
PER_PAGE = 25
Operator = Annotated[Principal | None, Depends(Admits(Role.traffic_operator, Role.admin))]
FormText = Annotated[str, Form(max_length=500)]
FilterText = Annotated[str, Query(max_length=200)]

router = APIRouter(tags=["traffic staff pages"], include_in_schema=False)


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


CAMERA_STATUS_LABELS = {
    CameraStatus.active: _("Working"),
    CameraStatus.faulty: _("Faulty"),
    CameraStatus.retired: _("Retired"),
}
CAMERA_DONE_MESSAGES = {
    "added": _("The camera is added."),
    "saved": _("The camera is saved."),
    "retired": _("The camera is retired: it is no longer proposed to operators."),
}


def _values_of(camera: Camera) -> dict[str, str]:
    def text(value: float | None) -> str:
        return "" if value is None else f"{value:g}"

    return {
        "id": camera.id,
        "name_fa": camera.name_fa,
        "name_en": camera.name_en,
        "lon": text(camera.lon),
        "lat": text(camera.lat),
        "view_bearing_deg": text(camera.view_bearing_deg),
        "stream_url": camera.stream_url or "",
        "snapshot_url": camera.snapshot_url or "",
        "status": camera.status.value,
        "public": "true" if camera.public else "",
    }


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
    found = [
        c
        for c in await all_cameras(database)
        if not wanted
        or wanted in c.id.lower()
        or wanted in c.name_fa
        or wanted in c.name_en.lower()
    ]
    found.sort(key=lambda c: (c.status is CameraStatus.retired, c.id))
    pages = max(1, -(-len(found) // PER_PAGE))
    shown_page = min(chosen or 1, pages)
    context: dict[str, Any] = {
        "cameras": found[(shown_page - 1) * PER_PAGE : shown_page * PER_PAGE],
        "total": len(found),
        "page": shown_page,
        "pages": pages,
        "q": q,
        "status_labels": CAMERA_STATUS_LABELS,
        "values": values or {"status": CameraStatus.active.value},
        "errors": errors,
        "page_link": lambda number: page_link(CAMERAS, {"q": q}, number),
    }
    code = 400 if "page" in errors and status_code == 200 else status_code
    return templates.render(request, "traffic/cameras.html", context, status_code=code)


@router.get(CAMERAS)
async def cameras_page(
    request: Request,
    _operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    q: FilterText = "",
    page: FilterText = "",
) -> Response:
    """Every camera (retired last) and a form to add one."""
    return await _list_page(request, templates, database, q=q, page=page)


def _form(**given: str) -> dict[str, str]:
    return {name: value.strip() for name, value in given.items()}


def _who(operator: Principal | None) -> str:
    return operator.id if operator is not None else "staff"


def _to_camera(camera_id: str, done: str) -> Response:
    return RedirectResponse(
        f"{CAMERAS}/{camera_id}?done={done}", status_code=http_status.HTTP_303_SEE_OTHER
    )


@router.post(CAMERAS)
async def add_camera(
    request: Request,
    operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    id: FormText = "",  # the form's field is named as the file's column
    name_fa: FormText = "",
    name_en: FormText = "",
    lon: FormText = "",
    lat: FormText = "",
    view_bearing_deg: FormText = "",
    stream_url: FormText = "",
    snapshot_url: FormText = "",
    public: FormText = "",
) -> Response:
    """Add a camera; it is snapped to the road it stands by."""
    values = _form(
        id=id, name_fa=name_fa, name_en=name_en, lon=lon, lat=lat,
        view_bearing_deg=view_bearing_deg, stream_url=stream_url, snapshot_url=snapshot_url,
        status=CameraStatus.active.value, public=public,
    )  # fmt: skip
    try:
        await save_camera(database, clock, fields=values, by=_who(operator), adding=True)
    except DomainError as error:
        return await _list_page(
            request, templates, database, values=values, errors=errors_of(error),
            status_code=status_for(error),
        )  # fmt: skip
    return _to_camera(values["id"], "added")


async def _camera_page(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    camera_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = await camera_of(database, camera_id)
    if found is None:
        raise CameraNotFoundError("No camera has this id.")
    done = request.query_params.get("done", "")
    context = {
        "camera": found,
        "values": values or _values_of(found),
        "errors": errors or {},
        "status_labels": CAMERA_STATUS_LABELS,
        "done": CAMERA_DONE_MESSAGES.get(done, "") if status_code == 200 else "",
    }
    return templates.render(request, "traffic/camera.html", context, status_code=status_code)


@router.get(CAMERAS + "/{camera_id}")
async def camera_page(
    camera_id: str,
    request: Request,
    _operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
) -> Response:
    """One camera: a form to edit it, and retiring it."""
    return await _camera_page(request, templates, database, camera_id)


@router.post(CAMERAS + "/{camera_id}")
async def edit_camera(
    camera_id: str,
    request: Request,
    operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    name_fa: FormText = "",
    name_en: FormText = "",
    lon: FormText = "",
    lat: FormText = "",
    view_bearing_deg: FormText = "",
    stream_url: FormText = "",
    snapshot_url: FormText = "",
    status: FormText = "",
    public: FormText = "",
) -> Response:
    """Save a camera's changes (its position, addresses, status, who may see it)."""
    values = _form(
        id=camera_id, name_fa=name_fa, name_en=name_en, lon=lon, lat=lat,
        view_bearing_deg=view_bearing_deg, stream_url=stream_url, snapshot_url=snapshot_url,
        status=status, public=public,
    )  # fmt: skip
    try:
        await save_camera(database, clock, fields=values, by=_who(operator), adding=False)
    except DomainError as error:
        return await _camera_page(
            request, templates, database, camera_id, values=values, errors=errors_of(error),
            status_code=status_for(error),
        )  # fmt: skip
    return _to_camera(camera_id, "saved")


@router.post(CAMERAS + "/{camera_id}/retire")
async def retire(
    camera_id: str,
    request: Request,
    operator: Operator,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
) -> Response:
    """Retire a camera: kept in the list, never proposed again."""
    try:
        await retire_camera(database, clock, camera_id=camera_id, by=_who(operator))
    except DomainError as error:
        return await _camera_page(
            request, templates, database, camera_id, errors=errors_of(error),
            status_code=status_for(error),
        )  # fmt: skip
    return _to_camera(camera_id, "retired")
