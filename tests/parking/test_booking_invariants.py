"""Booking in any order keeps its promises: no bay held twice, the books balanced.

A Hypothesis state machine drives the app as bootstrap wires it (identity's vehicles,
payments' wallet and the sandbox bank, parking's upkeep) through reserving, extending,
ending, cancelling, changing the plate, paying by wallet or by card, and time passing, in
any order, with two citizens racing for three bays and some operations run at once. After
every step: no two reservations hold one bay for overlapping times, every ledger
transaction sums to zero and every kept balance equals its entries, no wallet is below
zero, and every Rial paid for parking either paid for a reservation or is owed back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from payments.flows import sandbox_psp
from shahr import bootstrap
from shahr.bootstrap import Container
from shahr.kernel.clock import TEHRAN, FixedClock
from shahr.kernel.errors import DomainError
from shahr.kernel.settings import Settings
from shahr.parking import queries, services
from shahr.parking.domain import Reservation
from shahr.parking.gateways import StartedPayment
from shahr.parking.services import ParkingPorts
from shahr.payments import services as payments_services
from shahr.payments.gateways import SandboxScenario

from .flows import FreshDatabase, load_test_meters, parking_ports, pay_by_card, sign_up
from .invariants import overlapping_holds, parking_money, read_books

T = TypeVar("T")

# Saturday 7 Azar 1405, 07:00 in Tehran: a working day with the whole of it ahead.
SATURDAY_MORNING = datetime(2026, 11, 28, 7, 0, tzinfo=TEHRAN)
# Time stops passing by then, so that every step stays inside parking hours.
LAST_STEP_BEFORE = SATURDAY_MORNING + timedelta(hours=9)
RACE_METERS_CSV = "\n".join(
    [
        "device_id,zone_code,zone_name_fa,zone_name_en,district,street_fa,street_en,"
        "street_class,lon,lat,bays,bay_kinds",
        "RACE-1,06-test,یوسف‌آباد,Race zone,6,خیابان فتحی شقاقی,Fathi Shaghaghi Street,"
        "C,51.40000,35.73000,3,",
    ]
)
# Two citizens, each with two cars (the same fee: a plate change is allowed) and a van.
CITIZENS = {
    "+989120000001": {"11B345-67": "car", "12B345-67": "car", "13J456-78": "van"},
    "+989120000002": {"21B345-67": "car", "22B345-67": "car", "23J456-78": "van"},
}
STARTS_IN_MIN = st.sampled_from([0, 0, 15, 30, 60])
LASTS_MIN = st.sampled_from([60, 90, 120])
METHODS = st.sampled_from(["wallet", "psp"])
PICK = st.integers(min_value=0, max_value=31)
AT_THE_BANK = st.sampled_from(["normal", "normal", "decline", "duplicate_callback"])
AT_ONCE = ["extend", "end", "cancel", "change plate", "pay by wallet", "pay at the bank"]


@dataclass
class Booking:
    """A reservation the machine made, and the card payments begun for it."""

    reservation_id: str
    citizen_id: str
    plates: list[str]
    card_payments: list[StartedPayment] = field(default_factory=list)


class BookingMachine(RuleBasedStateMachine):
    """Two citizens, three bays, and every way of booking and paying, in any order."""

    place: FreshDatabase  # given by the test, per database

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(SATURDAY_MORNING)
        self.bookings: list[Booking] = []
        self.citizens: dict[str, list[str]] = {}
        self.container = self.run(self._open(self.place))

    async def _open(self, place: FreshDatabase) -> Container:
        settings = Settings(
            database_url=await place.url(),
            var_dir=place.folder / "var",
            secret_key="test-secret-key-not-for-production",
            demo=True,  # every wallet starts with the demo balance
            run_jobs=False,  # the machine runs the jobs, at the fixed clock's time
            run_simulators=False,  # no simulated meters beside the machine
        )
        container = bootstrap.build(settings, clock=self.clock)
        await container.start()
        await load_test_meters(container, RACE_METERS_CSV)
        for phone, plates in CITIZENS.items():
            citizen_id = await sign_up(container, phone=phone, plates=plates)
            self.citizens[citizen_id] = list(plates)
        snapshot = await parking_ports(container).inventory.current()
        self.bays = sorted(b.id for m in snapshot.meters.values() for b in m.bays)
        return container

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        try:
            self.run(self.container.stop())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    @property
    def ports(self) -> ParkingPorts:
        return parking_ports(self.container)

    def step(self, *operations: tuple[str, Callable[[], Awaitable[object]]]) -> None:
        """Run the named operations at once; a refusal is an answer, anything else a failure.

        Each outcome is counted (`--hypothesis-show-statistics`), to see what the runs reach.
        """

        async def each(name: str, operation: Callable[[], Awaitable[object]]) -> None:
            try:
                await operation()
            except DomainError as error:
                event(f"{name}: {type(error).__name__}")
            else:
                event(f"{name}: done")

        async def together() -> None:
            await asyncio.gather(*(each(name, o) for name, o in operations))
            await self.container.bus.drain()

        self.run(together())

    def booking(self, pick: int, *, paying_by_card: bool = False) -> Booking | None:
        """One of the bookings made so far, if any.

        Rules never depend on this by precondition: which of two racing citizens wins can
        differ between runs of the same steps, and Hypothesis needs the same rules drawn.
        """
        found = [b for b in self.bookings if b.card_payments or not paying_by_card]
        return found[pick % len(found)] if found else None

    def citizen(self, pick: int) -> tuple[str, list[str]]:
        citizen_id = sorted(self.citizens)[pick % len(self.citizens)]
        return citizen_id, self.citizens[citizen_id]

    # --- what citizens do -------------------------------------------------------------------

    async def reserve(
        self, who: int, bay: int, starts_in_min: int, lasts_min: int, method: str
    ) -> None:
        citizen_id, plates = self.citizen(who)
        starts_at = self.clock.now() + timedelta(minutes=starts_in_min)
        quote = await services.quote_bay(
            self.ports,
            citizen_id=citizen_id,
            bay_id=self.bays[bay % len(self.bays)],
            plate=plates[who % 2],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=lasts_min),
        )
        start = await services.reserve(
            self.ports, citizen_id=citizen_id, quote_token=quote.token, method=method
        )
        booking = Booking(start.reservation.id, citizen_id, plates)
        self.bookings.append(booking)
        if start.payment is not None and start.payment.redirect_url is not None:
            booking.card_payments.append(start.payment)

    async def current(self, booking: Booking) -> Reservation:
        view = await queries.reservation_view(
            self.ports.database,
            self.ports.inventory,
            reservation_id=booking.reservation_id,
            citizen_id=booking.citizen_id,
        )
        return view.reservation

    async def extend(self, booking: Booking, more_min: int, method: str) -> None:
        reservation = await self.current(booking)
        change = await services.extend_reservation(
            self.ports,
            citizen_id=booking.citizen_id,
            reservation_id=booking.reservation_id,
            ends_at=reservation.paid_ends_at + timedelta(minutes=more_min),
            method=method,
        )
        if change.payment is not None and change.payment.redirect_url is not None:
            booking.card_payments.append(change.payment)

    async def end(self, booking: Booking) -> None:
        await services.end_reservation(
            self.ports, citizen_id=booking.citizen_id, reservation_id=booking.reservation_id
        )

    async def cancel(self, booking: Booking) -> None:
        await services.cancel_reservation(
            self.ports, citizen_id=booking.citizen_id, reservation_id=booking.reservation_id
        )

    async def change_plate(self, booking: Booking, plate: int) -> None:
        await services.change_plate(
            self.ports,
            citizen_id=booking.citizen_id,
            reservation_id=booking.reservation_id,
            plate=booking.plates[plate % len(booking.plates)],
        )

    async def pay_again(self, booking: Booking, method: str) -> None:
        payment = await services.pay_reservation(
            self.ports,
            citizen_id=booking.citizen_id,
            reservation_id=booking.reservation_id,
            method=method,
        )
        if payment.redirect_url is not None:
            booking.card_payments.append(payment)

    async def pay_at_bank(self, booking: Booking, scenario: SandboxScenario) -> None:
        if booking.card_payments:
            await pay_by_card(self.container, booking.card_payments.pop(), scenario)

    async def reconcile(self) -> None:
        c = self.container
        await payments_services.reconcile(c.database, c.clock, sandbox_psp(c), c.bus)

    def operation(self, name: str, booking: Booking, pick: int) -> Callable[[], Awaitable[None]]:
        """One of the operations on a booking, by name, for running some at once."""
        return {
            "extend": lambda: self.extend(booking, 30, "wallet"),
            "end": lambda: self.end(booking),
            "cancel": lambda: self.cancel(booking),
            "change plate": lambda: self.change_plate(booking, pick),
            "pay by wallet": lambda: self.pay_again(booking, "wallet"),
            "pay at the bank": lambda: self.pay_at_bank(booking, SandboxScenario.normal),
        }[name]

    # --- the rules --------------------------------------------------------------------------

    @rule(who=PICK, bay=PICK, starts_in=STARTS_IN_MIN, lasts=LASTS_MIN, method=METHODS)
    def reserve_a_bay(self, who: int, bay: int, starts_in: int, lasts: int, method: str) -> None:
        self.step(("reserve", lambda: self.reserve(who, bay, starts_in, lasts, method)))

    @rule(bay=PICK, starts_in=STARTS_IN_MIN, lasts=LASTS_MIN, methods=st.tuples(METHODS, METHODS))
    def two_citizens_race_for_one_bay(
        self, bay: int, starts_in: int, lasts: int, methods: tuple[str, str]
    ) -> None:
        self.step(
            ("race", lambda: self.reserve(0, bay, starts_in, lasts, methods[0])),
            ("race", lambda: self.reserve(1, bay, starts_in + 15, lasts, methods[1])),
        )

    @rule(pick=PICK, more=st.sampled_from([30, 60]), method=METHODS)
    def extend_a_stay(self, pick: int, more: int, method: str) -> None:
        if booking := self.booking(pick):
            self.step(("extend", lambda: self.extend(booking, more, method)))

    @rule(pick=PICK)
    def end_a_stay_early(self, pick: int) -> None:
        if booking := self.booking(pick):
            self.step(("end", lambda: self.end(booking)))

    @rule(pick=PICK)
    def cancel_a_reservation(self, pick: int) -> None:
        if booking := self.booking(pick):
            self.step(("cancel", lambda: self.cancel(booking)))

    @rule(pick=PICK, plate=PICK)
    def change_the_plate(self, pick: int, plate: int) -> None:
        if booking := self.booking(pick):
            self.step(("change plate", lambda: self.change_plate(booking, plate)))

    @rule(pick=PICK, method=METHODS)
    def pay_for_a_reservation_again(self, pick: int, method: str) -> None:
        if booking := self.booking(pick):
            self.step(("pay again", lambda: self.pay_again(booking, method)))

    @rule(pick=PICK, scenario=AT_THE_BANK)
    def pay_at_the_bank(self, pick: int, scenario: str) -> None:
        if booking := self.booking(pick, paying_by_card=True):
            self.step(
                ("pay at the bank", lambda: self.pay_at_bank(booking, SandboxScenario(scenario)))
            )

    @rule(pick=PICK, names=st.lists(st.sampled_from(AT_ONCE), min_size=2, max_size=2))
    def two_things_at_once_to_one_reservation(self, pick: int, names: list[str]) -> None:
        if booking := self.booking(pick):
            self.step(
                *((f"at once: {name}", self.operation(name, booking, pick)) for name in names)
            )

    @precondition(lambda self: self.clock.now() < LAST_STEP_BEFORE)
    @rule(minutes=st.sampled_from([1, 5, 16, 40, 90]), reconcile=st.booleans())
    def time_passes_and_the_jobs_run(self, minutes: int, reconcile: bool) -> None:
        """Parking's upkeep lets holds and stays run out; payments' reconciliation closes
        what the bank left open."""
        self.clock.advance(timedelta(minutes=minutes))
        self.step(("upkeep", lambda: services.run_upkeep(self.ports)))
        if reconcile:
            self.step(("reconcile", self.reconcile))

    # --- what must hold after every step ----------------------------------------------------

    @invariant()
    def no_two_reservations_hold_a_bay_at_once(self) -> None:
        reservations = self.run(self._reservations())
        assert overlapping_holds(reservations, now=self.clock.now()) == []

    @invariant()
    def the_books_balance_and_no_wallet_is_below_zero(self) -> None:
        books = self.run(read_books(self.container.database))
        assert books.unbalanced == []
        assert books.mismatched == []
        assert books.total == 0
        assert {a: b for a, b in books.wallets.items() if b < 0} == {}

    @invariant()
    def every_rial_paid_for_parking_paid_for_a_stay_or_is_owed_back(self) -> None:
        money = self.run(parking_money(self.container.database))
        assert money.paid == money.confirmed + money.unused, money
        assert money.owed_back == money.refunded, money
        assert money.refunded_past_paid == [], money

    async def _reservations(self) -> list[Reservation]:
        found: list[Reservation] = []
        for citizen_id in self.citizens:
            views = await queries.reservations_of(
                self.ports.database, self.ports.inventory, citizen_id=citizen_id, limit=1000
            )
            found.extend(v.reservation for v in views)
        return found


# --- on each database ------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> FreshDatabase:
    """Each example starts on an empty migrated database (the fixtures' own are per test)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        return FreshDatabase("sqlite", str(template), tmp_path)
    return FreshDatabase("postgres", request.getfixturevalue("postgres_migrated"), tmp_path)


def test_booking_and_paying_in_any_order_never_holds_a_bay_twice_or_unbalances_the_books(
    fresh_database: FreshDatabase,
) -> None:
    class OnThisDatabase(BookingMachine):
        place = fresh_database

    run_state_machine_as_test(
        OnThisDatabase,
        settings=settings(
            max_examples=12 if fresh_database.kind == "sqlite" else 8,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
