"""Input the fuzzer seldom makes (a document's `date-time` is always zoned; NUL is rare)
still gets an answer the document declares, never a server error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

HOSTILE = [
    pytest.param(
        "get", "/api/v1/traffic/history", {"at": "2026-11-26T10:00:00"}, None, id="naive-datetime"
    ),
    pytest.param(
        "get", "/api/v1/traffic/history", {"at": "0001-01-01T00:00:00Z"}, None, id="year-one"
    ),
    pytest.param(
        "post",
        "/api/v1/identity/staff/sign-in",
        None,
        {"username": "a\u0000b", "password": "x"},
        id="nul-username",
    ),
    pytest.param("get", "/api/v1/parking/meters/a%00b", None, None, id="nul-path"),
    pytest.param(
        "post", "/api/v1/identity/otp/request", None, {"phone": "0912\u0000"}, id="nul-phone"
    ),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), HOSTILE)
async def test_hostile_input_gets_a_documented_answer(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: dict[str, Any] | None,
) -> None:
    document = (await client.get("/openapi.json")).json()
    # The one path with a parameter here is a meter's.
    template = "/api/v1/parking/meters/{meter_id}" if "%00" in path else path
    declared = document["paths"][template][method]["responses"]

    response = await client.request(method, path, params=params, json=body)

    assert response.status_code < 500, response.text
    assert str(response.status_code) in declared
    assert response.headers["content-type"] == "application/problem+json"
