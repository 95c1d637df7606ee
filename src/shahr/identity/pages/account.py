"""Identity's pages: citizen sign-in by code, staff sign-in, the citizen's account (adding
a vehicle and its disability permit is in `vehicles`).

Plain HTML forms that work without JavaScript. A refused form is shown again with the
error next to its field, in the reader's language, and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from shahr.identity import services
from shahr.identity.api import (
    ERROR_STATUS,
    SmsDep,
    clear_session_cookie,
    presented_token,
    required,
    set_session_cookie,
)
from shahr.identity.domain import TooManyWrongCodesError, mask_phone, parse_phone
from shahr.identity.pages import vehicles
from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import (
    BusDep,
    CacheDep,
    ClientAddressDep,
    ClockDep,
    DatabaseDep,
    RateLimiterDep,
    SettingsDep,
    TemplatesDep,
)
from shahr.kernel.web.problems import KERNEL_ERROR_STATUS

AnyCaller = Annotated[Principal | None, Depends(Admits(public=True))]
CitizenCaller = Annotated[Principal | None, Depends(Admits(Role.citizen))]
FormText = Annotated[str, Form(max_length=200)]

router = APIRouter(tags=["pages"], include_in_schema=False)


def _status_for(error: DomainError) -> int:
    statuses = {**KERNEL_ERROR_STATUS, **ERROR_STATUS}
    for cls in type(error).__mro__:
        if cls in statuses:
            return statuses[cls]
    return status.HTTP_400_BAD_REQUEST


def _translated(error: DomainError) -> str:
    """The error in the reader's language (numbers in Persian digits on Persian pages)."""
    return i18n.gettext(error.message, **error.params)


def _form_error(
    templates: TemplatesDep,
    request: Request,
    name: str,
    error: DomainError,
    context: dict[str, Any],
    *,
    fields: frozenset[str],
    default_field: str,
) -> HTMLResponse:
    """Show the form again with the message beside the field it names.

    An error about something the form has no box for (a lockout found while asking for a
    code) goes beside the form's main field, so it is never silently dropped.
    """
    field = error.field if error.field in fields else default_field
    response = templates.render(
        request,
        name,
        {**context, "errors": {field: _translated(error)}},
        status_code=_status_for(error),
    )
    if error.retry_after_s is not None:
        response.headers["retry-after"] = str(error.retry_after_s)
    return response


def _safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


# --- citizens: sign in with a code ---


@router.get("/sign-in")
async def sign_in_page(
    request: Request, principal: AnyCaller, templates: TemplatesDep, next: str | None = None
) -> Response:
    if principal is not None and Role.citizen in principal.roles:
        return RedirectResponse(_safe_next(next, "/account"), status_code=status.HTTP_303_SEE_OTHER)
    return templates.render(
        request, "identity/sign_in.html", {"step": "phone", "phone": "", "next": next or ""}
    )


@router.post("/sign-in")
async def sign_in_request_code(
    request: Request,
    _principal: AnyCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    rate_limiter: RateLimiterDep,
    sms: SmsDep,
    settings: SettingsDep,
    client_address: ClientAddressDep,
    phone: FormText = "",
    next: FormText = "",
) -> Response:
    context = {"step": "phone", "phone": phone, "next": next}
    try:
        sent = await services.request_sign_in_code(
            database, clock, rate_limiter, sms, settings, phone=phone, client_address=client_address
        )
    except DomainError as error:
        return _form_error(
            templates,
            request,
            "identity/sign_in.html",
            error,
            context,
            fields=frozenset({"phone"}),
            default_field="phone",
        )
    return templates.render(
        request,
        "identity/sign_in.html",
        {
            "step": "code",
            "phone": sent.phone,
            "masked_phone": mask_phone(sent.phone),
            "code_length": settings.otp_length,
            "ttl_minutes": max(1, settings.otp_ttl_s // 60),
            "next": next,
        },
    )


@router.post("/sign-in/code")
async def sign_in_verify_code(
    request: Request,
    _principal: AnyCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    bus: BusDep,
    rate_limiter: RateLimiterDep,
    settings: SettingsDep,
    client_address: ClientAddressDep,
    phone: FormText = "",
    code: FormText = "",
    next: FormText = "",
) -> Response:
    try:
        signed_in = await services.verify_sign_in_code(
            database,
            clock,
            bus,
            rate_limiter,
            settings,
            phone=phone,
            code=code,
            client_address=client_address,
        )
    except DomainError as error:
        step = "phone" if error.field == "phone" else "code"
        context: dict[str, Any] = {
            "step": step,
            "phone": phone,
            "code_length": settings.otp_length,
            "ttl_minutes": max(1, settings.otp_ttl_s // 60),
            "next": next,
        }
        if step == "code":
            context["masked_phone"] = _masked(phone)
        if isinstance(error, TooManyWrongCodesError):
            # Locked out: a code box (or a new code) would only be refused until it ends.
            context["step"] = "locked"
        return _form_error(
            templates,
            request,
            "identity/sign_in.html",
            error,
            context,
            fields=frozenset({step}),
            default_field=step,
        )
    response = RedirectResponse(_safe_next(next, "/account"), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, settings, signed_in.token)
    return response


def _masked(phone: str) -> str:
    try:
        return mask_phone(parse_phone(phone))
    except DomainError:
        return ""


# --- staff: sign in with a password ---


@router.get("/staff/sign-in")
async def staff_sign_in_page(
    request: Request, _principal: AnyCaller, templates: TemplatesDep, next: str | None = None
) -> Response:
    return templates.render(
        request, "identity/staff_sign_in.html", {"username": "", "next": next or ""}
    )


@router.post("/staff/sign-in")
async def staff_sign_in(
    request: Request,
    _principal: AnyCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    cache: CacheDep,
    rate_limiter: RateLimiterDep,
    settings: SettingsDep,
    client_address: ClientAddressDep,
    username: FormText = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: FormText = "",
) -> Response:
    try:
        signed_in = await services.sign_in_staff(
            database,
            clock,
            cache,
            rate_limiter,
            settings,
            username=username,
            password=password,
            client_address=client_address,
        )
    except DomainError as error:
        return _form_error(
            templates,
            request,
            "identity/staff_sign_in.html",
            error,
            {"username": username, "next": next},
            fields=frozenset({"username", "password"}),
            default_field="password",
        )
    # Staff land on their role's workspace (the shell's /staff).
    response = RedirectResponse(_safe_next(next, "/staff"), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, settings, signed_in.token)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request,
    principal: AnyCaller,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    await services.sign_out(database, clock, token=presented_token(request))
    # Staff go back to their own door; citizens (and a stale session) to the home page.
    landing = "/staff/sign-in" if principal is not None and principal.kind == "staff" else "/"
    response = RedirectResponse(landing, status_code=status.HTTP_303_SEE_OTHER)
    clear_session_cookie(response, settings)
    return response


# --- the citizen's account: vehicles (adding one and its permit in `vehicles`) ---


@router.get("/account")
async def account_page(
    request: Request,
    principal: CitizenCaller,
    templates: TemplatesDep,
    database: DatabaseDep,
    clock: ClockDep,
    sent: str = "",
) -> Response:
    context = await vehicles.account_context(database, clock, required(principal))
    context["sent"] = sent == "permit"
    return templates.render(request, "identity/account.html", context)


@router.post("/account/vehicles/{vehicle_id}/remove")
async def account_remove_vehicle(
    vehicle_id: str,
    principal: CitizenCaller,
    database: DatabaseDep,
    clock: ClockDep,
    bus: BusDep,
) -> Response:
    await services.remove_vehicle(
        database, clock, bus, citizen_id=required(principal).id, vehicle_id=vehicle_id
    )
    return RedirectResponse("/account", status_code=status.HTTP_303_SEE_OTHER)
