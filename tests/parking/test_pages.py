"""Parking's citizen pages: the map and list, a meter's bays and quote, reserving, the
confirmation page, and my parking with extend, end, cancel and change plate.

Server-rendered pages driven by plain form posts, over the four test meters of
`test_reservations`, with real payments (the demo wallet and the sandbox PSP). The caller is
named by a test header, read by a fake principal resolver, as in `test_access_walk`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.parking.domain import ReservationStatus
from shahr.parking.gateways import StaticVehicleDirectory
from shahr.parking.services import PARKING, ParkingPorts, load_metro_stations, run_upkeep
from shahr.web import create_app

from .flows import (
    CAR,
    CITIZEN,
    MOTORCYCLE,
    OTHER,
    OTHER_CAR,
    VAN,
    bay_of,
    book,
    pay_last,
    row_counts,
    seeded_ports,
    status_of,
    tehran,
    vehicles,
)
from .geodata import metro_stations

CSRF = "p" * 43
# The sandbox bank's test card, as its page takes it.
CARD_FORM = {
    "csrf_token": CSRF,
    "action": "pay",
    "card_number": "6037990000000006",
    "cvv2": "123",
    "expiry_month": "12",
    "expiry_year": "08",
    "pin": "123456",
}
DAY = "2026-11-26"  # the tests' Thursday, 5 Azar 1405
NO_ROWS = {
    "parking_reservation": 0,
    "parking_reservation_payment": 0,
    "parking_refund": 0,
    "parking_notification": 0,
}


def listing() -> StaticVehicleDirectory:
    directory = vehicles()
    directory.nicknames[(CITIZEN, CAR)] = "Peugeot 206"
    return directory


@pytest.fixture
async def parking(container: Container) -> ParkingPorts:
    """The four test meters, real payments, and a vehicle directory that lists vehicles."""
    return await seeded_ports(
        container, payments=container.get(PARKING).payments, vehicles=listing()
    )


def app_for(container: Container, parking: ParkingPorts) -> httpx.AsyncClient:
    app = create_app(container)

    async def resolve(request: Request) -> Principal | None:
        citizen = request.headers.get("x-test-citizen")
        if not citizen:
            return None
        return Principal(
            id=citizen, kind="citizen", display_name="Sara", roles=frozenset({Role.citizen})
        )

    container.resolve_principal = resolve
    container.provide(PARKING, parking, replace=True)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"x-csrf-token": CSRF},
    )
    client.cookies.set(CSRF_COOKIE, CSRF)
    return client


@pytest.fixture
async def http(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    """Anonymous unless a request names its citizen with `x-test-citizen`."""
    async with app_for(container, parking) as client:
        yield client


@pytest.fixture
async def citizen(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    """The citizen of the test meters, signed in."""
    async with app_for(container, parking) as client:
        client.headers["x-test-citizen"] = CITIZEN
        yield client


def english(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.cookies.set(LANGUAGE_COOKIE, "en")
    return client


def listed_meters(html: str) -> list[str]:
    return re.findall(r'class="meter-item[^"]*" data-meter-id="(\d+)"', html)


def bay_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-bay-number="(\d+)" data-state="(\w+)"', html))


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{name}-error" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else None


def hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert found is not None, f"no hidden {name}"
    return found.group(1)


async def meter_id(parking: ParkingPorts, device_id: str) -> int:
    return (await bay_of(parking, device_id, 1)).meter_id


async def quote_page(
    client: httpx.AsyncClient,
    parking: ParkingPorts,
    *,
    device_id: str = "TEST-A1",
    number: int = 3,
    start: str = "11:00",
    duration_min: int = 60,
    plate: str = CAR,
) -> httpx.Response:
    bay = await bay_of(parking, device_id, number)
    return await client.get(
        f"/parking/meters/{bay.meter_id}",
        params={
            "day": DAY,
            "start": start,
            "duration_min": duration_min,
            "bay": bay.id,
            "plate": plate,
        },
    )


async def reserve(
    client: httpx.AsyncClient, page: httpx.Response, *, method: str = "wallet"
) -> httpx.Response:
    fields = ["quote_token", "amount_rial", "meter_id", "day", "start", "duration_min", "bay"]
    form = {name: hidden(page.text, name) for name in fields}
    form |= {"plate": hidden(page.text, "plate"), "method": method, "csrf_token": CSRF}
    return await client.post("/parking/reservations", data=form)


# --- the map ----------------------------------------------------------------------------------


async def test_the_map_lists_meters_nearest_first_in_persian_with_class_price_and_metro(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    await load_metro_stations(container.database, stations=metro_stations())

    response = await http.get("/parking", params={"lon": 51.37, "lat": 35.76})

    assert response.status_code == 200
    html = response.text
    assert '<html lang="fa" dir="rtl">' in html
    ids = [await meter_id(parking, d) for d in ("TEST-A1", "TEST-D1", "TEST-D2")]
    assert listed_meters(html) == [str(i) for i in ids]
    first = html[html.index(f'data-meter-id="{ids[0]}"') :]
    assert "خیابان ایران‌زمین" in first
    assert "درجه الف" in first
    assert "هر نیم‌ساعت ۵٬۴۰۰ تومان" in first  # 30,000 x 1.8 for a car on a class A street
    assert "میدان صنعت" in first  # the closest metro station: park and ride
    assert "<strong>۷</strong>" in first  # free bays for a car (bay 8 is for motorcycles)
    assert 'id="parking-map"' in html
    assert 'src="/static/parking/map.js" type="module"' in html


async def test_without_a_position_the_map_starts_at_district_2(http: httpx.AsyncClient) -> None:
    html = (await http.get("/parking")).text

    assert "منطقه ۲ · شهرک غرب" in html
    assert 'data-centre-lon="51.37" data-centre-lat="35.76"' in html
    assert len(listed_meters(html)) == 3  # the zone-3 meter is too far from District 2


async def test_the_map_reads_in_english(http: httpx.AsyncClient) -> None:
    html = (await english(http).get("/parking")).text

    assert '<html lang="en" dir="ltr">' in html
    assert "Iran Zamin Street" in html
    assert "Class A" in html
    assert "5,400 Toman per half-hour" in html
    assert "District 2 · Shahrak-e Gharb" in html


async def test_the_map_filters_by_vehicle_kind_and_price_ceiling(
    http: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    a1, d1, d2 = [await meter_id(parking, d) for d in ("TEST-A1", "TEST-D1", "TEST-D2")]

    motorcycles = await http.get("/parking", params={"vehicle_kind": "motorcycle"})
    cheap = await http.get("/parking", params={"max_price_rial": 100_000})

    assert listed_meters(motorcycles.text) == [str(a1)]  # the only motorcycle bay
    assert listed_meters(cheap.text) == [str(d1), str(d2)]  # class A costs 108,000 an hour


async def test_a_time_window_past_closing_is_named_beside_the_duration_field(
    http: httpx.AsyncClient,
) -> None:
    html = (await http.get("/parking", params={"day": DAY, "start": "21:30"})).text

    assert field_error(html, "duration_min") == (
        "پارک حاشیه‌ای در اینجا از ساعت ۶ تا ۲۲ به وقت تهران برقرار است."
    )
    assert '<details class="filters card" open>' in html
    assert "برای این زمان رزروپذیر نیست" in html


# --- a meter: bays, the vehicle and time, the quote -------------------------------------------


async def test_the_meter_page_shows_eight_bays_with_their_kinds_and_states(
    http: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    held = await bay_of(parking, "TEST-A1", 2)
    await book(parking, held.id, starts_at=tehran(26, 10, 30), minutes=60, citizen=OTHER,
               plate=OTHER_CAR, method="wallet")  # fmt: skip
    await container.bus.drain()

    response = await http.get(
        f"/parking/meters/{held.meter_id}", params={"day": DAY, "start": "11:00"}
    )

    assert response.status_code == 200
    states = bay_states(response.text)
    assert states == {
        "1": "free", "2": "reserved", "3": "free", "4": "free",
        "5": "free", "6": "free", "7": "permit", "8": "unfit",
    }  # fmt: skip
    assert "جایگاه معلولان" in response.text
    assert "جایگاه موتورسیکلت" in response.text
    assert f'name="bay" value="{held.id}" disabled' in response.text
    # Signed out, no bay picked: only the half-hour rate ("from"), and how to sign in.
    assert "از ۵٬۴۰۰ تومان برای هر نیم ساعت" in response.text
    assert "۱۰٬۸۰۰ تومان" not in response.text
    assert "برای رزرو جایگاه وارد شوید" in response.text


async def test_the_quote_shows_its_breakdown_with_no_hidden_fees(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    response = await quote_page(citizen, parking, duration_min=180)

    assert response.status_code == 200
    html = response.text
    assert "برآورد هزینهٔ شما" in html
    assert "تعرفه ۱۴۰۳: نرخ پایه هر نیم‌ساعت" in html
    assert "× ۱٫۸" in html  # the street-class multiplier, class A
    assert "۴ نیم‌ساعت × ۵٬۴۰۰ تومان (دو ساعت اول)" in html
    assert "۲ نیم‌ساعت × ۷٬۰۲۰ تومان (پس از دو ساعت)" in html
    assert "۳۵٬۶۴۰ تومان" in html
    assert "۳۵٬۶۴۰ تومان" in html
    assert "بدون هزینهٔ دیگر" in html
    assert "این قیمت تا ساعت ۱۰:۱۰ معتبر است." in html  # ten minutes from the quote
    assert hidden(html, "amount_rial") == "356400"
    assert 'class="plate"' in html
    assert "۱۲</bdi>" in html


async def test_the_quote_reads_in_english_in_toman(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    html = (await quote_page(english(citizen), parking)).text

    assert "Your quote" in html
    assert "2 half-hours × 5,400 Toman (first two hours)" in html
    assert "10,800 Toman" in html
    assert "10,800 Toman" in html
    assert "Reserve and pay 10,800 Toman" in html


async def test_the_vehicle_picker_lists_the_citizens_vehicles_and_links_to_add_one(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    html = (await citizen.get(f"/parking/meters/{await meter_id(parking, 'TEST-D1')}")).text

    assert '<select id="plate" name="plate"' in html
    assert f'<option value="{CAR}" selected>۱۲ ب ۳۴۵ ایران ۶۷ · سواری · Peugeot 206' in html
    assert f'<option value="{MOTORCYCLE}"' in html
    assert 'href="/account"' in html


async def test_a_window_past_closing_time_shows_the_error_beside_the_field_and_books_nothing(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    response = await quote_page(citizen, parking, start="21:30", duration_min=90)

    assert field_error(response.text, "duration_min") == (
        "پارک حاشیه‌ای در اینجا از ساعت ۶ تا ۲۲ به وقت تهران برقرار است."
    )
    assert 'aria-invalid="true" aria-describedby="duration_min-error"' in response.text
    assert 'name="quote_token"' not in response.text
    assert await row_counts(parking) == NO_ROWS


async def test_a_start_in_the_past_is_refused_beside_the_start_field(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    response = await quote_page(citizen, parking, start="08:00")

    assert field_error(response.text, "start") == "این زمان گذشته است."
    assert await row_counts(parking) == NO_ROWS


async def test_a_vehicle_that_does_not_fit_the_bay_is_refused_beside_the_bay(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    response = await quote_page(citizen, parking, number=7, plate=VAN)  # a disabled bay

    assert "مجوز معلولیت" in (field_error(response.text, "bay") or "")
    assert response.status_code == 422


async def test_a_form_value_that_cannot_be_read_is_named_in_english(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    meter = await meter_id(parking, "TEST-A1")
    response = await english(citizen).get(
        f"/parking/meters/{meter}", params={"day": "someday", "duration_min": "forever"}
    )

    assert field_error(response.text, "day") == "Choose a day from the list."
    assert field_error(response.text, "duration_min") == "Choose how long you will park."


# --- reserving, paying, the confirmation page -----------------------------------------------


async def test_reserving_by_card_goes_to_the_bank_and_holds_the_bay(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = await quote_page(citizen, parking)

    response = await reserve(citizen, page, method="psp")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sandbox-psp/pay/")
    counts = await row_counts(parking)
    assert counts["parking_reservation"] == 1
    bank = await citizen.get(response.headers["location"])
    assert "۱۰٬۸۰۰ تومان" in bank.text


async def test_reserving_from_the_wallet_confirms_and_shows_the_confirmation_page(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    page = await quote_page(citizen, parking)

    response = await reserve(citizen, page)
    await container.bus.drain()

    assert response.status_code == 303
    target = response.headers["location"]
    assert target.endswith("?payment_status=settled")
    reservation_id = target.split("?")[0].rsplit("/", 1)[-1]
    assert await status_of(parking, reservation_id) is ReservationStatus.confirmed
    html = (await citizen.get(target)).text
    assert "پرداخت و رزرو شد" in html
    assert "جایگاه ۳ · خیابان ایران‌زمین" in html
    assert "۵ آذر ۱۴۰۵" in html
    assert "<bdi>۱۱:۰۰</bdi> تا <bdi>۱۲:۰۰</bdi>" in html
    assert "۱۰٬۸۰۰ تومان" in html
    assert 'aria-label="۱۲ ب ۳۴۵ ایران ۶۷"' in html
    meter = await meter_id(parking, "TEST-A1")
    assert f'data-stream-url="/api/v1/parking/meters/{meter}/lights/stream"' in html
    assert 'data-bay-number="3"' in html
    assert re.search(r'href="/payments/[^"]+/receipt"', html)
    assert "چراغ در شروع زمان پارک شما، ساعت ۱۱:۰۰، سبز می‌شود." in html


async def test_the_confirmation_page_reads_in_english(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    target = (await reserve(citizen, await quote_page(citizen, parking))).headers["location"]
    await container.bus.drain()

    html = (await english(citizen).get(target)).text

    assert "Paid and reserved" in html
    assert "Bay 3 · Iran Zamin Street" in html
    assert "5 Azar 1405" in html
    assert "12 B 345 Iran 67" in html


async def test_a_bank_that_declines_sends_the_citizen_back_to_a_clear_notice(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    started = await reserve(citizen, await quote_page(citizen, parking), method="psp")
    assert started.status_code == 303
    reservation_id = (await citizen.get("/api/v1/parking/reservations")).json()[0]["id"]
    declined = await citizen.post(
        started.headers["location"], data={**CARD_FORM, "scenario": "decline"}
    )
    back = await citizen.get(declined.headers["location"])
    assert back.headers["location"].endswith("payment_status=failed")

    html = (await citizen.get(back.headers["location"])).text

    assert "پرداخت انجام نشد." in html
    assert "در انتظار پرداخت" in html
    assert f'action="/parking/reservations/{reservation_id}/pay"' in html


async def test_a_bay_taken_meanwhile_is_named_beside_the_bays_with_free_alternatives(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    page = await quote_page(citizen, parking)
    bay = await bay_of(parking, "TEST-A1", 3)
    await book(parking, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=OTHER,
               plate=OTHER_CAR, method="wallet")  # fmt: skip
    await container.bus.drain()
    before = await row_counts(parking)

    response = await reserve(citizen, page)

    assert response.status_code == 409
    assert field_error(response.text, "bay") == "این جایگاه برای بخشی از این زمان رزرو شده است."
    assert "جایگاه‌های آزاد نزدیک برای همین زمان" in response.text
    assert bay_states(response.text)["3"] == "reserved"
    assert await row_counts(parking) == before


async def test_an_expired_quote_is_refused_and_books_nothing(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock
) -> None:
    page = await quote_page(citizen, parking)
    clock.advance(timedelta(minutes=11))

    response = await reserve(citizen, page)

    assert response.status_code == 422
    assert (
        field_error(response.text, "quote")
        == "مهلت این برآورد هزینه تمام شده است. برآورد تازه‌ای بگیرید."
    )
    assert await row_counts(parking) == NO_ROWS


async def test_a_tampered_amount_is_refused_and_books_nothing(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = await quote_page(citizen, parking)
    form = {
        name: hidden(page.text, name)
        for name in ("quote_token", "meter_id", "day", "start", "duration_min", "bay", "plate")
    }

    response = await citizen.post(
        "/parking/reservations",
        data={**form, "amount_rial": "1000", "method": "wallet", "csrf_token": CSRF},
    )

    assert response.status_code == 409
    assert field_error(response.text, "method") is not None
    assert await row_counts(parking) == NO_ROWS


async def test_someone_elses_reservation_reads_as_not_found(
    citizen: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    target = (await reserve(citizen, await quote_page(citizen, parking))).headers["location"]

    async with app_for(container, parking) as other:
        other.headers["x-test-citizen"] = OTHER
        response = await other.get(target)

    assert response.status_code == 404


# --- my parking ---------------------------------------------------------------------------------


async def running_stay(parking: ParkingPorts, container: Container, *, minutes: int = 60) -> str:
    """A stay in bay 3 of TEST-A1 from now (10:00), paid from the wallet."""
    bay = await bay_of(parking, "TEST-A1", 3)
    start = await book(parking, bay.id, starts_at=tehran(26, 10), minutes=minutes, method="wallet")
    await container.bus.drain()
    return start.reservation.id


async def test_my_parking_shows_the_running_stay_with_extension_prices_and_the_refund(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock, container: Container
) -> None:
    reservation_id = await running_stay(parking, container, minutes=120)
    clock.advance(timedelta(minutes=20))

    response = await citizen.get("/parking/my")

    assert response.status_code == 200
    html = response.text
    running = html[html.index('id="current-title"') : html.index('id="upcoming-title"')]
    assert f'data-reservation-id="{reservation_id}"' in running
    # Extending from 12:00 costs the later rate: 39,000 x 1.8 = 70,200 a half-hour.
    assert "تا ۱۲:۳۰ · ۷٬۰۲۰ تومان بیشتر" in running
    assert "تا ۱۳:۰۰ · ۱۴٬۰۴۰ تومان بیشتر" in running
    # 20 minutes used of 4 half-hours bought: three whole half-hours come back.
    assert "۱۶٬۲۰۰ تومان بابت نیم‌ساعت‌های کامل استفاده‌نشده" in running
    assert re.search(r'href="/payments/[^"]+/receipt"', running)


async def test_extending_from_my_parking_pays_the_difference_from_the_wallet(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    reservation_id = await running_stay(parking, container)

    response = await citizen.post(
        f"/parking/reservations/{reservation_id}/extend",
        data={"ends_at": tehran(26, 11, 30).isoformat(), "method": "wallet", "csrf_token": CSRF},
    )
    await container.bus.drain()

    assert response.status_code == 303
    assert response.headers["location"].endswith("?done=extended&payment_status=settled")
    body = (await citizen.get(f"/api/v1/parking/reservations/{reservation_id}")).json()
    assert body["ends_at"] == "2026-11-26T08:00:00Z"
    assert body["paid_rial"] == 108_000 + 54_000
    html = (await citizen.get(response.headers["location"])).text
    assert "پارک شما تمدید شد." in html
    assert len(re.findall(r'href="/payments/[^"]+/receipt"', html)) == 2


async def test_an_extension_past_closing_time_is_refused_beside_its_field(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    reservation_id = await running_stay(parking, container)

    response = await citizen.post(
        f"/parking/reservations/{reservation_id}/extend",
        data={"ends_at": tehran(26, 22, 30).isoformat(), "method": "wallet", "csrf_token": CSRF},
    )

    assert response.status_code == 422
    card = response.text[response.text.index(f'data-reservation-id="{reservation_id}"') :]
    assert '<details class="action action-extend" open>' in card
    assert "۲۲" in card[card.index('class="field-error"') :][:200]
    body = (await citizen.get(f"/api/v1/parking/reservations/{reservation_id}")).json()
    assert body["ends_at"] == "2026-11-26T07:30:00Z"


async def test_ending_a_stay_now_shows_the_refund_on_the_reservation(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock, container: Container
) -> None:
    reservation_id = await running_stay(parking, container, minutes=120)
    clock.advance(timedelta(minutes=20))

    response = await citizen.post(
        f"/parking/reservations/{reservation_id}/end", data={"csrf_token": CSRF}
    )

    assert response.status_code == 303
    html = (await citizen.get(response.headers["location"])).text
    assert "زودتر پایان یافت" in html
    assert "۱۶٬۲۰۰ تومان" in html
    assert await status_of(parking, reservation_id) is ReservationStatus.ended


async def test_an_upcoming_reservation_can_change_vehicle_and_be_cancelled(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    bay = await bay_of(parking, "TEST-D2", 2)
    start = await book(parking, bay.id, starts_at=tehran(26, 15), minutes=60, method="wallet")
    await container.bus.drain()
    reservation_id = start.reservation.id
    other_car = "23J456-78"  # the citizen's van: a car bay takes it, for the same fee

    my = (await citizen.get("/parking/my")).text
    upcoming = my[my.index('id="upcoming-title"') :]
    assert f'data-reservation-id="{reservation_id}"' in upcoming
    assert "همهٔ مبلغ پرداختی، ۶٬۰۰۰ تومان، به کیف پول شما بازمی‌گردد." in upcoming

    changed = await citizen.post(
        f"/parking/reservations/{reservation_id}/plate",
        data={"plate": other_car, "csrf_token": CSRF},
    )
    assert changed.status_code == 303
    assert "خودروی این رزرو تغییر کرد." in (await citizen.get(changed.headers["location"])).text

    cancelled = await citizen.post(
        f"/parking/reservations/{reservation_id}/cancel", data={"csrf_token": CSRF}
    )
    assert cancelled.status_code == 303
    assert await status_of(parking, reservation_id) is ReservationStatus.cancelled
    html = (await citizen.get(cancelled.headers["location"])).text
    assert "رزرو شما لغو شد." in html


async def test_a_plate_that_is_not_the_citizens_is_refused_beside_the_plate(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    bay = await bay_of(parking, "TEST-D2", 2)
    start = await book(parking, bay.id, starts_at=tehran(26, 15), minutes=60, method="wallet")
    await container.bus.drain()

    response = await citizen.post(
        f"/parking/reservations/{start.reservation.id}/plate",
        data={"plate": OTHER_CAR, "csrf_token": CSRF},
    )

    assert response.status_code == 422
    assert '<details class="action action-plate" open>' in response.text
    assert "این پلاک از خودروهای ثبت‌شدهٔ شما نیست" in response.text


async def test_my_parking_reads_in_english(
    citizen: httpx.AsyncClient, parking: ParkingPorts, container: Container
) -> None:
    await running_stay(parking, container)

    html = (await english(citizen).get("/parking/my")).text

    assert "My parking" in html
    assert "Parked now" in html
    assert "until 11:30 · 5,400 Toman more" in html


async def test_signed_out_my_parking_sends_the_citizen_to_sign_in(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/parking/my")

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fparking%2Fmy"


async def test_a_payment_delivered_for_a_held_reservation_confirms_it_on_the_page(
    citizen: httpx.AsyncClient, container: Container
) -> None:
    # The PSP path end to end is the browser test's; here the verified payment is delivered
    # through a fake port, as the reservation tests do.
    from shahr.parking.gateways import FakePayments

    ports = await seeded_ports(container, vehicles=listing())
    assert isinstance(ports.payments, FakePayments)
    async with app_for(container, ports) as client:
        client.headers["x-test-citizen"] = CITIZEN
        page = await quote_page(client, ports)
        started = await reserve(client, page, method="psp")
        assert started.headers["location"].startswith("/sandbox-psp/pay/fake-payment-")
        await pay_last(ports)
        reservation_id = ports.payments.requested[-1]["reference"]
        html = (await client.get(f"/parking/reservations/{reservation_id}")).text

    assert "پرداخت و رزرو شد" in html


async def test_a_reminder_before_the_stay_ends_shows_on_my_parking(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock, container: Container
) -> None:
    await running_stay(parking, container)
    clock.advance(timedelta(minutes=52))
    await run_upkeep(parking)

    html = (await citizen.get("/parking/my")).text

    assert "پارک شما در خیابان ایران‌زمین، جایگاه ۳" in html
    assert "۱۱:۰۰" in html[html.index('class="notice warning reminder"') :]
