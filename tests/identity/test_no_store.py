"""Nothing a signed-in caller is shown is kept by a browser's or a proxy's cache; the public
map layers still are, with their ETag, whoever asks."""

from __future__ import annotations

import httpx

from shahr.identity.gateways import ConsoleSms

from .flows import bearer, sign_in_citizen
from .test_pages import sign_in_by_page

MAP_LAYER = "/api/v1/parking/districts"


async def test_a_signed_in_page_is_never_stored(client: httpx.AsyncClient, sms: ConsoleSms) -> None:
    assert (await sign_in_by_page(client, sms)).status_code == 303

    for path in ("/account", "/", "/parking/my"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path


async def test_a_signed_in_api_answer_is_never_stored_with_a_token_or_a_cookie(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    token = await sign_in_citizen(client, sms)
    by_cookie = await client.get("/api/v1/identity/me")
    client.cookies.clear()
    by_token = await client.get("/api/v1/identity/vehicles", headers=bearer(token))

    for response in (by_cookie, by_token):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


async def test_a_refusal_and_a_public_page_are_not_stored_either(
    client: httpx.AsyncClient,
) -> None:
    # A page carries the visitor's CSRF token in its forms: no one else may be handed it.
    refused = await client.get("/api/v1/identity/me")
    page = await client.get("/sign-in")

    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    assert page.headers["cache-control"] == "no-store"


async def test_a_public_map_layer_keeps_its_etag_and_cache_for_everyone(
    client: httpx.AsyncClient, sms: ConsoleSms
) -> None:
    anonymous = await client.get(MAP_LAYER)
    token = await sign_in_citizen(client, sms)
    signed_in = await client.get(MAP_LAYER, headers=bearer(token))
    held = await client.get(MAP_LAYER, headers={"if-none-match": anonymous.headers["etag"]})

    for response in (anonymous, signed_in):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["etag"] == anonymous.headers["etag"]
    assert held.status_code == 304
    assert held.headers["cache-control"] == "public, max-age=300"


async def test_a_static_file_keeps_what_its_server_says(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/shell/shahr.css")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")
    assert response.headers["etag"]
