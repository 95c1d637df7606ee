"""Reserving a bay: hold, pay, confirm; extend, end early, cancel, change plate; upkeep.

The steps these tests share with the other parking tests are in `flows.py`. Every test runs
on SQLite and, with SHAHR_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.kernel.clock import FixedClock
from shahr.kernel.errors import DomainError
from shahr.parking import queries, services
from shahr.parking.domain import (
    BayKindMismatchError,
    BayTakenError,
    ExtensionBlockedError,
    InvalidWindowError,
    PlateChangeError,
    QuoteExpiredError,
    ReservationStateError,
    ReservationStatus,
)
from shahr.parking.events import (
    ReservationConfirmed,
    ReservationEnded,
    ReservationExtended,
    ReservationPlateChanged,
)
from shahr.parking.gateways import (
    FakePayments,
    Notice,
    PaidFor,
    StaticVehicleDirectory,
)
from shahr.parking.services import (
    ParkingPorts,
    PriceChangedError,
    VerifiedPayment,
)
from shahr.payments import services as payments_services

from .flows import (
    CAR,
    CITIZEN,
    MOTORCYCLE,
    OTHER,
    OTHER_CAR,
    PARKING_TABLES,
    TRUCK,
    VAN,
    bay_of,
    book,
    events,
    fake_payments,
    meter_of,
    parking_ports,
    pay_last,
    row_counts,
    seeded_ports,
    sign_up,
    status_of,
    tehran,
)

# --- holding and confirming --------------------------------------------------------------------


async def test_a_reservation_holds_the_bay_pending_and_starts_its_payment(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D1", 2)

    start = await book(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)

    reservation = start.reservation
    assert reservation.status is ReservationStatus.pending
    assert reservation.amount_rial == 60_000
    assert reservation.hold_expires_at == container.clock.now() + timedelta(minutes=15)
    assert fake_payments(ports).requested == [
        {
            "payment_id": "fake-payment-1",
            "citizen_id": CITIZEN,
            "amount_rial": 60_000,
            "purpose": "reservation",
            "reference": reservation.id,
            "return_url": f"/parking/reservations/{reservation.id}",
            "method": "psp",
            # What the wallet's line will name: the bay and its street, in both languages.
            "paid_for": PaidFor("خیابان زرافشان", "Zarafshan Street", bay_number=2),
        }
    ]
    assert start.payment is not None
    assert start.payment.redirect_url is not None


async def test_a_verified_payment_confirms_the_reservation_once_and_says_so(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-A1", 3)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=90)

    first = await pay_last(ports)
    again = await pay_last(ports)  # the event is delivered at least once

    assert (first, again) == ("confirmed", "duplicate")
    assert await status_of(ports, start.reservation.id) is ReservationStatus.confirmed
    assert events(ports).of(ReservationConfirmed) == [
        ReservationConfirmed(
            reservation_id=start.reservation.id,
            bay_id=bay.id,
            meter_id=bay.meter_id,
            meter_device_id="TEST-A1",
            bay_number=3,
            plate=CAR,
            starts_at=tehran(26, 11),
            ends_at=tehran(26, 12, 30),
        )
    ]


async def test_a_payment_taken_twice_at_once_confirms_once_and_refunds_nothing(
    container: Container,
) -> None:
    # The wallet's flow takes its payment at once while the bus delivers the same event.
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-A1", 4)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)

    outcomes = await asyncio.gather(pay_last(ports), pay_last(ports))

    assert sorted(outcomes) == ["confirmed", "duplicate"]
    assert await status_of(ports, start.reservation.id) is ReservationStatus.confirmed
    counts = await row_counts(ports)
    assert (counts["parking_reservation_payment"], counts["parking_refund"]) == (1, 0)
    assert fake_payments(ports).refunds == []
    assert len(events(ports).of(ReservationConfirmed)) == 1


async def test_paying_from_the_wallet_answers_with_the_reservation_confirmed(
    container: Container,
) -> None:
    ports = await seeded_ports(container, payments=parking_ports(container).payments)
    bay = await bay_of(ports, "TEST-A1", 5)
    await payments_services.wallet_balance(
        container.database, container.clock, citizen_id=CITIZEN, demo_wallet_rial=2_000_000
    )

    start = await book(ports, bay.id, starts_at=tehran(26, 15), minutes=60, method="wallet")

    # Taken in the same call, or by the bus a moment before it: confirmed either way, once.
    assert start.taken is not None
    assert start.taken.outcome in ("confirmed", "duplicate")
    assert start.reservation.status is ReservationStatus.confirmed
    assert await status_of(ports, start.reservation.id) is ReservationStatus.confirmed
    await container.bus.drain()
    assert (await row_counts(ports))["parking_reservation_payment"] == 1


async def test_a_payment_of_the_wrong_amount_confirms_nothing_and_is_refunded(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D1", 2)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)

    outcome = await pay_last(ports, amount_rial=59_000)

    assert outcome == "refunded"
    assert await status_of(ports, start.reservation.id) is ReservationStatus.pending
    assert fake_payments(ports).refunds == [
        {
            "reference": start.reservation.id,
            "amount_rial": 59_000,
            "reason": "unused payment fake-payment-1",
        }
    ]
    assert events(ports).of(ReservationConfirmed) == []


async def test_a_payment_for_someone_elses_reservation_is_refunded(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D1", 2)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)

    outcome = await services.take_verified_payment(
        ports,
        VerifiedPayment(
            "p-x", OTHER, "reservation", start.reservation.id, 60_000, ports.clock.now()
        ),
    )

    assert outcome == "refunded"
    assert await status_of(ports, start.reservation.id) is ReservationStatus.pending


async def test_a_payment_for_another_purpose_is_not_parkings_business(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    verified = VerifiedPayment("p-1", CITIZEN, "top_up", "wallet", 10_000, ports.clock.now())

    assert await services.take_verified_payment(ports, verified) == "ignored"
    assert await row_counts(ports) == dict.fromkeys(PARKING_TABLES, 0)


# --- no bay booked twice -----------------------------------------------------------------------


async def test_a_bay_cannot_be_reserved_twice_for_overlapping_windows(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-A1", 2)
    await book(ports, bay.id, starts_at=tehran(26, 11), minutes=120)

    with pytest.raises(BayTakenError) as taken:
        await book(
            ports, bay.id, starts_at=tehran(26, 12), minutes=60, citizen=OTHER, plate=OTHER_CAR
        )

    alternatives = taken.value.alternatives
    assert len(alternatives) == 5
    # The same meter's other car bays first, then the nearest meters'.
    assert [a.meter_device_id for a in alternatives] == ["TEST-A1"] * 5
    assert [a.bay_number for a in alternatives] == [1, 3, 4, 5, 6]
    assert {a.price_rial for a in alternatives} == {108_000}
    assert (await row_counts(ports))["parking_reservation"] == 1


async def test_the_alternatives_go_on_to_the_nearest_meters_when_the_meter_is_full(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    start = tehran(26, 11)
    for number in range(1, 7):
        await book(ports, (await bay_of(ports, "TEST-A1", number)).id, starts_at=start, minutes=60)

    with pytest.raises(BayTakenError) as taken:
        await book(ports, (await bay_of(ports, "TEST-A1", 1)).id, starts_at=start, minutes=60)

    found = [(a.meter_device_id, a.bay_number) for a in taken.value.alternatives]
    # Bay 1 of TEST-D1 is a loading bay: no place for a car.
    assert found == [("TEST-D1", n) for n in range(2, 7)]
    assert taken.value.alternatives[0].distance_m == pytest.approx(65, abs=5)
    assert taken.value.alternatives[0].price_rial == 60_000


async def test_back_to_back_windows_do_not_overlap(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 1)

    await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)
    await book(ports, bay.id, starts_at=tehran(26, 12), minutes=60, citizen=OTHER, plate=OTHER_CAR)
    await book(
        ports, bay.id, starts_at=tehran(26, 10, 0), minutes=60, citizen=OTHER, plate=OTHER_CAR
    )

    assert (await row_counts(ports))["parking_reservation"] == 3


async def test_an_unpaid_hold_lets_the_bay_go_when_its_time_runs_out(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 1)
    first = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)
    clock.advance(timedelta(minutes=15))

    second = await book(
        ports, bay.id, starts_at=tehran(26, 11), minutes=60, citizen=OTHER, plate=OTHER_CAR
    )

    assert await status_of(ports, first.reservation.id) is ReservationStatus.lapsed
    assert second.reservation.status is ReservationStatus.pending


async def test_a_late_payment_still_confirms_if_the_bay_is_free(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 1)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)
    clock.advance(timedelta(minutes=20))
    report = await services.run_upkeep(ports)
    assert report.lapsed == 1

    assert await pay_last(ports) == "confirmed"
    assert await status_of(ports, start.reservation.id) is ReservationStatus.confirmed


async def test_a_late_payment_for_a_bay_someone_else_took_is_refunded_in_full(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 1)
    start = await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)
    clock.advance(timedelta(minutes=20))
    payments = fake_payments(ports)
    late = payments.requested[-1]
    await book(
        ports, bay.id, starts_at=tehran(26, 11, 30), minutes=60, citizen=OTHER, plate=OTHER_CAR
    )
    payments.requested.append(late)

    assert await pay_last(ports) == "refunded"
    assert await status_of(ports, start.reservation.id) is ReservationStatus.lapsed
    assert payments.refunds[-1]["amount_rial"] == 60_000


async def test_the_same_quote_twice_gives_the_same_reservation_back(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 3)
    quote = await services.quote_bay(
        ports, citizen_id=CITIZEN, bay_id=bay.id, plate=CAR, duration_min=60
    )

    first = await services.reserve(ports, citizen_id=CITIZEN, quote_token=quote.token)
    again = await services.reserve(ports, citizen_id=CITIZEN, quote_token=quote.token)

    assert again.reservation.id == first.reservation.id
    assert (first.created, again.created) == (True, False)
    assert len(fake_payments(ports).requested) == 1


async def test_an_expired_quote_or_a_changed_amount_books_nothing(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 3)
    quote = await services.quote_bay(
        ports, citizen_id=CITIZEN, bay_id=bay.id, plate=CAR, duration_min=60
    )
    before = await row_counts(ports)

    with pytest.raises(PriceChangedError) as tampered:
        await services.reserve(
            ports, citizen_id=CITIZEN, quote_token=quote.token, amount_rial=1_000
        )
    clock.advance(timedelta(minutes=10))
    with pytest.raises(QuoteExpiredError):
        await services.reserve(ports, citizen_id=CITIZEN, quote_token=quote.token)

    assert tampered.value.field == "amount_rial"
    assert await row_counts(ports) == before
    assert fake_payments(ports).requested == []


async def test_when_the_payment_cannot_start_the_hold_is_let_go(container: Container) -> None:
    class PspDownError(DomainError):
        pass

    ports = await seeded_ports(container, payments=FakePayments(fail_with=PspDownError("down")))
    bay = await bay_of(ports, "TEST-D2", 3)
    before = await row_counts(ports)

    with pytest.raises(PspDownError):
        await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)

    assert await row_counts(ports) == before


@pytest.mark.parametrize("concurrency", [64])
async def test_many_citizens_booking_few_bays_at_once_never_overlap(
    container: Container, concurrency: int
) -> None:
    ports = await seeded_ports(container)
    snapshot = await ports.inventory.current()
    bays = [
        b
        for device in ("TEST-D1", "TEST-D2")
        for b in meter_of(snapshot, device).bays
        if b.kind.value == "car"
    ][:10]
    directory = StaticVehicleDirectory()
    for n in range(concurrency):
        directory.add(f"citizen-{n}", CAR, "car")
    ports = dataclasses.replace(ports, vehicles=directory)
    chooser = random.Random(1405)  # a fixed seed: the same contention every run

    async def attempt(n: int) -> str:
        bay = chooser.choice(bays)
        start = tehran(26, 11) + timedelta(minutes=30 * chooser.randrange(4))
        try:
            await book(
                ports,
                bay.id,
                starts_at=start,
                minutes=60 * chooser.randrange(1, 3),
                citizen=f"citizen-{n}",
            )
        except BayTakenError:
            return "taken"
        return "held"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(concurrency)))

    assert outcomes.count("held") >= len(bays)
    assert outcomes.count("held") + outcomes.count("taken") == concurrency
    async with ports.database.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT bay_id, starts_at, ends_at FROM parking_reservation"
                    " WHERE status IN ('pending', 'confirmed')"
                )
            )
        ).all()
    assert len(rows) == outcomes.count("held")
    by_bay: dict[int, list[tuple[Any, Any]]] = {}
    for bay_id, starts_at, ends_at in rows:
        by_bay.setdefault(bay_id, []).append((starts_at, ends_at))
    overlaps = [
        (bay_id, a, b)
        for bay_id, spans in by_bay.items()
        for i, a in enumerate(spans)
        for b in spans[i + 1 :]
        if a[0] < b[1] and b[0] < a[1]
    ]
    assert overlaps == []


# --- managing a stay -----------------------------------------------------------------------------


async def confirmed(ports: ParkingPorts, bay_id: int, *, starts_at: datetime, minutes: int) -> str:
    start = await book(ports, bay_id, starts_at=starts_at, minutes=minutes)
    assert await pay_last(ports) == "confirmed"
    return start.reservation.id


async def test_an_extension_pays_only_the_difference_and_is_confirmed_by_its_payment(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 4)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)

    change = await services.extend_reservation(
        ports, citizen_id=CITIZEN, reservation_id=reservation_id, ends_at=tehran(26, 13, 30)
    )

    # Three hours on a class D street cost 198,000; one was paid (60,000).
    assert change.payment is not None
    assert change.payment.amount_rial == 138_000
    assert fake_payments(ports).requested[-1]["purpose"] == "extension"
    assert await pay_last(ports) == "extended"
    assert events(ports).of(ReservationExtended) == [
        ReservationExtended(
            reservation_id=reservation_id,
            meter_id=bay.meter_id,
            meter_device_id="TEST-D2",
            bay_number=4,
            ends_at=tehran(26, 13, 30),
        )
    ]


async def test_an_extension_that_is_not_paid_in_time_falls_back(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 4)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)
    await services.extend_reservation(
        ports, citizen_id=CITIZEN, reservation_id=reservation_id, ends_at=tehran(26, 12, 30)
    )
    clock.advance(timedelta(minutes=16))

    report = await services.run_upkeep(ports)
    later = await book(
        ports, bay.id, starts_at=tehran(26, 11, 30), minutes=60, citizen=OTHER, plate=OTHER_CAR
    )

    assert report.extensions_dropped == 1
    assert later.reservation.status is ReservationStatus.pending
    assert await pay_last(ports) == "confirmed"


async def test_an_extension_never_runs_into_the_next_booking(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 5)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)
    await book(
        ports, bay.id, starts_at=tehran(26, 12, 15), minutes=60, citizen=OTHER, plate=OTHER_CAR
    )

    with pytest.raises(ExtensionBlockedError) as blocked:
        await services.extend_reservation(
            ports, citizen_id=CITIZEN, reservation_id=reservation_id, ends_at=tehran(26, 13)
        )

    assert blocked.value.params == {"minutes": 45}
    assert blocked.value.field == "ends_at"


async def test_an_extension_never_goes_past_the_maximum_stay_or_closing_time(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 5)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)

    with pytest.raises(InvalidWindowError) as late:
        await services.extend_reservation(
            ports, citizen_id=CITIZEN, reservation_id=reservation_id, ends_at=tehran(26, 22, 30)
        )

    assert late.value.field == "ends_at"
    assert "{closes}" in late.value.message


async def test_ending_early_refunds_the_unused_whole_half_hours(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 6)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=180)
    clock.set(tehran(26, 11, 10))  # 40 minutes used: two half-hours started

    change = await services.end_reservation(
        ports, citizen_id=CITIZEN, reservation_id=reservation_id
    )

    assert change.refund_rial == 198_000 - 60_000
    assert fake_payments(ports).refunds == [
        {"reference": reservation_id, "amount_rial": 138_000, "reason": "ended_early"}
    ]
    ended = events(ports).of(ReservationEnded)
    assert [(e.reason, e.ended_at) for e in ended] == [("ended_early", tehran(26, 11, 10))]
    assert await status_of(ports, reservation_id) is ReservationStatus.ended


async def test_cancelling_before_the_start_refunds_everything(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 6)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 14), minutes=90)

    change = await services.cancel_reservation(
        ports, citizen_id=CITIZEN, reservation_id=reservation_id
    )

    assert change.refund_rial == 90_000
    assert fake_payments(ports).refunds[-1]["reason"] == "cancelled"
    assert [e.reason for e in events(ports).of(ReservationEnded)] == ["cancelled"]
    # The bay is free for that window again.
    await book(ports, bay.id, starts_at=tehran(26, 14), minutes=90, citizen=OTHER, plate=OTHER_CAR)


async def test_a_started_stay_cannot_be_cancelled_only_ended(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 6)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)
    clock.set(tehran(26, 10, 45))

    with pytest.raises(ReservationStateError):
        await services.cancel_reservation(ports, citizen_id=CITIZEN, reservation_id=reservation_id)


async def test_an_unpaid_reservation_is_cancelled_without_refund_or_event(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 6)
    start = await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60)

    change = await services.cancel_reservation(
        ports, citizen_id=CITIZEN, reservation_id=start.reservation.id
    )

    assert change.refund_rial == 0
    assert events(ports).of(ReservationEnded) == []
    # Its payment, arriving anyway, goes back.
    assert await pay_last(ports) == "refunded"


async def test_the_plate_can_change_before_the_start_to_a_vehicle_with_the_same_fee(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 7)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 14), minutes=60)

    change = await services.change_plate(
        ports, citizen_id=CITIZEN, reservation_id=reservation_id, plate="23 ج 456 ایران 78"
    )

    assert change.reservation.plate == VAN
    assert events(ports).of(ReservationPlateChanged)[0].plate == VAN
    with pytest.raises(BayKindMismatchError):
        await services.change_plate(
            ports, citizen_id=CITIZEN, reservation_id=reservation_id, plate=MOTORCYCLE
        )


async def test_a_plate_with_another_fee_cannot_replace_the_booked_one(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D1", 1)  # a loading bay: vans and light trucks
    start = await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60, plate=VAN)

    with pytest.raises(PlateChangeError):
        await services.change_plate(
            ports, citizen_id=CITIZEN, reservation_id=start.reservation.id, plate=TRUCK
        )


async def test_someone_elses_reservation_reads_as_not_found(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 7)
    start = await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60)

    for change in (services.cancel_reservation, services.end_reservation):
        with pytest.raises(DomainError) as refused:
            await change(ports, citizen_id=OTHER, reservation_id=start.reservation.id)
        assert type(refused.value).__name__ == "ReservationNotFoundError"


# --- upkeep: expiry and reminders ----------------------------------------------------------------


async def test_a_stay_that_ran_out_ends_by_itself_and_a_reminder_comes_first(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 8)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 10, 30), minutes=60)

    clock.set(tehran(26, 11, 21))
    reminded = await services.run_upkeep(ports)
    again = await services.run_upkeep(ports)
    clock.set(tehran(26, 11, 31))
    expired = await services.run_upkeep(ports)

    assert (reminded.reminded, again.reminded, expired.expired) == (1, 0, 1)
    notices = ports.notifier.sent  # type: ignore[attr-defined]  # the recording fake
    assert [n.params["time"] for n in notices] == ["11:30"]
    assert [(e.reason, e.ended_at) for e in events(ports).of(ReservationEnded)] == [
        ("expired", tehran(26, 11, 30))
    ]
    assert await status_of(ports, reservation_id) is ReservationStatus.expired
    in_app = await services_notifications(ports)
    assert [n.kind for n in in_app] == ["reminder"]


async def services_notifications(ports: ParkingPorts) -> list[Any]:
    return await queries.notifications_of(ports.database, citizen_id=CITIZEN)


async def test_a_refund_that_fails_is_owed_and_issued_by_a_later_upkeep(
    container: Container,
) -> None:
    ports = await seeded_ports(container, payments=FakePayments(fail_refunds_with=OSError("down")))
    bay = await bay_of(ports, "TEST-D2", 8)
    reservation_id = await confirmed(ports, bay.id, starts_at=tehran(26, 14), minutes=60)
    await services.cancel_reservation(ports, citizen_id=CITIZEN, reservation_id=reservation_id)
    assert fake_payments(ports).refunds == []

    fake_payments(ports).fail_refunds_with = None
    report = await services.run_upkeep(ports)

    assert report.refunds_issued == 1
    assert fake_payments(ports).refunds == [
        {"reference": reservation_id, "amount_rial": 60_000, "reason": "cancelled"}
    ]


async def test_a_verified_payment_whose_event_never_came_is_taken_by_the_next_upkeep(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D2", 2)
    start = await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60)
    asked = fake_payments(ports).requested[-1]
    # Payments verified it, and its process stopped before publishing `PaymentVerified`.
    fake_payments(ports).verified.append(
        VerifiedPayment(
            asked["payment_id"], CITIZEN, "reservation", start.reservation.id, 60_000, clock.now()
        )
    )
    clock.advance(timedelta(minutes=2))

    first = await services.run_upkeep(ports)
    again = await services.run_upkeep(ports)

    assert (first.missed_payments, again.missed_payments) == (1, 0)
    assert await status_of(ports, start.reservation.id) is ReservationStatus.confirmed
    assert [e.reservation_id for e in events(ports).of(ReservationConfirmed)] == [
        start.reservation.id
    ]
    assert await pay_last(ports) == "duplicate"  # the event, if it comes after all


# --- with the payments area itself -------------------------------------------------------------


async def test_payments_tell_parking_which_of_its_payments_were_verified_lately(
    container: Container,
) -> None:
    ports = await seeded_ports(container, payments=parking_ports(container).payments)
    bay = await bay_of(ports, "TEST-A1", 2)
    start = await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60, method="wallet")
    now = container.clock.now()

    found = await ports.payments.verified_payments(
        verified_from=now - timedelta(minutes=1), verified_to=now + timedelta(minutes=1)
    )
    later = await ports.payments.verified_payments(
        verified_from=now + timedelta(minutes=1), verified_to=now + timedelta(minutes=2)
    )

    assert [(p.citizen_id, p.purpose, p.reference, p.amount_rial) for p in found] == [
        (CITIZEN, "reservation", start.reservation.id, 108_000)
    ]
    assert later == []


async def test_paying_from_the_wallet_confirms_and_cancelling_gives_the_money_back(
    container: Container,
) -> None:
    ports = await seeded_ports(container, payments=parking_ports(container).payments)
    bay = await bay_of(ports, "TEST-A1", 1)
    balance = await payments_services.wallet_balance(
        container.database, container.clock, citizen_id=CITIZEN, demo_wallet_rial=2_000_000
    )

    start = await book(ports, bay.id, starts_at=tehran(26, 14), minutes=60, method="wallet")
    await container.bus.drain()

    assert await status_of(ports, start.reservation.id) is ReservationStatus.confirmed
    paid = await payments_services.wallet_balance(
        container.database, container.clock, citizen_id=CITIZEN
    )
    assert paid == balance - 108_000
    await services.cancel_reservation(
        ports, citizen_id=CITIZEN, reservation_id=start.reservation.id
    )
    refunded = await payments_services.wallet_balance(
        container.database, container.clock, citizen_id=CITIZEN
    )
    assert refunded == balance


# --- how bootstrap wires parking to identity ---------------------------------------------------


async def test_the_vehicle_directory_and_sms_notices_come_from_identity(
    container: Container,
) -> None:
    citizen_id = await sign_up(container, phone="09121234567", plates={VAN: "van"})
    ports = parking_ports(container)

    found = await ports.vehicles.vehicle(citizen_id=citizen_id, plate=VAN)
    assert found is not None
    assert (found.kind, found.permit_expires_on) == ("van", None)
    assert await ports.vehicles.vehicle(citizen_id=citizen_id, plate=CAR) is None
    await ports.notifier.notify(
        Notice(
            citizen_id,
            "r-1",
            "reminder",
            services.REMINDER_MESSAGE,
            {"street_fa": "خیابان ولیعصر", "street_en": "Valiasr", "bay": 3, "time": "18:30"},
        )
    )
    sms = container.get(SMS)
    assert isinstance(sms, ConsoleSms)
    assert sms.sent[-1].to == "+989121234567"
    assert sms.sent[-1].text.startswith("پارک شما در خیابان ولیعصر، جایگاه ۳، ساعت ۱۸:۳۰")
