"""The parking API: map layers, search, meters, quotes, reservations and stays, over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE
from shahr.parking import services
from shahr.parking.services import (
    PARKING,
    ParkingPorts,
    load_metro_stations,
)
from shahr.web import create_app

from .flows import (
    CAR,
    CITIZEN,
    DEMO_SOURCE,
    OTHER,
    OTHER_CAR,
    bay_of,
    book,
    row_counts,
    seed_demo_districts,
    seeded_ports,
    tehran,
)
from .geodata import (
    TEHRAN_CITY,
    TEHRAN_REGION,
    inside,
    is_feature_collection,
    metro_stations,
    positions,
)


async def test_districts_are_a_feature_collection_of_polygons_inside_tehran(
    container: Container, client: httpx.AsyncClient
) -> None:
    await seed_demo_districts(container)

    response = await client.get("/api/v1/parking/districts")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert is_feature_collection(body)
    assert [f["properties"]["district"] for f in body["features"]] == list(range(1, 23))
    assert body["features"][6]["properties"] == {
        "district": 7,
        "name_fa": "منطقه ۷",
        "name_en": "District 7",
        "approximate": True,
        "source": DEMO_SOURCE,
    }
    assert {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}
    # [lon, lat]: Tehran's longitudes (about 51) and latitudes (about 35.7) cannot be mixed up.
    assert all(
        inside(position, TEHRAN_CITY)
        for f in body["features"]
        for position in positions(f["geometry"])
    )


async def test_metro_stations_are_points_in_lon_lat_order_with_their_lines(
    container: Container, client: httpx.AsyncClient
) -> None:
    await load_metro_stations(container.database, stations=metro_stations())

    body = (await client.get("/api/v1/parking/metro-stations")).json()

    assert is_feature_collection(body)
    assert len(body["features"]) == 150
    assert all(inside(f["geometry"]["coordinates"], TEHRAN_REGION) for f in body["features"])
    tajrish = next(f for f in body["features"] if f["properties"]["name_en"] == "Tajrish")
    assert tajrish["geometry"] == {"type": "Point", "coordinates": [51.433643000000004, 35.804501]}
    assert tajrish["properties"] == {"name_fa": "تجریش", "name_en": "Tajrish", "lines": [1]}


async def test_the_metro_collection_carries_the_odbl_attribution(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/api/v1/parking/metro-stations")).json()

    assert "ODbL 1.0" in body["attribution"]
    assert "tehran-metro-data" in body["attribution"]
    assert body["license"] == "https://opendatacommons.org/licenses/odbl/1-0/"


async def test_the_layers_are_cacheable_and_a_client_holding_them_gets_304(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/api/v1/parking/districts", "/api/v1/parking/metro-stations"):
        first = await client.get(path)
        assert first.headers["cache-control"] == "public, max-age=300"
        etag = first.headers["etag"]

        again = await client.get(path, headers={"if-none-match": f"W/{etag}"})

        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag


async def test_the_etag_changes_when_the_districts_change(
    container: Container, client: httpx.AsyncClient
) -> None:
    empty = await client.get("/api/v1/parking/districts")
    await seed_demo_districts(container)

    seeded = await client.get(
        "/api/v1/parking/districts", headers={"if-none-match": empty.headers["etag"]}
    )

    assert seeded.status_code == 200
    assert seeded.headers["etag"] != empty.headers["etag"]


# --- search, meters, quotes and reservations ----------------------------------------------------

CSRF = "c" * 43


@pytest.fixture
async def parking(container: Container) -> ParkingPorts:
    """The four test meters, with real payments (wallet and sandbox PSP) and a vehicle list."""
    return await seeded_ports(container, payments=container.get(PARKING).payments)


@pytest.fixture
async def http(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose caller is named by the `x-test-citizen` header (no header: anonymous)."""
    app = create_app(container)

    async def resolve(request: Request) -> Principal | None:
        citizen = request.headers.get("x-test-citizen")
        if not citizen:
            return None
        return Principal(
            id=citizen, kind="citizen", display_name=citizen, roles=frozenset({Role.citizen})
        )

    container.resolve_principal = resolve
    container.provide(PARKING, parking, replace=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://testserver",
        headers={"x-csrf-token": CSRF, "x-test-citizen": CITIZEN},
    ) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)
        yield client


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def quote(http: httpx.AsyncClient, bay_id: int, **body: object) -> httpx.Response:
    payload = {
        "bay_id": bay_id,
        "plate": "۱۲ ب ۳۴۵ ایران ۶۷",
        "starts_at": iso(tehran(26, 11)),
        "ends_at": iso(tehran(26, 12)),
        **body,
    }
    return await http.post("/api/v1/parking/quotes", json=payload)


async def test_search_answers_meters_nearest_first_with_free_bays_and_metro(
    http: httpx.AsyncClient, container: Container
) -> None:
    await load_metro_stations(container.database, stations=metro_stations())

    response = await http.get(
        "/api/v1/parking/search",
        params={"lon": 51.37, "lat": 35.76, "radius_m": 1000, "starts_at": iso(tehran(26, 11))},
    )

    assert response.status_code == 200
    body = response.json()
    assert [m["device_id"] for m in body["meters"]] == ["TEST-A1", "TEST-D1", "TEST-D2"]
    first = body["meters"][0]
    assert (first["bays_total"], first["bays_free"], first["price_rial"]) == (7, 7, 108_000)
    assert first["bookable"] is True
    assert body["window"]["duration_min"] == 60
    assert body["nearest_metro"]["name_fa"] == "میدان صنعت"


async def test_search_needs_a_point_or_a_view_and_says_so_in_persian(
    http: httpx.AsyncClient,
) -> None:
    missing = await http.get("/api/v1/parking/search")
    bad_view = await http.get("/api/v1/parking/search", params={"bbox": "1,2,3"})

    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["field"] == "lon"
    assert missing.json()["detail"] == "یک نقطه (lon و lat) یا محدودهٔ نقشه (bbox) را بدهید."
    assert bad_view.json()["field"] == "bbox"


async def test_a_meter_shows_its_zone_and_each_bays_state(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-A1", 1)

    response = await http.get(
        f"/api/v1/parking/meters/{bay.meter_id}",
        params={"vehicle_kind": "motorcycle", "starts_at": iso(tehran(27, 11))},
    )
    missing = await http.get("/api/v1/parking/meters/99999")

    body = response.json()
    assert body["zone"]["opens"] == "06:00"
    assert [b["fits"] for b in body["bays"]] == [False] * 7 + [True]
    assert {b["status"] for b in body["bays"]} == {"closed"}  # a Friday
    assert body["closed_reason"] == (
        "پارک حاشیه‌ای جمعه‌ها برقرار نیست: پارک رایگان است و رزرو نمی‌شود."
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "این پارکومتر وجود ندارد."


async def test_the_journey_quote_reserve_pay_from_the_wallet_receipt(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-A1", 1)

    quoted = await quote(http, bay.id)
    reserved = await http.post(
        "/api/v1/parking/reservations",
        json={
            "quote_token": quoted.json()["quote_token"],
            "amount_rial": 108_000,
            "method": "wallet",
        },
    )
    await container.bus.drain()
    shown = await http.get(f"/api/v1/parking/reservations/{reserved.json()['reservation']['id']}")
    receipts = await http.get(f"/api/v1/parking/reservations/{shown.json()['id']}/receipt")
    mine = await http.get("/api/v1/parking/reservations")

    assert quoted.status_code == 201
    assert quoted.json()["price"]["lines"] == [
        {"label": "first", "half_hours": 2, "unit_rial": 54_000, "amount_rial": 108_000}
    ]
    assert quoted.json()["plate_fa"] == "۱۲ ب ۳۴۵ ایران ۶۷"
    assert reserved.status_code == 201
    # The wallet pays before the answer, so the answer already says confirmed.
    assert reserved.json()["reservation"]["status"] == "confirmed"
    assert reserved.json()["payment"]["method"] == "wallet"
    assert shown.json()["status"] == "confirmed"
    assert shown.json()["paid_rial"] == 108_000
    [receipt] = receipts.json()["receipts"]
    assert receipt["receipt_page"] == f"/payments/{receipt['payment_id']}/receipt"
    paid = await http.get(receipt["receipt_url"])
    assert paid.status_code == 200
    assert [r["id"] for r in mine.json()] == [shown.json()["id"]]


async def test_the_receipt_names_the_bay_plate_and_jalali_window_with_the_rial_paid(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-A1", 1)
    quoted = await quote(http, bay.id)
    reserved = await http.post(
        "/api/v1/parking/reservations",
        json={"quote_token": quoted.json()["quote_token"], "method": "wallet"},
    )
    await container.bus.drain()
    url = f"/api/v1/parking/reservations/{reserved.json()['reservation']['id']}/receipt"

    persian = (await http.get(url)).json()
    http.cookies.set("lang", "en")
    english = (await http.get(url)).json()

    assert (persian["bay_number"], persian["meter_device_id"]) == (1, "TEST-A1")
    assert (persian["plate_fa"], persian["street"]) == ("۱۲ ب ۳۴۵ ایران ۶۷", "خیابان ایران‌زمین")
    assert persian["window_jalali"] == "۵ آذر ۱۴۰۵، ۱۱:۰۰–۱۲:۰۰"
    assert (persian["amount_rial"], persian["paid_rial"], persian["refunded_rial"]) == (
        108_000,
        108_000,
        0,
    )
    [receipt] = persian["receipts"]
    assert (receipt["amount_rial"], receipt["paid_at_jalali"]) == (108_000, "۵ آذر ۱۴۰۵، ۱۰:۰۰")
    assert (english["window_jalali"], english["street"]) == (
        "5 Azar 1405, 11:00–12:00",
        "Iran Zamin Street",
    )


async def test_a_taken_bay_answers_409_with_free_alternatives_and_books_nothing(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-D2", 1)
    await book(
        parking, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=OTHER, plate=OTHER_CAR
    )
    quoted = await quote(http, bay.id)
    before = await row_counts(parking)

    response = await http.post(
        "/api/v1/parking/reservations", json={"quote_token": quoted.json()["quote_token"]}
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "BayTakenError"
    assert body["field"] == "bay_id"
    assert body["detail"] == "این جایگاه برای بخشی از این زمان رزرو شده است."
    assert [a["bay_number"] for a in body["alternatives"]] == [2, 3, 4, 5, 6]
    assert await row_counts(parking) == before


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"ends_at": iso(tehran(26, 11, 30))}, "ends_at", "توقف در اینجا دست‌کم ۶۰ دقیقه است."),
        ({"starts_at": iso(tehran(26, 8))}, "starts_at", "این زمان گذشته است."),
        (
            {"starts_at": iso(tehran(28, 21)), "ends_at": iso(tehran(28, 23))},
            "ends_at",
            "پارک حاشیه‌ای در اینجا از ساعت ۶ تا ۲۲ به وقت تهران برقرار است.",
        ),
        ({"plate": "67N123-45"}, "plate", None),
        ({"plate": "345-67890"}, "bay_id", "این جایگاه برای سواری و وانت است."),
        ({"plate": "ABC"}, "plate", None),
    ],
)
async def test_bad_quotes_get_a_clear_error_on_the_field_to_fix(
    http: httpx.AsyncClient,
    parking: ParkingPorts,
    body: dict[str, object],
    field: str,
    detail: str | None,
) -> None:
    bay = await bay_of(parking, "TEST-D2", 2)

    response = await quote(http, bay.id, **body)

    assert response.status_code in (400, 422)
    problem = response.json()
    assert problem["field"] == field
    if detail is not None:
        assert problem["detail"] == detail


async def test_errors_come_in_english_for_an_english_reader(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-D2", 2)
    http.cookies.set("lang", "en")

    response = await quote(http, bay.id, ends_at=iso(tehran(26, 11, 30)))

    assert response.json()["detail"] == "A stay here must be at least 60 minutes."


async def test_a_tampered_quote_or_amount_is_refused_and_books_nothing(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-D2", 3)
    token = (await quote(http, bay.id)).json()["quote_token"]
    payload, mac = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    before = await row_counts(parking)

    tampered = await http.post("/api/v1/parking/reservations", json={"quote_token": forged})
    cheaper = await http.post(
        "/api/v1/parking/reservations", json={"quote_token": token, "amount_rial": 1}
    )
    someone_else = await http.post(
        "/api/v1/parking/reservations",
        json={"quote_token": token},
        headers={"x-test-citizen": OTHER},
    )

    assert (tampered.status_code, tampered.json()["field"]) == (422, "quote_token")
    assert (cheaper.status_code, cheaper.json()["field"]) == (409, "amount_rial")
    assert (someone_else.status_code, someone_else.json()["field"]) == (422, "quote_token")
    assert await row_counts(parking) == before


async def test_someone_elses_reservation_is_not_found_and_anonymous_callers_must_sign_in(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-D2", 4)
    start = await book(parking, bay.id, starts_at=tehran(26, 11), minutes=60)

    other = await http.get(
        f"/api/v1/parking/reservations/{start.reservation.id}", headers={"x-test-citizen": OTHER}
    )
    anonymous = await http.post(
        "/api/v1/parking/quotes",
        json={"bay_id": bay.id, "plate": CAR},
        headers={"x-test-citizen": ""},
    )

    assert other.status_code == 404
    assert anonymous.status_code == 401


async def test_a_stay_is_managed_through_the_api(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts, clock: FixedClock
) -> None:
    bay = await bay_of(parking, "TEST-D2", 5)
    token = (
        await quote(
            http, bay.id, starts_at=iso(tehran(26, 10, 30)), ends_at=iso(tehran(26, 11, 30))
        )
    ).json()["quote_token"]
    reservation = (
        await http.post(
            "/api/v1/parking/reservations", json={"quote_token": token, "method": "wallet"}
        )
    ).json()["reservation"]
    await container.bus.drain()
    path = f"/api/v1/parking/reservations/{reservation['id']}"

    plate = await http.post(f"{path}/plate", json={"plate": "23 ج 456 ایران 78"})
    extended = await http.post(
        f"{path}/extend", json={"ends_at": iso(tehran(26, 13, 30)), "method": "wallet"}
    )
    await container.bus.drain()
    clock.set(tehran(26, 11, 10))
    ended = await http.post(f"{path}/end")
    cancel = await http.post(f"{path}/cancel")

    assert plate.status_code == 200
    assert plate.json()["reservation"]["plate"] == "23J456-78"
    assert extended.json()["payment"]["amount_rial"] == 138_000
    assert ended.status_code == 200
    assert ended.json()["refund_rial"] == 138_000
    assert ended.json()["reservation"]["status"] == "ended"
    assert [p["outcome"] for p in ended.json()["reservation"]["payments"]] == [
        "confirmed",
        "extended",
    ]
    assert cancel.status_code == 409


async def test_reminders_are_listed_in_the_citizens_language(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts, clock: FixedClock
) -> None:
    bay = await bay_of(parking, "TEST-D2", 6)
    await book(parking, bay.id, starts_at=tehran(26, 10, 30), minutes=60, method="wallet")
    await container.bus.drain()
    clock.set(tehran(26, 11, 25))
    await services.run_upkeep(parking)

    persian = await http.get("/api/v1/parking/notifications")
    http.cookies.set("lang", "en")
    english = await http.get("/api/v1/parking/notifications")

    assert [n["text"] for n in persian.json()] == [
        "پارک شما در خیابان زرافشان، جایگاه ۶، ساعت ۱۱:۳۰ تمام می‌شود."
        " اگر وقت بیشتری لازم دارید، در برنامه تمدید کنید."
    ]
    assert english.json()[0]["text"].startswith(
        "Your parking on Zarafshan Street, bay 6, ends at 11:30."
    )


async def test_the_parking_api_is_described_in_openapi(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()

    paths = document["paths"]
    for path in (
        "/api/v1/parking/search",
        "/api/v1/parking/meters/{meter_id}",
        "/api/v1/parking/quotes",
        "/api/v1/parking/reservations",
        "/api/v1/parking/reservations/{reservation_id}",
        "/api/v1/parking/reservations/{reservation_id}/extend",
        "/api/v1/parking/reservations/{reservation_id}/end",
        "/api/v1/parking/reservations/{reservation_id}/cancel",
        "/api/v1/parking/reservations/{reservation_id}/plate",
        "/api/v1/parking/reservations/{reservation_id}/receipt",
        "/api/v1/parking/ngsi-ld/ParkingSpot",
        "/api/v1/parking/ngsi-ld/OnStreetParking",
    ):
        assert path in paths, path
    schemas = document["components"]["schemas"]
    for name in (
        "QuoteCreate",
        "QuoteOut",
        "ReservationCreate",
        "ReservationOut",
        "BayTakenProblem",
    ):
        assert name in schemas, name
    conflict = paths["/api/v1/parking/reservations"]["post"]["responses"]["409"]
    assert "BayTakenProblem" in json.dumps(conflict)
