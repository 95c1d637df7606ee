"""A mobile app or a script signs in with the documented calls alone: no page, no cookie.

The client here keeps no cookies (as most HTTP libraries do by default) and never reads a
page, so it has no CSRF token: it follows the OpenAPI document and sends a bearer token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from parking.flows import load_test_meters, tehran
from shahr.bootstrap import Container
from shahr.identity.gateways import ConsoleSms
from shahr.identity.services import ensure_staff_account
from shahr.kernel.principals import Role
from shahr.web import create_app

from .flows import PHONE, code_in

IDENTITY = "/api/v1/identity"
PARKING = "/api/v1/parking"


@pytest.fixture
async def app_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that drops every cookie it is given: nothing rides along by itself."""
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:

        async def forget_cookies(_response: httpx.Response) -> None:
            client.cookies.clear()

        client.event_hooks["response"] = [forget_cookies]
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def documented(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


async def test_an_app_signs_in_by_code_and_books_a_bay_with_the_bearer_token(
    app_client: httpx.AsyncClient, container: Container, sms: ConsoleSms
) -> None:
    await load_test_meters(container)
    document = (await app_client.get("/openapi.json")).json()
    verify = documented(document, "post", f"{IDENTITY}/otp/verify")
    token_schema = verify["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert (
        "access_token"
        in document["components"]["schemas"][token_schema.rsplit("/", 1)[1]]["properties"]
    )

    requested = await app_client.post(f"{IDENTITY}/otp/request", json={"phone": PHONE})
    code = code_in(sms.sent[-1].text)  # what the citizen reads on the phone
    verified = await app_client.post(f"{IDENTITY}/otp/verify", json={"phone": PHONE, "code": code})
    token = verified.json()["access_token"]
    me = await app_client.get(f"{IDENTITY}/me", headers=bearer(token))
    vehicle = await app_client.post(
        f"{IDENTITY}/vehicles", json={"plate": "12B345-67", "kind": "car"}, headers=bearer(token)
    )
    found = await app_client.get(f"{PARKING}/search", params={"lon": 51.37, "lat": 35.76})
    meter = await app_client.get(f"{PARKING}/meters/{found.json()['meters'][0]['id']}")
    bay = next(b for b in meter.json()["bays"] if b["kind"] == "car" and b["available"])
    quote = await app_client.post(
        f"{PARKING}/quotes",
        json={
            "bay_id": bay["id"],
            "plate": "12B345-67",
            "starts_at": tehran(26, 11).isoformat(),
            "ends_at": tehran(26, 12).isoformat(),
        },
        headers=bearer(token),
    )
    reserved = await app_client.post(
        f"{PARKING}/reservations",
        json={"quote_token": quote.json()["quote_token"], "method": "wallet"},
        headers=bearer(token),
    )
    mine = await app_client.get(f"{PARKING}/reservations", headers=bearer(token))

    assert requested.status_code == 202, requested.text
    assert verified.status_code == 200, verified.text
    assert verified.json()["token_type"] == "bearer"
    assert me.json()["kind"] == "citizen"
    assert me.json()["roles"] == ["citizen"]
    assert vehicle.status_code == 201, vehicle.text
    assert quote.status_code == 201, quote.text
    assert reserved.status_code == 201, reserved.text
    assert reserved.json()["reservation"]["status"] == "confirmed"
    assert [r["id"] for r in mine.json()] == [reserved.json()["reservation"]["id"]]


async def test_a_script_signs_in_as_staff_and_uses_the_token(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await ensure_staff_account(
        container.database,
        username="operator",
        password="a long demo password",
        display_name="Operator",
        roles=frozenset({Role.parking_operator}),
    )

    signed_in = await app_client.post(
        f"{IDENTITY}/staff/sign-in",
        json={"username": "operator", "password": "a long demo password"},
    )
    me = await app_client.get(f"{IDENTITY}/me", headers=bearer(signed_in.json()["access_token"]))

    assert signed_in.status_code == 200, signed_in.text
    assert me.json()["roles"] == ["parking_operator"]


async def test_a_call_without_its_token_is_told_to_sign_in_in_its_language(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.get(f"{IDENTITY}/me", headers={"accept-language": "en"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Please sign in first."


async def test_the_document_names_how_to_sign_each_call(app_client: httpx.AsyncClient) -> None:
    document = (await app_client.get("/openapi.json")).json()

    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    assert schemes["apiKey"]["in"] == "header"
    assert schemes["apiKey"]["name"] == "X-API-Key"
    assert schemes["sessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "shahr_session",
        "description": schemes["sessionCookie"]["description"],
    }
    signed = [{"bearerToken": []}, {"sessionCookie": []}]
    assert documented(document, "get", f"{IDENTITY}/me")["security"] == signed
    assert documented(document, "post", f"{PARKING}/quotes")["security"] == signed
    # Public calls, signing in among them, ask for nothing.
    assert "security" not in documented(document, "post", f"{IDENTITY}/otp/request")
    assert "security" not in documented(document, "get", f"{PARKING}/search")


async def test_the_document_says_search_needs_a_point_or_a_map_view(
    app_client: httpx.AsyncClient,
) -> None:
    document = (await app_client.get("/openapi.json")).json()
    search = documented(document, "get", f"{PARKING}/search")
    parameters = {p["name"]: p for p in search["parameters"]}

    for name in ("lon", "lat", "bbox"):
        assert "a point (`lon` and `lat`) or a map view (`bbox`)" in parameters[name]["description"]
    assert "422" in search["responses"]

    neither = await app_client.get(f"{PARKING}/search", headers={"accept-language": "en"})
    assert neither.status_code == 422
    assert neither.json()["detail"] == "Give a point (lon and lat) or a map view (bbox)."
    assert neither.json()["field"] == "lon"
