"""Every route declares who it admits, and the app holds to it for every role."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts

from shahr.bootstrap import Container
from shahr.kernel.access import Admits
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE
from shahr.web import create_app

CALLERS: dict[str, Principal | None] = {
    "anonymous": None,
    "api_key": Principal(id="key-1", kind="api_key", display_name="startup", quota_tier="free"),
    **{
        role.value: Principal(
            id=f"{role.value}-1",
            kind="citizen" if role is Role.citizen else "staff",
            display_name=role.value,
            roles=frozenset({role}),
        )
        for role in Role
    },
}
CSRF = "t" * 43


def guards_of(route: APIRoute) -> list[Admits]:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Admits)]
    return [g for g in found if isinstance(g, Admits)]


def walkable_routes(app: FastAPI) -> list[APIRoute]:
    # FastAPI keeps an included router's routes inside it (not in `app.routes`), so walk the
    # route contexts: without this, every area's routes would escape the walk.
    routes = [c.original_route for c in iter_route_contexts(app.routes)]
    return [r for r in routes if isinstance(r, APIRoute)]


async def test_every_route_declares_exactly_one_guard(container: Container) -> None:
    app = create_app(container)
    missing = [
        f"{sorted(r.methods)} {r.path}" for r in walkable_routes(app) if len(guards_of(r)) != 1
    ]
    assert missing == []


async def test_every_route_admits_exactly_the_roles_it_declares(container: Container) -> None:
    app = create_app(container)

    async def resolve_from_header(request: Request) -> Principal | None:
        return CALLERS[request.headers.get("x-test-caller", "anonymous")]

    # The identity area's resolver is replaced by a fake that trusts a test header.
    container.resolve_principal = resolve_from_header
    transport = httpx.ASGITransport(app=app)
    wrong: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        for route in walkable_routes(app):
            guard = guards_of(route)[0]
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted(route.methods - {"HEAD"}):
                for caller, principal in CALLERS.items():
                    response = await http.request(
                        method,
                        path,
                        headers={
                            "x-test-caller": caller,
                            "x-csrf-token": CSRF,
                            "cookie": f"{CSRF_COOKIE}={CSRF}",
                            "accept": "application/json",
                        },
                    )
                    refused = response.status_code in (401, 403)
                    if guard.admits(principal) == refused:
                        wrong.append(f"{method} {route.path} as {caller}: {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
async def test_operations_endpoints_answer(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
