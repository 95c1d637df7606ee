"""Meters and bays, the parking operators' screen: the board of meters with its filter and
pages, and one meter's bays with their light and the stay holding each.

Over the four test meters of `flows`, with presence and bay lights stored as the meter
gateway stores them, and a reservation booked and paid. The caller's role is named by a test
header, read by a fake principal resolver, as in `test_access_walk`.
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
from shahr.parking.domain import (
    BayLight,
    BayLightKey,
    DesiredLight,
    LightColor,
    LightReport,
    MeterPresence,
    unset_command,
)
from shahr.parking.persistence import LightUnitOfWork
from shahr.parking.services import PARKING, ParkingPorts
from shahr.web import create_app

from .flows import CAR, bay_of, book, meter_of, pay_last, seeded_ports

CSRF = "s" * 43
BOARD = "/staff/parking/meters"


@pytest.fixture
async def parking(container: Container) -> ParkingPorts:
    """The test meters; TEST-A1 online with bay 2's light green and confirmed, TEST-D1
    offline, the others never heard from; bay 2 of TEST-A1 reserved and paid now."""
    ports = await seeded_ports(container)
    now = ports.clock.now()
    a1 = await bay_of(ports, "TEST-A1", 2)
    await book(ports, a1.id, starts_at=now, minutes=60)
    await pay_last(ports)
    key = BayLightKey("TEST-A1", 2)
    green = BayLight(key, a1.meter_id, unset_command(now)).desire(
        DesiredLight(LightColor.green, now + timedelta(minutes=60)), now
    )
    async with LightUnitOfWork(ports.database) as uow:
        await uow.presence.save_presence(
            MeterPresence("TEST-A1", online=True, since=now, last_seen_at=now)
        )
        await uow.presence.save_presence(
            MeterPresence("TEST-D1", online=False, since=now - timedelta(hours=2), last_seen_at=now)
        )
        await uow.lights.save_bay_light(
            green.sent(green.desired.seq).report(
                LightReport(green.desired.seq, LightColor.green, now)
            ),
            received_at=now,
        )
        await uow.commit()
    return ports


@pytest.fixture
async def http(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    """Anonymous unless a request names its role with `x-test-role`."""
    app = create_app(container)

    async def resolve(request: Request) -> Principal | None:
        role = request.headers.get("x-test-role")
        if not role:
            return None
        return Principal(
            id=f"{role}-1",
            kind="citizen" if role == "citizen" else "staff",
            display_name="Operator",
            roles=frozenset({Role(role)}),
        )

    container.resolve_principal = resolve
    container.provide(PARKING, parking, replace=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"x-csrf-token": CSRF},
    ) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)
        yield client


def as_role(role: Role, lang: str = "fa") -> dict[str, str]:
    return {"x-test-role": role.value, "cookie": f"{LANGUAGE_COOKIE}={lang}; {CSRF_COOKIE}={CSRF}"}


OPERATOR = as_role(Role.parking_operator)


def listed(html: str) -> dict[str, str]:
    """Each listed meter's device id and presence."""
    rows = re.findall(
        r'data-meter-id="\d+" data-presence="(\w+)">\s*<td>\s*<a href="[^"]+"><bdi class="ltr '
        r'device-id">([^<]+)</bdi>',
        html,
    )
    return {device: presence for presence, device in rows}


async def test_an_operator_sees_every_meter_with_its_connection_and_bays_now(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(BOARD, headers=OPERATOR)
    assert response.status_code == 200
    assert listed(response.text) == {
        "TEST-A1": "online",
        "TEST-D1": "offline",
        "TEST-D2": "never_heard",
        "TEST-B1": "never_heard",
    }
    row = re.search(r'data-meter-id="\d+" data-presence="online">(.*?)</tr>', response.text, re.S)
    assert row is not None
    # Bays reserved, awaiting payment and free: Persian digits on the Persian page.
    counts = dict(re.findall(r'<dd data-count="(\w+)">([^<]+)</dd>', row.group(1)))
    assert counts == {"reserved": "۱", "awaiting_payment": "۰", "free": "۷"}
    assert "برخط" in row.group(1)


async def test_the_board_filters_by_district_and_by_connection(http: httpx.AsyncClient) -> None:
    by_district = await http.get(BOARD, params={"district": "3"}, headers=OPERATOR)
    assert list(listed(by_district.text)) == ["TEST-B1"]
    offline = await http.get(BOARD, params={"presence": "offline"}, headers=OPERATOR)
    assert list(listed(offline.text)) == ["TEST-D1"]
    both = await http.get(
        BOARD, params={"district": "۲", "presence": "never_heard"}, headers=OPERATOR
    )
    assert list(listed(both.text)) == ["TEST-D2"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"district": "99"}, "district", "There are no meters in that district."),
        ({"district": "x" * 2000}, "district", "There are no meters in that district."),
        ({"presence": "sleeping"}, "presence", "Choose online, offline or never heard"),
        ({"page": "-1"}, "page", "The page number is a whole number from 1 up."),
        ({"page": "9" * 2000}, "page", "The page number is a whole number from 1 up."),
    ],
)
async def test_a_filter_that_cannot_be_read_is_said_and_the_board_shown_without_it(
    http: httpx.AsyncClient, params: dict[str, str], field: str, message: str
) -> None:
    response = await http.get(BOARD, params=params, headers=as_role(Role.parking_operator, "en"))
    assert response.status_code == 400
    error = re.search(rf'id="{field}-error" role="alert">([^<]+)<', response.text)
    assert error is not None
    assert message in error.group(1)
    assert len(listed(response.text)) == 4


async def test_the_board_pages_through_meters_and_a_page_past_the_end_shows_the_last(
    container: Container, http: httpx.AsyncClient
) -> None:
    from shahr.parking.queries.meter_board import MeterFilter, meter_board

    now = container.clock.now()
    first = await meter_board(container.database, MeterFilter(page=1), now=now, per_page=3)
    last = await meter_board(container.database, MeterFilter(page=9), now=now, per_page=3)
    assert (first.total, first.pages, len(first.lines)) == (4, 2, 3)
    assert (last.page, len(last.lines)) == (2, 1)
    assert {line.device_id for line in first.lines + last.lines} == {
        "TEST-A1",
        "TEST-D1",
        "TEST-D2",
        "TEST-B1",
    }
    response = await http.get(BOARD, params={"page": "5"}, headers=OPERATOR)
    assert response.status_code == 200


async def test_a_meter_shows_each_bay_light_whether_confirmed_and_the_masked_plate(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    meter = meter_of(await parking.inventory.current(), "TEST-A1")
    response = await http.get(f"{BOARD}/{meter.id}", headers=as_role(Role.parking_operator, "en"))
    assert response.status_code == 200
    bays = {
        number: (light, state, reported)
        for number, light, state, reported in re.findall(
            r'data-bay-number="(\d+)"\s+data-light="(\w+)"\s+data-light-state="(\w+)"\s+'
            r'data-reported="(\w+)"',
            response.text,
        )
    }
    # Bay 2 is green and the meter said so; bay 1 was never commanded and stays off.
    assert bays["2"] == ("green", "shown", "green")
    assert bays["1"] == ("off", "shown", "none")
    assert len(bays) == 8
    # The plate is masked: the first digits, letter and region, never the middle digits.
    assert "12 B ••• Iran 67" in response.text
    assert CAR not in response.text
    assert "345" not in response.text.split("bay-cards", 1)[1]
    assert "Online" in response.text


async def test_an_unknown_meter_is_a_clear_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{BOARD}/999999", headers=as_role(Role.parking_operator, "en"))
    assert response.status_code == 404
    assert "This parking meter does not exist." in response.text


@pytest.mark.parametrize("role", [Role.citizen, Role.traffic_operator, Role.enforcement_officer])
async def test_other_roles_are_refused_the_meters(http: httpx.AsyncClient, role: Role) -> None:
    assert (await http.get(BOARD, headers=as_role(role))).status_code == 403
    assert (await http.get(f"{BOARD}/1", headers=as_role(role))).status_code == 403


async def test_an_admin_may_open_the_meters_and_a_stranger_is_sent_to_sign_in(
    http: httpx.AsyncClient,
) -> None:
    assert (await http.get(BOARD, headers=as_role(Role.admin))).status_code == 200
    anonymous = await http.get(BOARD, headers={"accept": "text/html"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/staff/sign-in?next=")


async def test_the_meters_are_a_parking_operators_tool_in_the_workspace(
    container: Container,
) -> None:
    operator = Principal("p-1", "staff", "Operator", frozenset({Role.parking_operator}))
    traffic = Principal("t-1", "staff", "Operator", frozenset({Role.traffic_operator}))
    assert BOARD in [tool.href for tool in container.workspace.tools_for(operator)]
    assert BOARD not in [tool.href for tool in container.workspace.tools_for(traffic)]
