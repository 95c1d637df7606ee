"""Steps identity's tests repeat: CSRF headers, signing in by code, counting rows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import text

from shahr.identity import services
from shahr.identity.gateways import ConsoleSms
from shahr.kernel.principals import Role
from shahr.kernel.web.security import CSRF_COOKIE

if TYPE_CHECKING:
    from shahr.bootstrap import Container

PHONE = "+989121234567"
IDENTITY_TABLES = (
    "identity_citizen",
    "identity_staff",
    "identity_staff_role",
    "identity_otp_challenge",
    "identity_session",
    "identity_vehicle",
    "identity_api_key",
    "identity_disability_permit",
)


OFFICER_PASSWORD = "a long demo password"


async def add_officer(container: Container) -> None:
    """An enforcement officer, `officer.rahimi`, who signs in with `OFFICER_PASSWORD`."""
    await services.ensure_staff_account(
        container.database,
        username="officer.rahimi",
        password=OFFICER_PASSWORD,
        display_name="مریم رحیمی",
        roles=frozenset({Role.enforcement_officer}),
    )


async def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """What a page's script would send: the CSRF cookie's value in the header."""
    if CSRF_COOKIE not in client.cookies:
        await client.get("/healthz")
    return {"X-CSRF-Token": client.cookies[CSRF_COOKIE]}


def wrong_code(code: str) -> str:
    """A code of the same length that is certainly not `code`."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def code_in(message_text: str) -> str:
    found = re.search(r"[0-9]{4,}", message_text)
    assert found is not None, message_text
    return found.group()


async def request_code(client: httpx.AsyncClient, sms: ConsoleSms, phone: str = PHONE) -> str:
    response = await client.post(
        "/api/v1/identity/otp/request", json={"phone": phone}, headers=await csrf_headers(client)
    )
    assert response.status_code == 202, response.text
    last = sms.sent[-1]
    return code_in(last.text)


async def sign_in_citizen(client: httpx.AsyncClient, sms: ConsoleSms, phone: str = PHONE) -> str:
    """Sign in by code through the API; the client keeps the cookie; returns the token."""
    code = await request_code(client, sms, phone)
    response = await client.post(
        "/api/v1/identity/otp/verify",
        json={"phone": phone, "code": code},
        headers=await csrf_headers(client),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def row_counts(container: Container) -> dict[str, int]:
    """Rows in every identity table: compared before and after to show nothing was written."""
    counts = {}
    async with container.database.session() as session:
        for table in IDENTITY_TABLES:
            result = await session.execute(text(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608
            counts[table] = int(result.scalar_one())
    return counts


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
