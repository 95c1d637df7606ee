"""Sessions: a random token kept only as a hash, with an expiry, revoked at sign-out."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.identity.gateways import ConsoleSms
from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings

from .flows import bearer, csrf_headers, sign_in_citizen

ME = "/api/v1/identity/me"
SIGN_OUT = "/api/v1/identity/sign-out"


async def test_signing_out_revokes_the_session_for_cookie_and_bearer_alike(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    token = await sign_in_citizen(client, sms)
    assert (await client.get(ME)).status_code == 200

    response = await client.post(SIGN_OUT, headers=await csrf_headers(client))

    assert response.status_code == 204
    assert "shahr_session" not in client.cookies
    assert (await client.get(ME)).status_code == 401
    refused = await client.get(ME, headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "نشست شما منقضی شده است. لطفاً دوباره وارد شوید."


async def test_signing_out_with_a_bearer_token_needs_no_csrf_token(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    token = await sign_in_citizen(client, sms)
    client.cookies.clear()
    assert (await client.post(SIGN_OUT, headers=bearer(token))).status_code == 204
    assert (await client.get(ME, headers=bearer(token))).status_code == 401


async def test_signing_out_when_signed_out_is_harmless(client: httpx.AsyncClient) -> None:
    assert (await client.post(SIGN_OUT, headers=await csrf_headers(client))).status_code == 204


async def test_a_session_expires_after_its_lifetime(
    client: httpx.AsyncClient, sms: ConsoleSms, clock: FixedClock, settings: Settings
) -> None:
    await sign_in_citizen(client, sms)
    clock.advance(timedelta(seconds=settings.session_ttl_s - 1))
    assert (await client.get(ME)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert (await client.get(ME)).status_code == 401


async def test_a_stale_session_cookie_leaves_public_pages_working(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("shahr_session", "not-a-real-token")
    assert (await client.get("/sign-in")).status_code == 200
    assert (await client.get(ME)).status_code == 401


async def test_an_unknown_bearer_token_is_refused_with_a_clear_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(ME, headers=bearer("made-up"))
    assert response.status_code == 401
    assert response.json()["code"] == "SessionExpiredError"


async def test_only_a_hash_of_the_session_token_is_stored(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container
) -> None:
    token = await sign_in_citizen(client, sms)
    async with container.database.session() as session:
        stored = (await session.execute(text("SELECT token_hash FROM identity_session"))).all()
    assert len(stored) == 1
    assert token not in stored[0][0]


async def test_a_cookie_from_another_site_cannot_post_without_the_csrf_token(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    await sign_in_citizen(client, sms)
    response = await client.post(
        "/api/v1/identity/vehicles", json={"plate": "12B345-67", "kind": "car"}
    )
    assert response.status_code == 403
