"""Open-data API keys: issued by an admin, shown once, stored hashed, revocable."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from starlette.requests import Request

from shahr.bootstrap import Container
from shahr.identity.domain import InvalidApiKeyError
from shahr.identity.services import ensure_staff_account
from shahr.kernel.principals import Principal, Role

from .flows import bearer, csrf_headers, row_counts

KEYS = "/api/v1/identity/api-keys"


@pytest.fixture
async def admin_token(client: httpx.AsyncClient, container: Container) -> str:
    await ensure_staff_account(
        container.database,
        username="admin",
        password="admin password",
        display_name="Admin",
        roles=frozenset({Role.admin}),
    )
    response = await client.post(
        "/api/v1/identity/staff/sign-in",
        json={"username": "admin", "password": "admin password"},
        headers=await csrf_headers(client),
    )
    client.cookies.clear()
    token: str = response.json()["access_token"]
    return token


def request_with_key(key: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [(b"x-api-key", key.encode())]}
    )


async def resolve(container: Container, key: str) -> Principal | None:
    resolver = container.resolve_principal
    principal: Principal | None = await resolver(request_with_key(key))
    return principal


async def test_an_admin_issues_a_key_that_is_shown_once_and_stored_only_hashed(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    created = await client.post(
        KEYS,
        json={"consumer": "Tehran Transit App", "quota_tier": "standard"},
        headers=bearer(admin_token),
    )

    assert created.status_code == 201
    issued = created.json()
    key = issued["key"]
    assert key.startswith(f"shahr_{issued['prefix']}_")
    assert issued["quota_tier"] == "standard"
    assert issued["active"] is True
    async with container.database.session() as session:
        rows = (await session.execute(text("SELECT * FROM identity_api_key"))).all()
    stored = " ".join(str(value) for value in rows[0])
    assert key not in stored
    assert key.split("_", 2)[2] not in stored
    listed = (await client.get(KEYS, headers=bearer(admin_token))).json()
    assert [k["id"] for k in listed] == [issued["id"]]
    assert "key" not in listed[0]


async def test_a_key_speaks_for_its_consumer_with_its_quota_tier(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    issued = (
        await client.post(
            KEYS,
            json={"consumer": "Air Watch", "quota_tier": "premium"},
            headers=bearer(admin_token),
        )
    ).json()

    principal = await resolve(container, issued["key"])

    assert principal == Principal(
        id=issued["id"], kind="api_key", display_name="Air Watch", quota_tier="premium"
    )


async def test_a_revoked_key_is_refused(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    issued = (
        await client.post(KEYS, json={"consumer": "Old App"}, headers=bearer(admin_token))
    ).json()

    revoked = await client.delete(f"{KEYS}/{issued['id']}", headers=bearer(admin_token))

    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    with pytest.raises(InvalidApiKeyError):
        await resolve(container, issued["key"])
    # Revoking again changes nothing.
    again = await client.delete(f"{KEYS}/{issued['id']}", headers=bearer(admin_token))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_a_key_with_a_wrong_secret_or_prefix_is_refused(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    issued = (await client.post(KEYS, json={"consumer": "App"}, headers=bearer(admin_token))).json()
    for forged in (issued["key"] + "x", f"shahr_{issued['prefix']}_guess", "shahr_0000_x", "x"):
        with pytest.raises(InvalidApiKeyError):
            await resolve(container, forged)


async def test_an_invalid_key_on_a_request_gets_a_clear_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/identity/me", headers={"X-API-Key": "shahr_ab_cd"})
    assert response.status_code == 401
    assert response.json()["field"] == "X-API-Key"
    assert response.json()["detail"] == "این کلید API معتبر نیست یا باطل شده است."


async def test_an_unknown_quota_tier_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, admin_token: str, container: Container
) -> None:
    before = await row_counts(container)
    response = await client.post(
        KEYS, json={"consumer": "App", "quota_tier": "unlimited"}, headers=bearer(admin_token)
    )
    assert response.status_code == 400
    assert response.json()["field"] == "quota_tier"
    assert await row_counts(container) == before


async def test_revoking_an_unknown_key_is_not_found(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    response = await client.delete(f"{KEYS}/nope", headers=bearer(admin_token))
    assert response.status_code == 404


async def test_only_an_admin_manages_keys(client: httpx.AsyncClient) -> None:
    assert (await client.get(KEYS)).status_code == 401
    response = await client.post(
        KEYS, json={"consumer": "Sneaky"}, headers=await csrf_headers(client)
    )
    assert response.status_code == 401
