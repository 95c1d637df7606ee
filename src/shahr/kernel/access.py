"""Who may call what: the guard every route declares, over the principal of the request.

The kernel owns only the vocabulary (`kernel.principals`) and the guard; `identity` resolves
a request to a principal (wired in bootstrap), so the kernel never imports an area.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Security

from shahr.kernel.credentials import API_KEY, BEARER, SESSION
from shahr.kernel.errors import NotSignedInError, PermissionDeniedError
from shahr.kernel.principals import Principal, Role

PrincipalResolver = Callable[[Request], Awaitable[Principal | None]]
# A FastAPI security scheme (`kernel.credentials`): called with the request, it reads one
# credential and names it in the OpenAPI document.
Credential = Callable[..., Any]


async def _nobody(_request: Request) -> Principal | None:
    return None


def _resolver(request: Request) -> PrincipalResolver:
    resolver: PrincipalResolver | None = request.app.state.container.resolve_principal
    return resolver or _nobody


async def current_principal(request: Request) -> Principal | None:
    """The principal of this request, resolved once and kept on `request.state`."""
    if not hasattr(request.state, "principal"):
        request.state.principal = await _resolver(request)(request)
    principal: Principal | None = request.state.principal
    return principal


class Admits:
    """The guard: a route declares the roles it admits, or that it is public.

    `Depends(Admits(...))` is found on every route by the test that walks all routes with
    every role, so a route without a guard fails the suite.
    """

    def __init__(self, *roles: Role, public: bool = False, api_key: bool = False) -> None:
        if public and roles:
            raise ValueError("a public route admits everyone; list no roles")
        self.roles = frozenset(roles)
        self.public = public
        self.api_key = api_key
        # FastAPI reads a dependency's parameters from its signature; this guard's says which
        # credentials its route accepts, so the OpenAPI document gives each operation its
        # security requirement (any one of them) and Swagger UI's Authorize button works.
        self.__signature__ = _signature_accepting(self.credentials())

    def credentials(self) -> list[Credential]:
        """The security schemes a caller of the route may use (none for a public route)."""
        accepted: list[Credential] = []
        if self.roles:
            accepted += [BEARER, SESSION]
        if self.api_key:
            accepted.append(API_KEY)
        return accepted

    def admits(self, principal: Principal | None) -> bool:
        if self.public:
            return True
        if principal is None:
            return False
        if principal.kind == "api_key":
            return self.api_key
        return bool(self.roles & principal.roles)

    async def __call__(self, request: Request, **_credentials: object) -> Principal | None:
        # The credentials are read again by identity's resolver, which alone decides.
        principal = await current_principal(request)
        if self.admits(principal):
            return principal
        if principal is None:
            raise NotSignedInError("Please sign in first.")
        raise PermissionDeniedError(
            "Your account may not do this.", needed_roles=frozenset(self.roles)
        )

    def __repr__(self) -> str:
        if self.public:
            return "Admits(public)"
        return f"Admits({', '.join(sorted(self.roles))}{', api_key' if self.api_key else ''})"


def _signature_accepting(schemes: list[Credential]) -> inspect.Signature:
    request = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
    )
    credentials = [
        inspect.Parameter(
            f"credential_{index}",
            inspect.Parameter.KEYWORD_ONLY,
            default=Security(scheme),
            annotation=Any,
        )
        for index, scheme in enumerate(schemes)
    ]
    return inspect.Signature([request, *credentials])
