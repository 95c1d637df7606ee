"""A disabled bay is booked only with a vehicle whose disability permit staff approved and
which is in force for the whole stay: proven through identity's real permits and review, at
the quote, the reservation, a change of vehicle, the meter page and the API. A plate of the
♿ series carries no permit by itself: its permit is sent and reviewed like any other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from identity.test_permits import png
from shahr.bootstrap import Container
from shahr.identity import queries as identity_queries
from shahr.identity import services as identity_services
from shahr.parking import services
from shahr.parking.domain import BayKindMismatchError, ReservationStatus
from shahr.parking.services import ParkingPorts

from .flows import bay_of, book, load_test_meters, parking_ports, sign_up, tehran
from .test_pages import DAY, app_for, bay_states, field_error, meter_id, quote_page, reserve

APPROVED = "78M901-23"  # approved; in force to the tests' Thursday, 5 Azar 1405, inclusive
PENDING = "12B345-67"
REJECTED = "23J456-78"
WHEELCHAIR = "45PwD678-90"  # the ♿ series, no permit sent
WHEELCHAIR_PENDING = "56PwD789-12"  # the ♿ series, its permit not yet reviewed
PLATES = (APPROVED, PENDING, REJECTED, WHEELCHAIR, WHEELCHAIR_PENDING)
NOT_APPROVED = (PENDING, REJECTED, WHEELCHAIR, WHEELCHAIR_PENDING)
LAST_DAY = "1405/09/05"  # 26 November 2026


@pytest.fixture
async def ports(container: Container) -> ParkingPorts:
    """The test meters, with parking asking identity about vehicles as bootstrap wired it."""
    await load_test_meters(container)
    return parking_ports(container)


@pytest.fixture
async def citizen_id(container: Container) -> str:
    """A citizen with a car for each state a permit can be in."""
    citizen = await sign_up(container, phone="09121110000", plates=dict.fromkeys(PLATES, "car"))
    for plate, decision in (
        (APPROVED, True),
        (PENDING, None),
        (REJECTED, False),
        (WHEELCHAIR_PENDING, None),
    ):
        await send_permit(container, citizen, plate, approve=decision)
    return citizen


@pytest.fixture
async def citizen(
    container: Container, ports: ParkingPorts, citizen_id: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_for(container, ports) as client:
        client.headers["x-test-citizen"] = citizen_id
        yield client


async def send_permit(
    container: Container, citizen_id: str, plate: str, *, approve: bool | None
) -> None:
    """The permit sent for the car, then approved, rejected, or left waiting (None)."""
    vehicles = await identity_queries.vehicles_of(container.database, citizen_id=citizen_id)
    vehicle = next(v for v in vehicles if v.plate == plate)
    permit = await identity_services.submit_permit(
        container.database, container.clock, citizen_id=citizen_id, vehicle_id=vehicle.id,
        number="ک-۱۲۳۴۵", expires_on=LAST_DAY, photo=png(),
    )  # fmt: skip
    if approve is not None:
        await identity_services.review_permit(
            container.database, container.clock, permit_id=permit.id, reviewer_id="staff-1",
            approve=approve,
        )  # fmt: skip


# --- the booking service ------------------------------------------------------------------


async def test_only_an_approved_permit_in_force_books_a_disabled_bay(
    ports: ParkingPorts, citizen_id: str
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)

    booked = await book(
        ports, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=citizen_id, plate=APPROVED
    )

    assert booked.reservation.status is ReservationStatus.pending
    assert booked.reservation.plate == APPROVED


@pytest.mark.parametrize("plate", NOT_APPROVED)
async def test_a_permit_not_approved_or_a_wheelchair_plate_alone_is_refused_at_the_quote(
    ports: ParkingPorts, citizen_id: str, plate: str
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)

    with pytest.raises(BayKindMismatchError) as refused:
        await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60, citizen=citizen_id,
                   plate=plate)  # fmt: skip
    assert "disability permit" in refused.value.message


async def test_an_approved_permit_that_has_expired_by_the_stay_is_refused(
    ports: ParkingPorts, citizen_id: str
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)

    with pytest.raises(BayKindMismatchError):
        await book(ports, bay.id, starts_at=tehran(27, 11), minutes=60, citizen=citizen_id,
                   plate=APPROVED)  # fmt: skip


async def test_a_permit_sent_again_waits_for_review_and_stops_the_booking_meanwhile(
    ports: ParkingPorts, citizen_id: str, container: Container
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)
    quote = await services.quote_bay(
        ports, citizen_id=citizen_id, bay_id=bay.id, plate=APPROVED,
        starts_at=tehran(26, 11), ends_at=tehran(26, 12),
    )  # fmt: skip

    await send_permit(container, citizen_id, APPROVED, approve=None)  # a new paper, unreviewed

    with pytest.raises(BayKindMismatchError):
        await services.reserve(ports, citizen_id=citizen_id, quote_token=quote.token, method="psp")


async def test_staff_approval_is_what_opens_the_disabled_bay_to_a_wheelchair_plate(
    ports: ParkingPorts, citizen_id: str, container: Container
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)
    await send_permit(container, citizen_id, WHEELCHAIR, approve=True)

    booked = await book(
        ports, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=citizen_id, plate=WHEELCHAIR
    )

    assert booked.reservation.plate == WHEELCHAIR


@pytest.mark.parametrize("plate", NOT_APPROVED)
async def test_a_stay_in_a_disabled_bay_cannot_move_to_a_vehicle_without_an_approved_permit(
    ports: ParkingPorts, citizen_id: str, plate: str
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)
    booked = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=citizen_id,
                        plate=APPROVED, method="wallet")  # fmt: skip

    with pytest.raises(BayKindMismatchError):
        await services.change_plate(
            ports, citizen_id=citizen_id, reservation_id=booked.reservation.id, plate=plate
        )


# --- the meter page and the API ----------------------------------------------------------------


async def test_the_meter_page_offers_the_disabled_bay_only_to_the_approved_permit(
    citizen: httpx.AsyncClient, ports: ParkingPorts
) -> None:
    page = f"/parking/meters/{await meter_id(ports, 'TEST-A1')}"
    states = {}
    for plate in PLATES:
        html = (await citizen.get(page, params={"day": DAY, "start": "11:00", "plate": plate})).text
        states[plate] = bay_states(html)["7"]

    assert states == {APPROVED: "free"} | dict.fromkeys(NOT_APPROVED, "permit")


async def test_the_meter_page_refuses_to_reserve_with_a_permit_not_approved(
    citizen: httpx.AsyncClient, ports: ParkingPorts, container: Container, citizen_id: str
) -> None:
    page = await quote_page(citizen, ports, number=7, plate=APPROVED)
    assert "برآورد هزینهٔ شما" in page.text
    await send_permit(container, citizen_id, APPROVED, approve=False)  # replaced, then rejected

    response = await reserve(citizen, page)

    assert response.status_code == 422
    assert "مجوز معلولیت" in (field_error(response.text, "bay") or "")


@pytest.mark.parametrize(("plate", "status"), [(APPROVED, 201), *((p, 422) for p in NOT_APPROVED)])
async def test_the_quote_api_prices_a_disabled_bay_only_for_the_approved_permit(
    citizen: httpx.AsyncClient, ports: ParkingPorts, plate: str, status: int
) -> None:
    bay = await bay_of(ports, "TEST-A1", 7)
    starts_at = tehran(26, 11)

    response = await citizen.post(
        "/api/v1/parking/quotes",
        json={
            "bay_id": bay.id,
            "plate": plate,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        },
    )

    assert response.status_code == status, response.text
    if status == 422:
        assert response.headers["content-type"] == "application/problem+json"
