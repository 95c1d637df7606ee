"""Citizens register their vehicles by plate: stored canonical, shown in the Iranian layout."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shahr.bootstrap import Container
from shahr.identity import queries
from shahr.identity.gateways import ConsoleSms

from .flows import bearer, csrf_headers, row_counts, sign_in_citizen

VEHICLES = "/api/v1/identity/vehicles"


@pytest.fixture
async def token(client: httpx.AsyncClient, sms: ConsoleSms) -> str:
    token = await sign_in_citizen(client, sms)
    # Bearer from here on: the API as a phone app uses it.
    client.cookies.clear()
    return token


async def test_a_citizen_registers_lists_and_removes_a_vehicle(
    client: httpx.AsyncClient, token: str
) -> None:
    created = await client.post(
        VEHICLES,
        json={"plate": "۱۲ ب ۳۴۵ ایران ۶۷", "kind": "car", "nickname": "  پراید  "},
        headers=bearer(token),
    )
    assert created.status_code == 201
    vehicle = created.json()
    assert vehicle["plate"] == "12B345-67"
    assert vehicle["plate_fa"] == "۱۲ ب ۳۴۵ ایران ۶۷"
    assert vehicle["plate_en"] == "12 B 345 Iran 67"
    assert vehicle["kind"] == "car"
    assert vehicle["nickname"] == "پراید"

    listed = await client.get(VEHICLES, headers=bearer(token))
    assert [v["id"] for v in listed.json()] == [vehicle["id"]]

    removed = await client.delete(f"{VEHICLES}/{vehicle['id']}", headers=bearer(token))
    assert removed.status_code == 204
    assert (await client.get(VEHICLES, headers=bearer(token))).json() == []


@pytest.mark.parametrize(
    ("kind", "plate"),
    [
        ("car", "22 د 456 ایران 10"),
        ("van", "22 د 456 ایران 10"),
        ("light_truck", "22 د 456 ایران 10"),
        ("minibus", "22 د 456 ایران 10"),
        ("motorcycle", "ایران ۱۲۳ ۴۵۶۷۸"),
    ],
)
async def test_every_kind_of_vehicle_in_the_glossary_can_be_registered(
    client: httpx.AsyncClient, token: str, kind: str, plate: str
) -> None:
    response = await client.post(
        VEHICLES, json={"plate": plate, "kind": kind}, headers=bearer(token)
    )
    assert response.status_code == 201
    assert response.json()["kind"] == kind


@pytest.mark.parametrize("plate", ["12X345-67", "hello", "1B345-67", "12 ب 34 ایران 67", ""])
async def test_a_malformed_plate_is_refused_naming_the_plate_and_writes_nothing(
    client: httpx.AsyncClient, token: str, container: Container, plate: str
) -> None:
    before = await row_counts(container)
    response = await client.post(
        VEHICLES, json={"plate": plate, "kind": "car"}, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "plate"
    assert response.json()["code"] == "InvalidPlateError"
    assert response.headers["content-language"] == "fa"
    assert await row_counts(container) == before


async def test_an_unknown_kind_is_refused_in_persian_and_writes_nothing(
    client: httpx.AsyncClient, token: str, container: Container
) -> None:
    before = await row_counts(container)
    response = await client.post(
        VEHICLES, json={"plate": "12B345-67", "kind": "tank"}, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["field"] == "kind"
    assert response.json()["detail"] == "نوع خودرو را انتخاب کنید."
    assert await row_counts(container) == before


async def test_the_same_plate_twice_is_a_conflict_however_it_is_typed(
    client: httpx.AsyncClient, token: str, container: Container
) -> None:
    await client.post(VEHICLES, json={"plate": "12B345-67"}, headers=bearer(token))
    before = await row_counts(container)

    again = await client.post(VEHICLES, json={"plate": "ایران ۶۷ ۳۴۵ ب ۱۲"}, headers=bearer(token))

    assert again.status_code == 409
    assert again.json()["field"] == "plate"
    assert again.json()["detail"] == "این پلاک پیش‌تر در حساب شما ثبت شده است."
    assert await row_counts(container) == before


async def test_the_same_plate_sent_twice_at_once_is_registered_once(
    client: httpx.AsyncClient, token: str
) -> None:
    answers = await asyncio.gather(
        *(
            client.post(VEHICLES, json={"plate": "12B345-67"}, headers=bearer(token))
            for _ in range(2)
        )
    )

    assert sorted(a.status_code for a in answers) == [201, 409]
    assert len((await client.get(VEHICLES, headers=bearer(token))).json()) == 1


async def test_two_citizens_may_register_the_same_plate_but_not_remove_each_others(
    client: httpx.AsyncClient, sms: ConsoleSms, token: str, container: Container
) -> None:
    mine = (await client.post(VEHICLES, json={"plate": "12B345-67"}, headers=bearer(token))).json()
    other = await sign_in_citizen(client, sms, phone="09351234567")
    client.cookies.clear()
    theirs = await client.post(VEHICLES, json={"plate": "12B345-67"}, headers=bearer(other))
    assert theirs.status_code == 201

    refused = await client.delete(f"{VEHICLES}/{mine['id']}", headers=bearer(other))

    assert refused.status_code == 404
    assert (await client.get(VEHICLES, headers=bearer(token))).json()[0]["id"] == mine["id"]
    owners = await queries.citizen_ids_with_plate(container.database, plate="12B345-67")
    assert len(owners) == 2


async def test_removing_an_unknown_vehicle_is_not_found(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.delete(f"{VEHICLES}/no-such-vehicle", headers=bearer(token))
    assert response.status_code == 404
    assert response.json()["detail"] == "این خودرو در حساب شما نیست."


async def test_an_anonymous_caller_must_sign_in_to_see_or_add_vehicles(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(VEHICLES)
    assert response.status_code == 401
    refused = await client.post(
        VEHICLES, json={"plate": "12B345-67"}, headers=await csrf_headers(client)
    )
    assert refused.status_code == 401
