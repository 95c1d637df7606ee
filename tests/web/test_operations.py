"""Health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shahr.bootstrap import Container


async def test_healthz_says_the_process_is_up(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_each_check(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "stream": "ok", "broker": "ok", "cache": "ok"}


class UnreachableBroker:
    """A broker that does not answer, as when Mosquitto is down."""

    async def ping(self) -> None:
        raise ConnectionRefusedError("127.0.0.1:1883")


async def test_readyz_is_503_and_names_the_failing_check_when_one_fails(
    http: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container, "broker", UnreachableBroker())

    response = await http.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["broker"] == "failing: ConnectionRefusedError"
    assert body["checks"]["database"] == "ok"


async def test_metrics_count_requests_by_route_template(http: httpx.AsyncClient) -> None:
    await http.get("/healthz")

    response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = families["shahr_http_requests"]
    routes = {(s.labels["route"], s.labels["status"]) for s in requests.samples}
    assert ("/healthz", "200") in routes
    assert "shahr_http_request_duration_seconds" in families


async def test_unmatched_addresses_share_one_metrics_series(http: httpx.AsyncClient) -> None:
    await http.get("/scanner/probe-1")
    await http.get("/scanner/probe-2")

    response = await http.get("/metrics")

    assert "/scanner/probe-1" not in response.text
    assert 'route="unmatched"' in response.text


async def test_the_openapi_document_is_openapi_3_1_and_lists_the_routes(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "Shahr API"
    assert document["info"]["version"]
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert method in {"get", "put", "post", "delete", "patch", "head", "options"}, path
            assert operation["responses"], f"{method} {path} documents no response"
    # Pages are for people, not for the API description.
    assert not {"/", "/api/docs", "/lang/{language}"} & set(document["paths"])
