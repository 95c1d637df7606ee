"""Bad input at identity's doors: a clear error, in the reader's language, and no writes."""

from __future__ import annotations

import httpx

from shahr.bootstrap import Container
from shahr.identity.gateways import ConsoleSms
from shahr.kernel.settings import Settings

from .flows import csrf_headers, row_counts


async def test_an_unknown_identity_route_is_a_persian_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/identity/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "در این نشانی چیزی پیدا نشد."


async def test_an_unknown_page_is_a_readable_page_in_english_with_the_cookie(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("lang", "en")
    response = await client.get("/sign-in/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Nothing was found at this address." in response.text


async def test_an_oversized_body_is_refused_before_anything_is_written(
    client: httpx.AsyncClient, sms: ConsoleSms, container: Container, settings: Settings
) -> None:
    before = await row_counts(container)
    padding = "x" * (settings.max_body_bytes + 1)
    response = await client.post(
        "/api/v1/identity/otp/request",
        json={"phone": "09121234567", "padding": padding},
        headers=await csrf_headers(client),
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith("درخواست بیش از حد بزرگ است")
    assert sms.sent == []
    assert await row_counts(container) == before


async def test_a_body_that_is_not_json_is_a_field_level_problem(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await row_counts(container)
    response = await client.post(
        "/api/v1/identity/otp/verify",
        content=b"{not json",
        headers={**await csrf_headers(client), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert await row_counts(container) == before


async def test_an_absurdly_long_phone_is_refused_by_the_schema(
    client: httpx.AsyncClient, container: Container
) -> None:
    response = await client.post(
        "/api/v1/identity/otp/request",
        json={"phone": "0" * 500},
        headers=await csrf_headers(client),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "phone"
    assert response.json()["errors"][0]["detail"] == "این مقدار خیلی بلند است."
