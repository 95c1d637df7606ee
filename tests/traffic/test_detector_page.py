"""Detector health, the traffic operators' screen: the detectors by health on a map and the
failed and silent ones listed with their reason and last reading.

Over the 3x3 test grid and its detectors, with two of them judged unhealthy as the health
check records it. The caller's role is named by a test header, as in `test_access_walk`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.traffic.domain.detectors import DetectorHealth, Fault
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.detector_health import detector_health_board
from shahr.web import create_app

PAGE = "/staff/traffic/detectors"
CSRF = "d" * 43


@pytest.fixture
async def unhealthy(network: Container) -> Container:
    """Two detectors not working: one failed (stuck) an hour ago, one silent since now."""
    now = network.clock.now()
    async with TrafficUnitOfWork(network.database) as uow:
        await uow.detectors.mark_seen({"d-01-11-1": now - timedelta(hours=2)})
        await uow.detectors.set_health(
            "d-01-11-1", DetectorHealth.failed, Fault.occupancy_stuck, now - timedelta(hours=1)
        )
        await uow.detectors.set_health("d-10-11", DetectorHealth.silent, Fault.silent, now)
        await uow.network.bump_version(now)
        await uow.commit()
    return network


@pytest.fixture
async def http(unhealthy: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(unhealthy)

    async def resolve(request: Request) -> Principal | None:
        role = request.headers.get("x-test-role")
        if not role:
            return None
        kind = "citizen" if role == "citizen" else "staff"
        return Principal(f"{role}-1", kind, "Operator", frozenset({Role(role)}))

    unhealthy.resolve_principal = resolve
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)
        yield client


def as_role(role: Role, lang: str = "fa") -> dict[str, str]:
    return {"x-test-role": role.value, "cookie": f"{LANGUAGE_COOKIE}={lang}; {CSRF_COOKIE}={CSRF}"}


def listed(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-detector-id="([^"]+)" data-health="(\w+)"', html))


async def test_an_operator_sees_the_counts_by_health_and_the_detectors_not_working(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(PAGE, headers=as_role(Role.traffic_operator, "en"))
    assert response.status_code == 200
    assert listed(response.text) == {"d-01-11-1": "failed", "d-10-11": "silent"}
    counts = dict(re.findall(r'data-health="(\w+)" data-count="(\d+)"', response.text))
    assert counts == {"ok": "5", "failed": "1", "silent": "1"}
    assert "Occupancy stuck at full" in response.text
    assert "Nothing received for a while" in response.text
    assert 'data-detectors-url="/api/v1/traffic/detectors"' in response.text


async def test_the_persian_page_says_it_in_persian_with_persian_digits(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(PAGE, headers=as_role(Role.traffic_operator))
    assert response.status_code == 200
    assert "سلامت آشکارسازها" in response.text
    assert "آشکارسازهای از کار افتاده: ۲" in response.text


async def test_the_list_filters_by_health(http: httpx.AsyncClient) -> None:
    failed = await http.get(PAGE, params={"health": "failed"}, headers=as_role(Role.admin))
    silent = await http.get(PAGE, params={"health": "silent"}, headers=as_role(Role.admin))
    assert list(listed(failed.text)) == ["d-01-11-1"]
    assert list(listed(silent.text)) == ["d-10-11"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"health": "broken"}, "health", "Choose faulty or silent from the list."),
        ({"health": "x" * 2000}, "health", "Choose faulty or silent from the list."),
        ({"page": "-1"}, "page", "The page number is a whole number from 1 up."),
        ({"page": "abc"}, "page", "The page number is a whole number from 1 up."),
    ],
)
async def test_a_filter_that_cannot_be_read_is_said_and_the_list_shown_without_it(
    http: httpx.AsyncClient, params: dict[str, str], field: str, message: str
) -> None:
    response = await http.get(PAGE, params=params, headers=as_role(Role.traffic_operator, "en"))
    assert response.status_code == 400
    assert f'id="{field}-error" role="alert">{message}<' in response.text
    assert len(listed(response.text)) == 2


async def test_the_list_pages_longest_broken_first(unhealthy: Container) -> None:
    first = await detector_health_board(unhealthy.database, page=1, per_page=1)
    second = await detector_health_board(unhealthy.database, page=5, per_page=1)
    assert (first.total, first.pages) == (2, 2)
    assert [line.detector.id for line in first.unhealthy] == ["d-01-11-1"]
    assert (second.page, [line.detector.id for line in second.unhealthy]) == (2, ["d-10-11"])


@pytest.mark.parametrize("role", [Role.citizen, Role.parking_operator, Role.police_unit])
async def test_other_roles_are_refused_and_strangers_sent_to_sign_in(
    http: httpx.AsyncClient, role: Role
) -> None:
    assert (await http.get(PAGE, headers=as_role(role))).status_code == 403
    anonymous = await http.get(PAGE, headers={"accept": "text/html"})
    assert anonymous.status_code == 303


async def test_detector_health_is_a_traffic_operators_tool_in_the_workspace(
    network: Container,
) -> None:
    operator = Principal("t-1", "staff", "Operator", frozenset({Role.traffic_operator}))
    assert PAGE in [tool.href for tool in network.workspace.tools_for(operator)]
