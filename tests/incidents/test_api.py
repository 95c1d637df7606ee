"""The incidents API as the dashboard and the unit's phone page call it: roles, bad input in
Persian, the status machine over HTTP, and the Open511 and FIWARE exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.kernel.principals import Principal, Role
from shahr.web import create_app

OPERATOR = Principal(
    id="op-1", kind="staff", display_name="operator", roles=frozenset({Role.traffic_operator})
)
UNIT = Principal(id="pu-7", kind="staff", display_name="unit", roles=frozenset({Role.police_unit}))
CITIZEN = Principal(
    id="c-1", kind="citizen", display_name="citizen", roles=frozenset({Role.citizen})
)
AS = {"operator": OPERATOR, "unit": UNIT, "citizen": CITIZEN}
CRASH: dict[str, Any] = {
    "kind": "crash",
    "severity": "major",
    "location": {
        "lon": 51.41,
        "lat": 35.701,
        "segment_id": "s-1",
        "offset_m": 80,
        "bearing_deg": 92,
    },
    "lanes": ["blocked", "clear", "clear"],
}


async def api_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client over the app, the caller named by the `x-as` header."""
    app = create_app(container)

    async def from_header(request: Request) -> Principal | None:
        return AS.get(request.headers.get("x-as", ""))

    container.resolve_principal = from_header
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


@pytest.fixture
async def http(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async for client in api_client(container):
        yield client


def as_(who: str, language: str = "en") -> dict[str, str]:
    return {"x-as": who, "authorization": "Bearer test", "accept-language": language}


async def post(
    http: httpx.AsyncClient, path: str, body: Any = None, who: str = "operator"
) -> httpx.Response:
    return await http.post(path, json=body, headers=as_(who))


async def test_an_operator_reports_confirms_dispatches_and_a_unit_clears(
    http: httpx.AsyncClient,
) -> None:
    incident = (await post(http, "/api/v1/incidents", {**CRASH, "source": "citizen_report"})).json()
    unit = (await post(http, "/api/v1/units", {"call_sign": "پ-۱۲", "kind": "motorcycle"})).json()
    await post(http, f"/api/v1/units/{unit['id']}/position", {"lon": 51.40, "lat": 35.70}, "unit")

    confirmed = await post(http, f"/api/v1/incidents/{incident['id']}/confirm")
    sent = await post(http, f"/api/v1/incidents/{incident['id']}/dispatch", {"unit_id": unit["id"]})
    for status in ("en_route", "on_scene"):
        await post(http, f"/api/v1/units/{unit['id']}/status", {"status": status}, "unit")
    reopened = await post(http, f"/api/v1/units/{unit['id']}/lanes-reopened", None, "unit")
    back = await post(http, f"/api/v1/units/{unit['id']}/status", {"status": "returning"}, "unit")
    detail = (await http.get(f"/api/v1/incidents/{incident['id']}", headers=as_("unit"))).json()

    assert incident["status"] == "tentative"
    assert confirmed.json()["status"] == "open"
    assert sent.json()["status"] == "dispatched"
    assert reopened.json()["lanes"] == ["clear", "clear", "clear"]
    assert back.json()["status"] == "returning"
    assert detail["status"] == "cleared"
    assert detail["roadway_clearance_s"] is not None
    assert [a["action"] for a in detail["audit"]] == [
        "report",
        "confirm",
        "dispatch",
        "mark",
        "update",
        "clear",
    ]
    # Persian digits are normalised: the same call sign however it is typed.
    assert detail["assignments"][0]["call_sign"] == "پ-12"


async def test_citizens_may_not_see_or_change_incidents(http: httpx.AsyncClient) -> None:
    listed = await http.get("/api/v1/incidents", headers=as_("citizen"))
    made = await post(http, "/api/v1/incidents", CRASH, "citizen")
    assert listed.status_code == 403
    assert made.status_code == 403


async def test_a_police_unit_reports_but_does_not_dispatch(http: httpx.AsyncClient) -> None:
    incident = (await post(http, "/api/v1/incidents", CRASH, "unit")).json()
    unit = (await post(http, "/api/v1/units", {"call_sign": "P-1", "kind": "patrol_car"})).json()
    sent = await post(
        http, f"/api/v1/incidents/{incident['id']}/dispatch", {"unit_id": unit["id"]}, "unit"
    )
    assert incident["status"] == "open"
    assert incident["source"] == "police_unit"
    assert sent.status_code == 403


async def test_a_position_outside_the_city_is_refused_in_persian_and_not_stored(
    http: httpx.AsyncClient,
) -> None:
    unit = (await post(http, "/api/v1/units", {"call_sign": "P-2", "kind": "tow_truck"})).json()
    refused = await http.post(
        f"/api/v1/units/{unit['id']}/position",
        json={"lon": 35.70, "lat": 51.40},
        headers=as_("unit", "fa"),
    )
    listed = (await http.get("/api/v1/units", headers=as_("unit"))).json()
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (
        refused.json()["detail"]
        == "این موقعیت بیرون از شهر است: طول و عرض جغرافیایی را بررسی کنید."
    )
    assert listed[0]["lon"] is None
    assert listed[0]["stale"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CRASH, "lanes": ["blocked"] * 13}, "lanes"),
        ({**CRASH, "location": {**CRASH["location"], "bearing_deg": 400}}, "bearing_deg"),
        ({**CRASH, "location": {"lon": 2.35, "lat": 48.85}}, "lon"),
        ({**CRASH, "kind": "alien_landing"}, "kind"),
    ],
)
async def test_a_bad_report_is_refused_with_the_field_named_and_nothing_stored(
    http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    refused = await http.post("/api/v1/incidents", json=body, headers=as_("operator", "fa"))
    listed = (await http.get("/api/v1/incidents", headers=as_("operator"))).json()
    assert refused.status_code == 422
    problem = refused.json()
    named = [problem.get("field")] + [e.get("field", "") for e in problem.get("errors", [])]
    assert any(field in (name or "") for name in named), problem
    assert listed == []


async def test_an_illegal_move_is_a_409_in_persian_and_changes_nothing(
    http: httpx.AsyncClient,
) -> None:
    incident = (await post(http, "/api/v1/incidents", CRASH)).json()
    closed_too_early = await http.post(
        f"/api/v1/incidents/{incident['id']}/close", headers=as_("operator", "fa")
    )
    after = (await http.get(f"/api/v1/incidents/{incident['id']}", headers=as_("operator"))).json()
    assert closed_too_early.status_code == 409
    assert closed_too_early.json()["detail"] == "تنها رخداد رفع‌شده بسته می‌شود."
    assert after["status"] == "open"
    assert len(after["audit"]) == 1


async def test_unknown_ids_are_404(http: httpx.AsyncClient) -> None:
    missing = await http.get("/api/v1/incidents/nope", headers=as_("operator"))
    no_unit = await post(http, "/api/v1/units/nope/position", {"lon": 51.4, "lat": 35.7}, "unit")
    assert missing.status_code == 404
    assert no_unit.status_code == 404


async def test_exports_publish_confirmed_incidents_only(http: httpx.AsyncClient) -> None:
    await post(http, "/api/v1/incidents", CRASH)
    await post(http, "/api/v1/incidents", {**CRASH, "source": "citizen_report", "kind": "flooding"})
    roadwork = {**CRASH, "kind": "roadwork", "lanes": ["blocked", "blocked"]}
    await post(http, "/api/v1/incidents", roadwork)

    open511 = (await http.get("/api/v1/incidents.open511")).json()
    alerts = (await http.get("/api/v1/incidents/fiware/Alert")).json()
    normalized = (await http.get("/api/v1/incidents/fiware/Alert?options=normalized")).json()

    events = sorted(open511["events"], key=lambda e: e["event_type"])
    assert [(e["event_type"], e["status"], e["severity"]) for e in events] == [
        ("CONSTRUCTION", "ACTIVE", "MODERATE"),
        ("INCIDENT", "ACTIVE", "MODERATE"),
    ]
    assert events[1]["roads"] == [
        {
            "direction": "E",
            "state": "SOME_LANES_CLOSED",
            "lanes_closed": 1,
            "lanes_open": 2,
            "name": "s-1",
        }
    ]
    assert events[0]["roads"][0]["state"] == "CLOSED"
    assert events[1]["geography"] == {"type": "Point", "coordinates": [51.41, 35.701]}
    assert sorted(a["subCategory"] for a in alerts) == ["carAccident", "roadClosed"]
    assert {a["category"] for a in alerts} == {"traffic"}
    assert normalized[0]["location"]["type"] == "GeoProperty"
