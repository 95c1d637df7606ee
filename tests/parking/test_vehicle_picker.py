"""The meter page's vehicle picker: the citizen's vehicles, the one booked with last picked;
another plate typed in the plate-shaped input and added to the account; disabled bays only
for a vehicle whose disability permit is approved and in force for the whole stay."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from shahr.bootstrap import Container
from shahr.parking import services
from shahr.parking.domain import (
    BayKindMismatchError,
    BayTakenError,
    ReservationStatus,
    VehicleKindMismatchError,
)
from shahr.parking.gateways import StaticVehicleDirectory
from shahr.parking.services import PARKING, ParkingPorts

from .flows import (
    CAR,
    CITIZEN,
    DISABLED,
    MOTORCYCLE,
    VAN,
    bay_of,
    book,
    row_counts,
    seeded_ports,
    tehran,
)
from .test_pages import (
    CSRF,
    DAY,
    app_for,
    bay_states,
    english,
    field_error,
    hidden,
    listing,
    meter_id,
    quote_page,
    reserve,
)


@pytest.fixture
async def parking(container: Container) -> ParkingPorts:
    """The four test meters, real payments, and the citizen's vehicles (as test_pages)."""
    return await seeded_ports(
        container, payments=container.get(PARKING).payments, vehicles=listing()
    )


@pytest.fixture
async def citizen(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    """The citizen of the test meters, signed in."""
    async with app_for(container, parking) as client:
        client.headers["x-test-citizen"] = CITIZEN
        yield client


def car_boxes(first: str, letter: str, middle: str, region: str) -> dict[str, str]:
    return {"plate_first": first, "plate_letter": letter, "plate_middle": middle,
            "plate_region": region}  # fmt: skip


# A car whose permit ends on the tests' Thursday itself, and one approved but lapsed.
LAST_DAY = "78M901-23"
LAPSED = "89L213-34"


def directory(parking: ParkingPorts) -> StaticVehicleDirectory:
    found = parking.vehicles
    assert isinstance(found, StaticVehicleDirectory)
    return found


def picked_vehicle(html: str) -> str | None:
    select = re.search(r'<select id="plate" name="plate".*?</select>', html, re.S)
    assert select is not None
    chosen = re.search(r'<option value="([^"]+)" selected>', select.group())
    return chosen.group(1) if chosen else None


async def test_the_picker_offers_the_vehicle_booked_with_last_first_and_picked(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = f"/parking/meters/{await meter_id(parking, 'TEST-D2')}"
    assert picked_vehicle((await citizen.get(page)).text) == CAR  # no booking yet: the first

    await book(parking, (await bay_of(parking, "TEST-D2", 4)).id, starts_at=tehran(26, 12),
               minutes=60, plate=VAN)  # fmt: skip
    html = (await citizen.get(page)).text

    assert picked_vehicle(html) == VAN
    assert "خودرویی که آخرین بار با آن رزرو کردید." in html
    assert '<option value="another">پلاک دیگر…</option>' in html


async def test_the_form_s_own_choice_wins_over_the_last_used(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    await book(parking, (await bay_of(parking, "TEST-D2", 4)).id, starts_at=tehran(26, 12),
               minutes=60, plate=VAN)  # fmt: skip

    html = (await quote_page(citizen, parking, device_id="TEST-D2", plate=CAR)).text

    assert picked_vehicle(html) == CAR
    assert hidden(html, "plate") == CAR


async def test_another_plate_shows_the_plate_shaped_input_in_both_languages(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = f"/parking/meters/{await meter_id(parking, 'TEST-D2')}"
    html = (await citizen.get(page, params={"plate": "another"})).text

    assert '<option value="another" selected>' in html
    assert 'form="add-vehicle-form"' in html
    assert 'name="plate_letter"' in html
    assert '<option value="J">ج</option>' in html
    assert 'action="/parking/meters/' in html

    html = (await english(citizen).get(page, params={"plate": "another"})).text
    assert "Another plate…" in html
    assert '<option value="J">J (ج)</option>' in html
    assert "Add this vehicle and use it" in html


async def test_another_plate_typed_in_persian_digits_is_added_and_used_for_the_quote(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-D2", 2)
    response = await citizen.post(
        f"/parking/meters/{bay.meter_id}/vehicles",
        data={
            "csrf_token": CSRF, "day": DAY, "start": "11:00", "duration_min": "60",
            "bay": str(bay.id), "vehicle_kind": "car", "plate_first": "۴۴", "plate_letter": "Sad",
            "plate_middle": "٥٥٥", "plate_region": "۱۰",
        },
    )  # fmt: skip

    assert response.status_code == 303
    assert "plate=44Sad555-10" in response.headers["location"]
    assert directory(parking).vehicles[(CITIZEN, "44Sad555-10")] == "car"
    quote = await citizen.get(response.headers["location"])
    assert hidden(quote.text, "plate") == "44Sad555-10"
    assert "برآورد هزینهٔ شما" in quote.text


@pytest.mark.parametrize(
    ("kind", "boxes", "where", "message"),
    [
        ("car", car_boxes("4x", "B", "555", "10"),
         "new_first", "در این بخش پلاک فقط رقم نوشته می‌شود."),
        ("car", car_boxes("44", "Q", "555", "10"),
         "new_letter", "«Q» از حروف پلاک‌های ایران نیست."),
        ("motorcycle", car_boxes("44", "B", "555", "10"),
         "new_plate", "پلاک موتورسیکلت حرف ندارد: یک کد سه‌رقمی و یک شمارهٔ پنج‌رقمی است."),
        ("car", {"plate_top": "123", "plate_number": "45678"},
         "new_plate", "این پلاک موتورسیکلت است؛ پلاک سواری، وانت، کامیونت و مینی‌بوس حرف دارد."),
        ("car", car_boxes("12", "B", "345", "67"),
         "new_plate", "این پلاک پیش‌تر در حساب شما ثبت شده است."),
    ],
)  # fmt: skip
async def test_another_plate_that_is_wrong_is_refused_beside_its_box_and_nothing_is_added(
    citizen: httpx.AsyncClient,
    parking: ParkingPorts,
    kind: str,
    boxes: dict[str, str],
    where: str,
    message: str,
) -> None:
    before = dict(directory(parking).vehicles)
    meter = await meter_id(parking, "TEST-D2")

    response = await citizen.post(
        f"/parking/meters/{meter}/vehicles",
        data={"csrf_token": CSRF, "day": DAY, "start": "11:00", "vehicle_kind": kind, **boxes},
    )

    assert response.status_code in (400, 409, 422)
    assert field_error(response.text, where) == message
    assert directory(parking).vehicles == before
    assert 'name="plate_first"' in response.text  # the boxes are shown again, as typed


async def test_a_motorcycle_with_its_own_plate_gets_a_quote_for_a_motorcycle_bay(
    parking: ParkingPorts,
) -> None:
    bay = await bay_of(parking, "TEST-A1", 8)

    quote = await services.quote_bay(
        parking, citizen_id=CITIZEN, bay_id=bay.id, plate="ایران ۳۴۵ ۶۷۸۹۰", duration_min=60
    )

    assert quote.claims.plate == MOTORCYCLE


async def test_a_vehicle_registered_with_the_other_kind_s_plate_is_refused_at_the_quote(
    parking: ParkingPorts,
) -> None:
    directory(parking).add(CITIZEN, "56N789-12", "motorcycle")  # registered before the check
    bay = await bay_of(parking, "TEST-A1", 8)

    with pytest.raises(VehicleKindMismatchError) as refused:
        await services.quote_bay(
            parking, citizen_id=CITIZEN, bay_id=bay.id, plate="56N789-12", duration_min=60
        )
    assert refused.value.field == "plate"


# --- disabled bays ------------------------------------------------------------------------


async def test_a_disabled_bay_is_shown_as_such_and_needs_a_permit_to_be_picked(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = f"/parking/meters/{await meter_id(parking, 'TEST-A1')}"
    params = {"day": DAY, "start": "11:00"}

    without = (await citizen.get(page, params={**params, "plate": CAR})).text
    with_permit = (await citizen.get(page, params={**params, "plate": DISABLED})).text

    assert bay_states(without)["7"] == "permit"
    assert "نیاز به مجوز معلولیت" in without
    assert "جایگاه معلولان" in without
    assert bay_states(with_permit)["7"] == "free"
    english_page = (await english(citizen).get(page, params={**params, "plate": CAR})).text
    assert "Disability permit needed" in english_page
    assert "Disabled bay" in english_page


async def test_a_disabled_bay_is_booked_with_a_valid_permit_and_refused_without(
    parking: ParkingPorts,
) -> None:
    bay = await bay_of(parking, "TEST-A1", 7)

    booked = await book(parking, bay.id, starts_at=tehran(26, 11), minutes=60, plate=DISABLED)
    assert booked.reservation.status is ReservationStatus.pending
    with pytest.raises(BayKindMismatchError) as refused:
        await book(parking, bay.id, starts_at=tehran(26, 14), minutes=60, plate=CAR)
    assert "disability permit" in refused.value.message


async def test_a_permit_must_cover_the_whole_stay(parking: ParkingPorts) -> None:
    directory(parking).add(CITIZEN, LAST_DAY, "car", permit_expires_on=date(2026, 11, 26))
    directory(parking).add(CITIZEN, LAPSED, "car", permit_expires_on=date(2026, 11, 25))
    bay = await bay_of(parking, "TEST-A1", 7)

    today = await book(parking, bay.id, starts_at=tehran(26, 11), minutes=60, plate=LAST_DAY)
    assert today.reservation.plate == LAST_DAY
    for plate, starts_at in ((LAST_DAY, tehran(27, 11)), (LAPSED, tehran(26, 14))):
        with pytest.raises(BayKindMismatchError):
            await book(parking, bay.id, starts_at=starts_at, minutes=60, plate=plate)


async def test_a_permit_withdrawn_after_the_quote_stops_the_booking_and_nothing_is_held(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = await quote_page(citizen, parking, number=7, plate=DISABLED)
    assert "برآورد هزینهٔ شما" in page.text
    del directory(parking).permits[(CITIZEN, DISABLED)]
    before = await row_counts(parking)

    response = await reserve(citizen, page)

    assert response.status_code == 422
    assert "مجوز معلولیت" in (field_error(response.text, "bay") or "")
    assert await row_counts(parking) == before


async def test_alternatives_offer_a_disabled_bay_only_to_a_vehicle_with_a_permit(
    parking: ParkingPorts,
) -> None:
    for number in range(1, 7):  # every car bay of the meter, so the disabled bay is next
        bay = await bay_of(parking, "TEST-A1", number)
        await book(parking, bay.id, starts_at=tehran(26, 11), minutes=60, plate=VAN,
                   method="wallet")  # fmt: skip
    taken = await bay_of(parking, "TEST-A1", 6)
    disabled_bay = await bay_of(parking, "TEST-A1", 7)

    for plate, offered in ((CAR, False), (DISABLED, True)):
        with pytest.raises(BayTakenError) as refused:
            await book(parking, taken.id, starts_at=tehran(26, 11), minutes=60, plate=plate)
        ids = [a.bay_id for a in refused.value.alternatives]
        assert (disabled_bay.id in ids) is offered


# --- item 10: price and closed bays ---------------------------------------------------------


async def test_no_full_price_is_shown_before_a_bay_is_picked(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    page = f"/parking/meters/{await meter_id(parking, 'TEST-A1')}"

    html = (await english(citizen).get(page, params={"day": DAY, "start": "11:00"})).text

    assert "From 5,400 Toman a half-hour; the price is shown when you choose a bay." in html
    assert "10,800 Toman" not in html
    assert "Choose a free bay above to get your quote." in html


async def test_a_bay_that_is_not_free_is_never_drawn_as_picked(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    held = await bay_of(parking, "TEST-A1", 2)
    await book(parking, held.id, starts_at=tehran(26, 11), minutes=60, plate=VAN, method="wallet")

    html = (await quote_page(citizen, parking, number=2)).text

    assert f'name="bay" value="{held.id}" disabled' in html
    assert f'value="{held.id}" checked' not in html
    assert bay_states(html)["2"] == "reserved"
