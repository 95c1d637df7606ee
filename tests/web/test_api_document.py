"""The API document declares what the routes answer, errors included, as they answer it."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"
VERBS = ("get", "post", "put", "patch", "delete")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in VERBS
    ]


async def test_every_operation_declares_invalid_input_and_outages_as_problem_json(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    for method, path, operation in operations(document):
        responses = operation["responses"]
        for status in ("401", "422"):
            assert PROBLEM in responses[status]["content"], (method, path, status)
        if path != "/readyz":  # not ready is its own answer (below)
            assert PROBLEM in responses["503"]["content"], (method, path)
            assert "Retry-After" in responses["503"]["headers"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
    ]


async def test_each_operation_declares_what_its_guard_path_body_and_area_can_refuse(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]

    reserve = paths["/api/v1/parking/reservations"]["post"]["responses"]
    one = paths["/api/v1/parking/reservations/{reservation_id}"]["get"]["responses"]
    search = paths["/api/v1/parking/search"]["get"]["responses"]
    code = paths["/api/v1/identity/otp/request"]["post"]["responses"]
    # A citizen's call: 403 for staff; a body: 400 and 413; parking's map: 409.
    assert {"400", "403", "409", "413"} <= set(reserve)
    # The route's own problem (a taken bay, with alternatives) is kept beside the others.
    assert reserve["409"]["content"][PROBLEM]["schema"]["anyOf"] == [
        {"$ref": "#/components/schemas/BayTakenProblem"},
        {"$ref": "#/components/schemas/Problem"},
    ]
    assert "404" in one
    # Public, read-only and without a path parameter: nobody is refused for their role.
    assert "403" not in search
    assert "413" not in search
    # Identity's map sends too many codes to 429, with when to try again.
    assert "Retry-After" in code["429"]["headers"]


async def test_an_address_outside_the_api_declares_its_error_pages_too(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    callback = document["paths"]["/payments/callback/{psp_name}"]["get"]["responses"]
    readiness = document["paths"]["/readyz"]["get"]["responses"]

    assert set(callback["404"]["content"]) == {PROBLEM, "text/html"}
    # Not ready is readyz's own answer, naming each failing check, not a problem.
    assert set(readiness["503"]["content"]) == {"application/json"}


async def test_a_method_the_address_does_not_take_is_told_every_method_it_does(
    client: httpx.AsyncClient,
) -> None:
    # GET and POST are two routes on this path; Starlette named only the first's.
    response = await client.patch("/api/v1/identity/vehicles")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == PROBLEM


async def test_a_fixed_address_is_not_told_the_methods_of_a_template_beside_it(
    client: httpx.AsyncClient,
) -> None:
    # `/payments/{payment_id}` (GET) matches this address too, but it is not that resource.
    response = await client.put("/api/v1/payments/reconciliation")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
