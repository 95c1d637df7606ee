"""The reservation page as a citizen uses it before a stay ends: the reminder SMS and its
one-tap link to the extend step, extend, end and cancel on the page itself, and the time
left said as a span of time."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.identity.gateways import SMS
from shahr.kernel.clock import FixedClock
from shahr.kernel.web.security import LANGUAGE_COOKIE
from shahr.parking.domain import ReservationStatus
from shahr.parking.gateways import RecordingNotifier
from shahr.parking.services import PARKING, REMINDER_SMS, ParkingPorts, run_upkeep

from .flows import CITIZEN, bay_of, book, pay_by_card, seeded_ports, sign_up, status_of, tehran
from .test_pages import CSRF, field_error, listing
from .test_payment_in_doubt import app_for

PHONE = "+989121234567"


@pytest.fixture
async def parking(container: Container) -> ParkingPorts:
    """The test meters; payments are the fake port (wallet payments go through at once)."""
    return await seeded_ports(container, vehicles=listing())


@pytest.fixture
async def citizen(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    async with app_for(container, parking) as client:
        client.headers["x-test-citizen"] = CITIZEN
        yield client


def sms_of(parking: ParkingPorts) -> list[str]:
    notifier = parking.notifier
    assert isinstance(notifier, RecordingNotifier)
    return [n.params["link"] for n in notifier.sent if n.message == REMINDER_SMS]


async def paid_stay(parking: ParkingPorts, *, hour: int = 11, minutes: int = 60) -> str:
    bay = await bay_of(parking, "TEST-D2", 4)
    start = await book(
        parking, bay.id, starts_at=tehran(26, hour), minutes=minutes, method="wallet"
    )
    return start.reservation.id


# --- the reminder and its link ----------------------------------------------------------------


async def test_the_reminder_goes_once_ten_minutes_before_the_end_with_a_link_to_the_extend_step(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock
) -> None:
    reservation_id = await paid_stay(parking)

    clock.set(tehran(26, 11, 49))
    await run_upkeep(parking)
    assert sms_of(parking) == []
    clock.set(tehran(26, 11, 50))
    await run_upkeep(parking)
    await run_upkeep(parking)
    [link] = sms_of(parking)

    opened = await citizen.get(link)
    assert opened.status_code == 303
    assert opened.headers["location"] == (
        f"/parking/reservations/{reservation_id}?step=extend#extend"
    )
    page = (await citizen.get(opened.headers["location"])).text
    assert re.search(r'<details class="action action-extend" id="extend" open>', page)
    assert f'action="/parking/reservations/{reservation_id}/extend"' in page


async def test_the_reminder_is_sent_once_even_after_a_restart(
    container: Container, parking: ParkingPorts, clock: FixedClock
) -> None:
    await paid_stay(parking)
    clock.set(tehran(26, 11, 50))
    await run_upkeep(parking)

    # A new process on the same database: what was sent is read back from it.
    restarted = await seeded_ports(container, notifier=RecordingNotifier())
    clock.set(tehran(26, 11, 55))
    await run_upkeep(restarted)

    assert len(sms_of(parking)) == 1
    assert sms_of(restarted) == []


async def test_an_expired_or_tampered_reminder_link_is_refused_with_a_clear_message(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock
) -> None:
    await paid_stay(parking)
    clock.set(tehran(26, 11, 50))
    await run_upkeep(parking)
    [link] = sms_of(parking)

    payload, mac = link.rsplit("/", 1)[1].split(".")
    tampered = await citizen.get(f"/parking/r/{payload}.{mac[:-2]}xx")
    assert tampered.status_code == 400
    assert "این پیوند معتبر نیست" in tampered.text

    clock.set(tehran(26, 12, 0))
    expired = await citizen.get(link)
    assert expired.status_code == 410
    citizen.cookies.set(LANGUAGE_COOKIE, "en")
    in_english = await citizen.get(link)
    assert "This link has expired: the stay it was for has ended." in in_english.text


async def test_no_reminder_for_a_stay_booked_with_less_than_ten_minutes_left(
    parking: ParkingPorts, clock: FixedClock
) -> None:
    reservation_id = await paid_stay(parking)
    async with parking.database.session() as session:
        # As if booked at 11:52: the citizen has just chosen the end.
        await session.execute(
            text("UPDATE parking_reservation SET created_at = :at WHERE id = :id"),
            {"at": tehran(26, 11, 52), "id": reservation_id},
        )
        await session.commit()

    clock.set(tehran(26, 11, 53))
    await run_upkeep(parking)

    assert sms_of(parking) == []


async def test_the_reminder_sms_goes_through_identity_and_no_log_names_the_phone_or_the_token(
    container: Container, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    ports: ParkingPorts = container.get(PARKING)
    await seeded_ports(container)  # the test meters, in the app's own ports
    citizen_id = await sign_up(container, phone=PHONE, plates={"12B345-67": "car"})
    bay = await bay_of(ports, "TEST-D2", 5)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=citizen_id)
    assert start.payment is not None
    await pay_by_card(container, start.payment)
    await container.bus.drain()

    clock.set(tehran(26, 11, 50))
    with caplog.at_level(logging.DEBUG):
        await run_upkeep(ports, public_url="https://shahr.example")

    [sms] = [m for m in container.get(SMS).sent if "/parking/r/" in m.text]  # type: ignore[attr-defined]  # the console adapter keeps what it sent
    assert sms.to == PHONE
    token = re.search(r"https://shahr\.example/parking/r/(\S+)", sms.text)
    assert token is not None
    assert "جایگاه ۵" in sms.text
    assert PHONE not in caplog.text
    assert token.group(1) not in caplog.text


# --- extend, end and cancel on the reservation page ------------------------------------------


async def test_a_stay_is_extended_from_its_own_page(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock
) -> None:
    reservation_id = await paid_stay(parking)
    clock.set(tehran(26, 11, 50))
    page = (await citizen.get(f"/parking/reservations/{reservation_id}")).text
    [first_choice, *_] = re.findall(r'<option value="([^"]+)">', page)

    extended = await citizen.post(
        f"/parking/reservations/{reservation_id}/extend",
        data={"csrf_token": CSRF, "ends_at": first_choice, "method": "wallet",
              "back": "reservation"},
    )  # fmt: skip

    assert extended.status_code == 303
    after = (await citizen.get(extended.headers["location"])).text
    assert "پارک شما تمدید شد." in after
    assert "۱۲:۳۰" in after


async def test_a_stay_is_ended_from_its_own_page_and_says_the_time_left_as_a_span(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock
) -> None:
    reservation_id = await paid_stay(parking, hour=10, minutes=120)
    clock.set(tehran(26, 10, 55))
    page = (await citizen.get(f"/parking/reservations/{reservation_id}")).text
    assert "۱ ساعت و ۰۵ دقیقه مانده" in page
    citizen.cookies.set(LANGUAGE_COOKIE, "en")
    assert "1 h 05 min left" in (await citizen.get(f"/parking/reservations/{reservation_id}")).text
    clock.set(tehran(26, 11, 48))
    assert "12 minutes left" in (await citizen.get(f"/parking/reservations/{reservation_id}")).text

    ended = await citizen.post(
        f"/parking/reservations/{reservation_id}/end",
        data={"csrf_token": CSRF, "back": "reservation"},
    )

    assert ended.status_code == 303
    assert ended.headers["location"] == f"/parking/reservations/{reservation_id}?done=ended"
    assert await status_of(parking, reservation_id) is ReservationStatus.ended


async def test_an_unpaid_reservation_is_cancelled_from_its_own_page(
    citizen: httpx.AsyncClient, parking: ParkingPorts
) -> None:
    bay = await bay_of(parking, "TEST-D2", 4)
    start = await book(parking, bay.id, starts_at=tehran(26, 11), minutes=60, method="psp")
    reservation_id = start.reservation.id
    page = (await citizen.get(f"/parking/reservations/{reservation_id}")).text
    assert f'action="/parking/reservations/{reservation_id}/cancel"' in page

    cancelled = await citizen.post(
        f"/parking/reservations/{reservation_id}/cancel",
        data={"csrf_token": CSRF, "back": "reservation"},
    )

    assert cancelled.status_code == 303
    after = (await citizen.get(cancelled.headers["location"])).text
    assert "رزرو شما لغو شد." in after
    assert await status_of(parking, reservation_id) is ReservationStatus.cancelled


async def test_extending_a_finished_stay_or_cancelling_a_started_one_is_refused_and_changes_nothing(
    citizen: httpx.AsyncClient, parking: ParkingPorts, clock: FixedClock
) -> None:
    reservation_id = await paid_stay(parking, hour=10, minutes=60)
    clock.set(tehran(26, 10, 30))
    cancel = await citizen.post(
        f"/parking/reservations/{reservation_id}/cancel",
        data={"csrf_token": CSRF, "back": "reservation"},
    )
    assert cancel.status_code == 409
    assert field_error(cancel.text, "cancel") == (
        "پارک آغاز شده است؛ به جای لغو، آن را پایان دهید."
    )
    assert await status_of(parking, reservation_id) is ReservationStatus.confirmed

    await citizen.post(
        f"/parking/reservations/{reservation_id}/end",
        data={"csrf_token": CSRF, "back": "reservation"},
    )
    extend = await citizen.post(
        f"/parking/reservations/{reservation_id}/extend",
        data={"csrf_token": CSRF, "ends_at": tehran(26, 11, 30).isoformat(), "method": "wallet",
              "back": "reservation"},
    )  # fmt: skip
    assert extend.status_code == 409
    assert field_error(extend.text, "ends_at") == "فقط رزرو پرداخت‌شده را می‌توان تمدید کرد."
    assert await status_of(parking, reservation_id) is ReservationStatus.ended
