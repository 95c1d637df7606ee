"""Payments' fixtures: the sandbox PSP the app was wired with, a bus that keeps what it
published, and an HTTP client whose caller is named by a test header."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI, Request

from recording import RecordingBus
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE
from shahr.payments.gateways import SandboxPsp
from shahr.web import create_app

from .flows import CSRF, sandbox_psp

if TYPE_CHECKING:
    from shahr.bootstrap import Container


@pytest.fixture
def psp(container: Container) -> SandboxPsp:
    return sandbox_psp(container)


@pytest.fixture
def bus(container: Container) -> RecordingBus:
    """Publishes onto the container's stream, and keeps each event for the test to read."""
    return RecordingBus(container.bus)


@pytest.fixture
def app(container: Container, bus: RecordingBus) -> Iterator[FastAPI]:
    app = create_app(container)

    async def resolve_from_header(request: Request) -> Principal | None:
        # The identity area's resolver is replaced by one that trusts test headers.
        if citizen := request.headers.get("x-test-citizen"):
            return Principal(
                id=citizen, kind="citizen", display_name=citizen, roles=frozenset({Role.citizen})
            )
        if role := request.headers.get("x-test-role"):
            return Principal(
                id=f"{role}-1", kind="staff", display_name=role, roles=frozenset({Role(role)})
            )
        return None

    container.resolve_principal = resolve_from_header
    # The routes publish through the recording bus; the container stops its own.
    own_bus, container.bus = container.bus, bus  # type: ignore[assignment]
    yield app
    container.bus = own_bus


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client: it carries the CSRF cookie and sends the token back."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers={"x-csrf-token": CSRF}
    ) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)
        yield client
