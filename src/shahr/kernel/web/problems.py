"""Errors as RFC 9457 problem+json for the API and as readable pages for people."""

from __future__ import annotations

import html
import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from shahr.kernel.access import current_principal
from shahr.kernel.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    NotSignedInError,
    PermissionDeniedError,
    RateLimitedError,
)
from shahr.kernel.outages import OUTAGE_FAILURES, ServiceUnavailableError, outage_of
from shahr.kernel.persian import persian_digits
from shahr.kernel.principals import STAFF_ROLES
from shahr.kernel.web import i18n
from shahr.kernel.web.navigation import role_names
from shahr.kernel.web.templating import Templates

log = logging.getLogger("shahr.http")

# Paths whose answers are for programs: problem+json, and no CSRF cookie (security.py).
API_PREFIXES = ("/api/", "/open/", "/open311/")


class BodyTooLargeError(DomainError):
    """The request body is larger than the server accepts."""


class CsrfError(DomainError):
    """An unsafe request from a browser came without the page's token."""


# The kernel's own errors; each area adds its map (error class -> status) in its api module.
KERNEL_ERROR_STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    RateLimitedError: 429,
    NotSignedInError: 401,
    PermissionDeniedError: 403,
    CsrfError: 403,
    BodyTooLargeError: 413,
    ServiceUnavailableError: 503,
}

_STATUS_TITLES = {
    400: "The request could not be accepted.",
    401: "Please sign in first.",
    403: "Your account may not do this.",
    404: "Nothing was found at this address.",
    405: "This address does not accept that method.",
    409: "This clashes with something that already exists.",
    413: "The request is too large.",
    422: "Some fields are not valid.",
    415: "This type of content is not accepted.",
    429: "Too many attempts.",
    500: "Something went wrong on our side.",
    503: "The service is not available right now.",
}


def wants_problem_json(scope: Scope) -> bool:
    """API paths and clients that ask for JSON get problem+json; browsers get a page."""
    path: str = scope.get("path", "")
    if path.startswith(API_PREFIXES):
        return True
    headers = dict(scope.get("headers", []))
    accept = headers.get(b"accept", b"").decode("latin-1")
    return "application/json" in accept and "text/html" not in accept


def _title(status: int) -> str:
    return i18n.gettext(_STATUS_TITLES.get(status, HTTPStatus(status).phrase))


def problem_response(
    scope: Scope,
    status: int,
    error: DomainError | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    detail = i18n.gettext(error.message, **error.params) if error else _title(status)
    headers: dict[str, str] = {"content-language": i18n.current_language.get()}
    if error is not None and error.retry_after_s is not None:
        headers["retry-after"] = str(error.retry_after_s)
    if status == 401 and not wants_problem_json(scope) and scope.get("method") == "GET":
        # A person who opens a page that needs an account is taken to sign in, and back.
        target = scope.get("path", "/")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        # Staff pages are signed into with a password, not a citizen's code.
        sign_in = "/staff/sign-in" if _within_staff(target) else "/sign-in"
        return RedirectResponse(f"{sign_in}?{urlencode({'next': target})}", status_code=303)
    if wants_problem_json(scope):
        body: dict[str, Any] = {
            "type": f"https://shahr.city/problems/{status}",
            "title": _title(status),
            "status": status,
            "detail": detail,
            "instance": scope.get("path", ""),
        }
        if error is not None:
            body["code"] = type(error).__name__
            if error.field:
                body["field"] = error.field
            if error.retry_after_s is not None:
                body["retry_after_s"] = error.retry_after_s
        if errors:
            body["errors"] = errors
        # An API call's problem is in the language its Accept-Language asked for.
        headers["vary"] = "Accept-Language"
        return JSONResponse(
            body, status_code=status, headers=headers, media_type="application/problem+json"
        )
    language = i18n.current_language.get()
    title = _title(status)
    page = _ERROR_PAGE.format(
        lang=language,
        dir=i18n.direction(language),
        brand=_escape(i18n.gettext("Shahr")),
        status=persian_digits(str(status)) if language == "fa" else status,
        title=_escape(title),
        detail=_escape(_page_detail(status, title, detail)),
        home=_escape(i18n.gettext("Back to the home page")),
        extra="".join(
            f"<li><strong>{_escape(e['field'])}</strong>: {_escape(e['detail'])}</li>"
            for e in errors or []
        ),
    )
    return HTMLResponse(page, status_code=status, headers=headers)


def _page_detail(status: int, title: str, detail: str) -> str:
    # A page that only repeats its heading says nothing more; say where to go instead.
    return detail if detail != title else _hint(status)


def _within_staff(path: str) -> bool:
    return path == "/staff" or path.startswith(("/staff/", "/staff?"))


def _hint(status: int) -> str:
    # gettext("") would answer the catalog's header, so an unknown status gets no hint.
    hint = _STATUS_HINTS.get(status)
    return i18n.gettext(hint) if hint else ""


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


# Self-contained so an error page renders even when templates or the database are broken.
_ERROR_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {brand}</title><link rel="stylesheet" href="/static/shell/shahr.css"></head>
<body class="error-page"><header class="topbar"><a class="brand" href="/">{brand}</a></header>
<main id="main"><div class="card stack"><p class="error-status">{status}</p><h1>{title}</h1>
<p>{detail}</p><ul class="error-fields">{extra}</ul>
<p><a class="button primary" href="/">{home}</a></p></div></main></body></html>"""

_STATUS_HINTS = {
    401: "Sign in with your mobile number and try again.",
    403: "If you think you should have access, ask the city's administrator.",
    404: "The address may be mistyped, or the page may have moved.",
    405: "The address may be mistyped, or the page may have moved.",
    413: "Send a smaller file or less text.",
    422: "Check the fields below and try again.",
    429: "Wait a little and try again.",
    500: "We have been told about it. Please try again in a few minutes.",
    503: "Wait a few seconds and try again.",
}


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(location[-1] if location else "")


_VALIDATION_MESSAGES = {
    "missing": "This field is required.",
    "string_too_short": "This value is too short.",
    "string_too_long": "This value is too long.",
    "string_pattern_mismatch": "This value has the wrong format.",
    "int_parsing": "This must be a whole number.",
    "json_invalid": "The body is not valid JSON.",
    "int_type": "This must be a whole number.",
    "float_parsing": "This must be a number.",
    "float_type": "This must be a number.",
    "bool_parsing": "This must be yes or no.",
    "string_type": "This must be text.",
    "greater_than": "This value is too small.",
    "greater_than_equal": "This value is too small.",
    "less_than": "This value is too large.",
    "less_than_equal": "This value is too large.",
    "enum": "This is not one of the allowed choices.",
    "literal_error": "This is not one of the allowed choices.",
    "too_short": "Too few items.",
    "too_long": "Too many items.",
    "date_parsing": "This must be a date.",
    "date_from_datetime_parsing": "This must be a date.",
    "datetime_parsing": "This must be a date and time.",
    "datetime_from_date_parsing": "This must be a date and time.",
    "uuid_parsing": "This is not a valid identifier.",
    "extra_forbidden": "This field is not expected.",
    "value_error": "This value is not valid.",
    "timezone_aware": "This date and time needs its zone, like +03:30 or Z.",
    "instant_format": "This must be a date and time like 2026-11-26T10:00:00+03:30.",
    "instant_without_zone": "This date and time needs its zone, like +03:30 or Z.",
    "instant_out_of_range": "This date must fall between the years 2000 and 2100.",
    "control_characters": "This text contains control characters.",
}


def _validation_detail(error: Any) -> str:
    """Our words for the checks we know; pydantic's own English message for the rest."""
    known = _VALIDATION_MESSAGES.get(error.get("type", ""))
    return i18n.gettext(known) if known else str(error.get("msg", ""))


async def error_page(
    request: Request,
    status: int,
    error: DomainError | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    """The answer `problem_response` gives, but a person's page keeps the site's header.

    The header needs the principal (sign-out, the staff tools): a guard that refused has
    resolved it already; for other errors it is resolved here, except after a bug (500),
    when the database may be what failed. If the page cannot be drawn, the self-contained
    one is sent instead.
    """
    plain = problem_response(request.scope, status, error, errors=errors)
    if wants_problem_json(request.scope) or not isinstance(plain, HTMLResponse):
        return plain
    try:
        principal = getattr(request.state, "principal", None)
        if status < 500 and principal is None:
            principal = await current_principal(request)
        title = _title(status)
        detail = i18n.gettext(error.message, **error.params) if error else title
        context = {
            "layout": "shell/staff_base.html"
            if principal is not None and principal.kind == "staff"
            else "shell/base.html",
            "status": status,
            "title": title,
            "detail": _page_detail(status, title, detail),
            "errors": errors or [],
            "needed_roles": _needed_roles(request, error),
            "staff_page": _within_staff(request.url.path),
            "principal": principal,
        }
        templates: Templates = request.app.state.templates
        page = templates.render(request, "shell/problem.html", context, status_code=status)
    except Exception:  # the plain page needs nothing that could have failed
        return plain
    page.headers.update({k: v for k, v in plain.headers.items() if k in _KEPT_HEADERS})
    return page


_KEPT_HEADERS = frozenset({"content-language", "retry-after"})


def _needed_roles(request: Request, error: DomainError | None) -> list[str]:
    """The names of the roles that would open the page: the guard's, else the staff tool's."""
    if not isinstance(error, PermissionDeniedError):
        return []
    roles = error.needed_roles or request.app.state.container.workspace.roles_for(request.url.path)
    if roles and roles >= STAFF_ROLES:
        return [i18n.gettext("City staff")]
    return role_names(roles)


def install_error_handlers(app: FastAPI, error_status: dict[type[DomainError], int]) -> None:
    """One handler for every error; the status comes from the merged per-area error maps."""
    statuses = {**KERNEL_ERROR_STATUS, **error_status}

    def status_for(error: DomainError) -> int:
        for cls in type(error).__mro__:
            if cls in statuses:
                return statuses[cls]
        return 400

    async def on_domain_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)  # noqa: S101  # registered for DomainError only
        return await error_page(request, status_for(error), error)

    async def on_validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)  # noqa: S101  # registered for it only
        errors = [
            {
                "field": _field_name(e.get("loc", ())),
                "detail": _validation_detail(e),
            }
            for e in error.errors()
        ]
        return await error_page(request, 422, errors=errors)

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)  # noqa: S101  # registered for it only
        response = await error_page(request, error.status_code)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    async def on_failure(request: Request, error: Exception) -> Response:
        service = outage_of(error)
        if service is None:
            raise error  # a bug: the edge answers 500 and logs it (security.py)
        # The type only: a driver's message may quote the statement's values.
        log.warning(
            "%s unavailable", service, extra={"service": service, "error": type(error).__name__}
        )
        return await error_page(request, 503, ServiceUnavailableError(service))

    async def on_unexpected(request: Request, _error: Exception) -> Response:
        return await error_page(request, 500)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for failure in OUTAGE_FAILURES:
        app.add_exception_handler(failure, on_failure)
    app.add_exception_handler(Exception, on_unexpected)
