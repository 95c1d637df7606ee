"""The OpenAPI document, completed so that it is the API: every answer a route can give.

FastAPI writes each operation's success and its own validation error (as plain JSON, which
Shahr never sends). Every error here is RFC 9457 problem+json from one handler
(`kernel.web.problems`), so which errors an operation can answer is known from the route
itself, not from its decorator: its guard, its method, its path, its dependencies, and the
error map of the area it belongs to (each area's `ERROR_STATUS`). This module writes those
into the document once, when it is first asked for; a route that knows better says so in
its own `responses=`, which is kept (its description, and its problem schema if it has one).

The document also names every security scheme, used by an operation or not: a way to sign
a call that no route takes yet (open-data API keys) is still part of the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from shahr.kernel.access import Admits
from shahr.kernel.credentials import API_KEY, BEARER, SESSION
from shahr.kernel.errors import DomainError
from shahr.kernel.web.deps import RateLimiterDep
from shahr.kernel.web.problems import API_PREFIXES

PROBLEM_JSON = "application/problem+json"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# An area's error map may name 500 for a broken invariant; that is a bug to fix, not an
# answer to promise, so the document never declares it.
UNPROMISED = frozenset({500})

# Why each status can come back, whatever the operation; an area's own errors add theirs.
WHY: dict[int, str] = {
    400: "The request cannot be read or cannot be done (the problem's `code` says why)",
    401: "Not signed in, or the session, bearer token or API key is no longer valid",
    403: "Signed in without a role this operation admits, or a browser's unsafe request "
    "came without the page's CSRF token",
    404: "Nothing was found at this address",
    409: "This clashes with the current state of what it names",
    410: "The link has expired",
    413: "The request body is larger than the server accepts",
    422: "A parameter or the body is not valid (`errors` names each field)",
    429: "Too many attempts; `Retry-After` says when to try again",
    502: "The payment provider refused or answered nonsense",
    503: "A service this operation needs (database, broker, cache, payment provider) is "
    "not available right now; `Retry-After` says when to try again",
    504: "The payment provider did not answer in time",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details, in the language asked for.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "The error's name, for programs"},
        "field": {"type": "string", "description": "The parameter or field at fault"},
        "retry_after_s": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "detail"],
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}
PROBLEM_REF: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
# FastAPI's own 422, which no answer has: the handler sends a problem with `errors`.
VALIDATION_ERROR_REF = {"$ref": "#/components/schemas/HTTPValidationError"}
_RATE_LIMITER = get_args(RateLimiterDep)[1].dependency

AreaErrorStatus = Mapping[str, Mapping[type[DomainError], int]]


def complete_the_document(app: FastAPI, area_error_status: AreaErrorStatus) -> None:
    """Make `app.openapi()` declare every security scheme and every answer of each route."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            components = document.setdefault("components", {})
            schemes = components.setdefault("securitySchemes", {})
            for credential in (BEARER, SESSION, API_KEY):
                schemes.setdefault(
                    credential.scheme_name,
                    jsonable_encoder(credential.model, by_alias=True, exclude_none=True),
                )
            schemas = components.setdefault("schemas", {})
            schemas["Problem"] = PROBLEM_SCHEMA
            for route, method in documented_operations(app):
                operation = document["paths"][route.path_format][method.lower()]
                declare_problems(operation, route, method, area_error_status)
            # FastAPI's own shape of a validation error, which no answer has.
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it


def documented_operations(app: FastAPI) -> Iterator[tuple[RouteContext, str]]:
    """Each documented route with each of its methods, an included router's as well: FastAPI
    keeps those inside the router, and only their context knows the whole path."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                yield route, method


def declare_problems(
    operation: dict[str, Any], route: RouteContext, method: str, area_error_status: AreaErrorStatus
) -> None:
    """Write each error status the operation can answer, as problem+json."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    path = route.path_format or ""
    media_types = _problem_media_types(path)
    for status in sorted(problem_statuses(route, method, area_error_status)):
        declared = responses.setdefault(str(status), {})
        declared.setdefault("description", WHY.get(status, "An error"))
        if _is_the_routes_own_answer(declared.get("content", {})):
            continue
        declared["content"] = _problem_content(declared.get("content", {}), media_types)
        if status in (429, 503):
            declared.setdefault("headers", {}).update(RETRY_AFTER)
    if method == "GET" and not path.startswith(API_PREFIXES):
        # A person's browser that is not signed in is sent to sign in, not shown a 401.
        responses.setdefault("303", {"description": "To the sign-in page, and back after"})


def problem_statuses(
    route: RouteContext, method: str, area_error_status: AreaErrorStatus
) -> set[int]:
    """The error statuses this operation can answer, read from the route, not its decorator."""
    dependencies = list(_dependencies(route.dependant))
    guards = [d.call for d in dependencies if isinstance(d.call, Admits)]
    # Every call is refused 401 when its bearer token or API key is stale, public or not;
    # every call may meet an outage; every parameter, header included, is validated.
    statuses = {401, 422, 503}
    if any(not guard.public for guard in guards) or method in UNSAFE_METHODS:
        statuses.add(403)
    if "{" in (route.path_format or ""):
        statuses.add(404)
    if route.body_field is not None:
        # A body that is not even text (undecodable bytes) is refused before validation.
        statuses |= {400, 413}
    if any(d.call is _RATE_LIMITER for d in dependencies):
        statuses.add(429)
    area = area_of(route)
    statuses |= set(area_error_status.get(area, {}).values()) if area else set()
    return statuses - UNPROMISED


def area_of(route: RouteContext) -> str | None:
    """The area whose module defines the route (`shahr.<area>....`); None for the shell."""
    endpoint = route.endpoint
    parts = endpoint.__module__.split(".") if endpoint is not None else []
    return parts[1] if len(parts) > 2 and parts[0] == "shahr" else None


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _problem_media_types(path: str) -> tuple[str, ...]:
    # API paths always answer problem+json; elsewhere a browser is shown a page instead
    # (`problems.wants_problem_json`).
    return (PROBLEM_JSON,) if path.startswith(API_PREFIXES) else (PROBLEM_JSON, "text/html")


def _is_the_routes_own_answer(declared: dict[str, Any]) -> bool:
    """A status the route answers itself, not as a problem (`/readyz`'s 503 lists checks)."""
    schema = declared.get("application/json", {}).get("schema")
    return PROBLEM_JSON not in declared and schema not in (None, VALIDATION_ERROR_REF)


def _problem_content(declared: dict[str, Any], media_types: tuple[str, ...]) -> dict[str, Any]:
    """Problem+json: the generic problem, or the route's own problem schema beside it.

    A route's `model=` lands under application/json, where FastAPI puts it, so a problem
    schema given that way is moved to the media type the answer really has.
    """
    own = declared.get(PROBLEM_JSON, {}).get("schema") or declared.get("application/json", {}).get(
        "schema"
    )
    schema: dict[str, Any]
    if own in (None, VALIDATION_ERROR_REF, PROBLEM_REF):
        schema = PROBLEM_REF
    else:
        # The route's problem (a taken bay, with alternatives) or any other error its area
        # maps to the same status (a reservation in the wrong state).
        schema = {"anyOf": [own, PROBLEM_REF]}
    content: dict[str, Any] = {PROBLEM_JSON: {"schema": schema}}
    if "text/html" in media_types:
        content["text/html"] = {"schema": {"type": "string"}}
    return content
