"""The traffic API and the live map page, as the apps and startups call them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Principal, Role
from shahr.traffic import services
from shahr.traffic.domain.readings import PlatePassage, batch_payload, encode
from shahr.traffic.queries.live import LIVE_STATES
from shahr.web import create_app

from .network import minute_of_readings, reading

FIWARE = Path(__file__).resolve().parents[3] / "shared" / "standards" / "fiware"
COMMON_SCHEMA = "https://smart-data-models.github.io/data-models/common-schema.json"
OPERATOR = Principal(
    id="op-1", kind="staff", display_name="operator", roles=frozenset({Role.traffic_operator})
)
CITIZEN = Principal(
    id="c-1", kind="citizen", display_name="citizen", roles=frozenset({Role.citizen})
)


@pytest.fixture
async def app(network: Container) -> FastAPI:
    built = create_app(network)

    async def from_header(request: Request) -> Principal | None:
        return {"operator": OPERATOR, "citizen": CITIZEN}.get(request.headers.get("x-as", ""))

    network.resolve_principal = from_header
    return built


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


async def measured(network: Container, clock: FixedClock, **values: Any) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=1)
    await services.ingest_batch(network.database, clock, [minute_of_readings(start, **values)])


async def test_the_city_as_geojson_is_cached_and_revalidated_with_an_etag(
    network: Container, clock: FixedClock, http: httpx.AsyncClient, app: FastAPI
) -> None:
    await measured(network, clock)

    first = await http.get("/api/v1/traffic/segments")
    again = await http.get(
        "/api/v1/traffic/segments", headers={"if-none-match": first.headers["etag"]}
    )
    clock.advance(timedelta(minutes=1))
    await measured(network, clock, count=20)  # the next minute
    network.get(LIVE_STATES).invalidate()
    changed = await http.get(
        "/api/v1/traffic/segments", headers={"if-none-match": first.headers["etag"]}
    )

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/geo+json")
    body = first.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 24
    arterial = next(f for f in body["features"] if f["id"] == "s01-11")
    assert arterial["geometry"]["type"] == "LineString"
    assert arterial["properties"]["los"] in "ABCDEF"
    assert arterial["properties"]["estimated"] is False
    assert again.status_code == 304
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]


async def test_states_segment_detail_and_a_missing_segment(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    await measured(network, clock)

    states = await http.get("/api/v1/traffic/states")
    detail = await http.get("/api/v1/traffic/segments/s01-11")
    missing = await http.get("/api/v1/traffic/segments/nowhere")

    assert len(states.json()) == 24
    assert detail.json()["state"]["flow_veh_h"] == pytest.approx(2400.0)
    assert detail.json()["capacity_veh_h"] == 1800
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_live_updates_arrive_as_server_sent_events(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    await measured(network, clock)

    once = await http.get("/api/v1/traffic/live")
    stream = await http.get(
        "/api/v1/traffic/live", params={"max_s": 0.2}, headers={"accept": "text/event-stream"}
    )

    assert once.json()["states"]["s01-11"][0] in "ABCDEF"
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = [block for block in stream.text.split("\n\n") if block.startswith("event: states")]
    assert len(events) == 1
    data = json.loads(events[0].split("data: ", 1)[1])
    assert set(data["states"]) >= {"s01-11", "s11-21", "s10-11"}


async def test_detector_health_is_for_staff_and_capacity_for_operators(
    network: Container, http: httpx.AsyncClient
) -> None:
    citizen = await http.get("/api/v1/traffic/detectors", headers={"x-as": "citizen"})
    operator = await http.get("/api/v1/traffic/detectors", headers={"x-as": "operator"})
    override = await http.put(
        "/api/v1/traffic/segments/s01-11/capacity",
        json={"capacity_veh_h": 2500},
        headers={"x-as": "operator", "authorization": "Bearer test"},
    )

    assert citizen.status_code == 403
    assert {f["properties"]["health"] for f in operator.json()["features"]} == {"ok"}
    assert len(operator.json()["features"]) == 7
    assert override.status_code == 200
    assert override.json()["capacity_veh_h"] == 2500
    assert override.json()["capacity_overridden"] is True


async def test_refused_readings_are_counted_by_reason_in_metrics(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    good = reading("d-01-11-1", clock.now() - timedelta(seconds=5))
    await services.ingest_batch(
        network.database, clock, [b"{", encode({**good.to_payload(), "detector_id": "nobody"})]
    )

    metrics = (await http.get("/metrics")).text

    assert 'shahr_traffic_readings_rejected_total{reason="malformed"}' in metrics
    assert 'shahr_traffic_readings_rejected_total{reason="unknown_detector"}' in metrics


async def test_journey_times_come_from_plates_seen_at_two_cameras(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    now = clock.now()
    passages = []
    for n, seconds in enumerate((60, 62, 65, 68, 600)):
        plate = f"1{n}ب345{n}6"
        passages.append(PlatePassage("cam-a", now - timedelta(seconds=700), plate))  # type: ignore[arg-type]
        passages.append(
            PlatePassage("cam-b", now - timedelta(seconds=700 - seconds), plate)  # type: ignore[arg-type]
        )
    report = await services.ingest_batch(
        network.database, clock, [batch_payload(passages=passages)], plate_secret="s"
    )
    again = await services.ingest_batch(
        network.database, clock, [batch_payload(passages=passages)], plate_secret="s"
    )

    found = (await http.get("/api/v1/traffic/journey-times")).json()

    assert (report.passages, report.journeys) == (10, 5)
    assert (again.passages, again.duplicates) == (0, 10)
    assert len(found) == 1
    pair = found[0]
    assert (pair["from_camera"], pair["to_camera"], pair["journeys"]) == ("cam-a", "cam-b", 4)
    assert pair["travel_time_s"] == pytest.approx(63.5, abs=2)
    assert pair["distance_m"] == pytest.approx(360, rel=0.1)


@cache
def validator() -> Draft202012Validator:
    common = json.loads((FIWARE / "common-schema.json").read_text(encoding="utf-8"))
    schema = json.loads((FIWARE / "TrafficFlowObserved.schema.json").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        COMMON_SCHEMA, Resource.from_contents(common)
    )
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


async def test_fiware_traffic_flow_observed_validates_in_both_representations(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    await measured(network, clock)

    plain = (await http.get("/api/v1/traffic/fiware/TrafficFlowObserved")).json()
    normalized = (
        await http.get(
            "/api/v1/traffic/fiware/TrafficFlowObserved", params={"options": "normalized"}
        )
    ).json()

    assert len(plain) == 3  # measured segments only
    for entity in plain:
        assert [e.message for e in validator().iter_errors(entity)] == []
    for entity in normalized:
        flat = {
            k: v if k in ("id", "type", "@context") else v.get("value", v.get("object"))
            for k, v in entity.items()
        }
        flat.pop("@context")
        assert [e.message for e in validator().iter_errors(flat)] == []
        assert entity["refRoadSegment"]["type"] == "Relationship"
        assert entity["location"]["type"] == "GeoProperty"


async def test_indices_comparison_and_district_cards_answer_without_history(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    await measured(network, clock)

    indices = await http.get("/api/v1/traffic/indices", params={"scope": "city"})
    bad = await http.get("/api/v1/traffic/indices", params={"scope": "district"})
    comparison = await http.get("/api/v1/traffic/comparison")
    cards = await http.get("/api/v1/traffic/districts")

    assert indices.status_code == 200
    assert indices.json()["indices"] is None
    assert bad.status_code == 422
    assert comparison.json()["areas"] == []
    assert cards.json() == []  # the test grid lies in no district


async def test_the_live_map_page_is_persian_first_and_lists_no_inline_script(
    network: Container, clock: FixedClock, http: httpx.AsyncClient
) -> None:
    await measured(network, clock)

    page = await http.get("/traffic")

    assert page.status_code == 200
    assert 'dir="rtl"' in page.text
    assert "ترافیک زنده" in page.text
    assert 'src="/static/traffic/live.js"' in page.text
    assert "<script>" not in page.text  # CSP script-src 'self': no inline code
    assert "data-detectors-url" not in page.text  # the health layer is for staff
    staff_page = await http.get("/traffic", headers={"x-as": "operator"})
    assert 'data-detectors-url="/api/v1/traffic/detectors"' in staff_page.text
    script = await http.get("/static/traffic/live.js")
    assert script.status_code == 200
