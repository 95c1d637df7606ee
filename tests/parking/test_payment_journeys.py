"""Randomised payment journeys with a fault at every step, and the books checked after.

Each run interleaves many journeys (quote, reserve, pay by card at the sandbox PSP or from
the wallet, callback and verification, confirmation by `PaymentVerified`, then perhaps an
extension, an early end or a cancellation) on one database, with the real services and
the real sandbox PSP. Between and inside the steps the driver injects what goes wrong in
the field: declines, the PSP down or timing out at any call, a callback that is forged,
tampered with, sent twice, late or never sent, quotes and payment windows that run out,
another citizen taking the bay, parking's event handler crashing once, and the process
restarting (a new container on the same database). Then the journeys' money is checked
with SQL over the real tables.

The driver is seeded: a failure names its seed and prints the steps of the journeys it
involves, and `-k "seed-<n>"` replays it exactly. SQLite runs 1,000 journeys (ten seeds of
100); PostgreSQL, on which each transaction costs a round trip, runs 300 (ten seeds of 30).
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from payments.flows import pay_at_bank, sandbox_psp, token_of
from shahr import bootstrap
from shahr.bootstrap import Container
from shahr.kernel.bus import EventBus
from shahr.kernel.cache import RateLimiter, make_cache
from shahr.kernel.clock import TEHRAN, FixedClock, in_tehran
from shahr.kernel.db import Database, UnitOfWork
from shahr.kernel.errors import DomainError
from shahr.kernel.mqtt import make_broker
from shahr.kernel.settings import Settings
from shahr.kernel.stream import Handler, InProcessStream, StreamMessage
from shahr.parking import services
from shahr.parking.gateways import (
    PaidFor,
    PaymentPort,
    PaymentState,
    StartedPayment,
    StaticVehicleDirectory,
    VerifiedPayment,
)
from shahr.parking.persistence import ReservationUnitOfWork
from shahr.payments import services as payments_services
from shahr.payments.domain import PaymentOrder, PspTimeoutError, psp_unavailable
from shahr.payments.gateways import (
    PSP,
    CallbackStatus,
    PspCallback,
    PspToken,
    SandboxPsp,
    SandboxScenario,
    VerifyResult,
)

from .flows import book, load_test_meters, parking_ports

SEEDS = range(10)
JOURNEYS = {"sqlite": 100, "postgres": 30}
# Journeys under way at once: enough that they compete for the few bays.
AT_ONCE = 4
# Saturday 7 Azar 1405, 07:00 in Tehran: a working day with the whole of it ahead.
FIRST_MORNING = datetime(2026, 11, 28, 7, 0, tzinfo=TEHRAN)
CITIZENS = 24
METERS_CSV = "\n".join(
    [
        "device_id,zone_code,zone_name_fa,zone_name_en,district,street_fa,street_en,"
        "street_class,lon,lat,bays,bay_kinds",
        "JOURNEY-1,06-test,یوسف‌آباد,Journey zone,6,خیابان فتحی شقاقی,Fathi Shaghaghi Street,"
        "C,51.40000,35.73000,6,",
        "JOURNEY-2,06-test,یوسف‌آباد,Journey zone,6,خیابان سید جمال‌الدین اسدآبادی,Asadabadi Street,"
        "D,51.40050,35.73040,6,",
        "JOURNEY-3,06-test,یوسف‌آباد,Journey zone,6,خیابان سید جمال‌الدین اسدآبادی,Asadabadi Street,"
        "D,51.40100,35.73080,6,",
    ]
)


def plate_of(n: int) -> str:
    return f"{11 + n:02d}B345-67"


# --- thin fakes around the real ports: each lets the driver break one thing at a time ------


class Faults:
    """The driver's dice, how often each fault strikes, and the log of what happened."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.log: list[str] = []
        self.clock: FixedClock | None = None
        self.psp_flakiness = 0.05
        self.refund_flakiness = 0.1
        self.handler_crashes = 0.1
        self.deaths_before_publish = 0.02

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def note(self, who: str, what: str) -> None:
        at = "--:--" if self.clock is None else in_tehran(self.clock.now()).strftime("%d %H:%M")
        self.log.append(f"{at} {who}: {what}")


class FlakyPsp:
    """The sandbox PSP that, now and then, does not answer (down or timing out)."""

    def __init__(self, inner: SandboxPsp, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults

    @property
    def name(self) -> str:
        return self._inner.name

    def _maybe_fail(self, call: str) -> None:
        if self._faults.chance(self._faults.psp_flakiness):
            self._faults.note("psp", f"{call}: no answer")
            if call == "verify":
                raise PspTimeoutError("The bank did not confirm the payment in time.")
            raise psp_unavailable()

    async def request_token(self, order: PaymentOrder) -> PspToken:
        self._maybe_fail("request_token")
        return await self._inner.request_token(order)

    def read_callback(self, params: Mapping[str, str]) -> PspCallback:
        return self._inner.read_callback(params)

    async def verify(self, token: str, amount_rial: int) -> VerifyResult:
        self._maybe_fail("verify")
        return await self._inner.verify(token, amount_rial)

    async def settle(self, token: str) -> None:
        self._maybe_fail("settle")
        await self._inner.settle(token)

    async def reverse(self, token: str) -> bool:
        self._maybe_fail("reverse")
        return await self._inner.reverse(token)


class FlakyRefunds:
    """Parking's payment port, whose refunds sometimes fail (the upkeep job retries them)."""

    def __init__(self, inner: PaymentPort, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults

    async def request_payment(
        self,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        method: str,
        paid_for: PaidFor | None = None,
        pay_by: datetime | None = None,
    ) -> StartedPayment:
        return await self._inner.request_payment(
            citizen_id=citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reference,
            return_url=return_url,
            method=method,
            paid_for=paid_for,
            pay_by=pay_by,
        )

    async def pay_from_wallet(
        self,
        transaction: UnitOfWork,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        paid_for: PaidFor | None = None,
    ) -> StartedPayment:
        return await self._inner.pay_from_wallet(
            transaction,
            citizen_id=citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reference,
            return_url=return_url,
            paid_for=paid_for,
        )

    async def refund(self, *, reference: str, amount_rial: int, reason: str) -> None:
        if self._faults.chance(self._faults.refund_flakiness):
            self._faults.note("refund", f"{reason} for {reference[:8]} failed")
            raise OSError("payments did not answer")
        await self._inner.refund(reference=reference, amount_rial=amount_rial, reason=reason)

    async def verified_payments(
        self, *, verified_from: datetime, verified_to: datetime
    ) -> list[VerifiedPayment]:
        return await self._inner.verified_payments(
            verified_from=verified_from, verified_to=verified_to
        )

    async def payment_states(self, *, reference: str) -> list[PaymentState]:
        return await self._inner.payment_states(reference=reference)

    async def give_up_payment(self, *, payment_id: str, citizen_id: str) -> None:
        await self._inner.give_up_payment(payment_id=payment_id, citizen_id=citizen_id)


class ProcessDiedError(Exception):
    """The process stopped: whatever it was doing is cut short, its memory lost."""


class FlakyStream(InProcessStream):
    """The embedded stream, whose parking payment handler crashes once now and then.

    Half the crashes come before the handler runs, half after it has done its work (the
    acknowledgement is what is lost): either way the event is delivered again. And now and
    then the process dies just before `PaymentVerified` is published, after the payment
    was committed.
    """

    def __init__(self, faults: Faults, *, city: str) -> None:
        super().__init__(city=city)
        self._faults = faults

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if subject.endswith(".PaymentVerified") and self._faults.chance(
            self._faults.deaths_before_publish
        ):
            payment_id = json.loads(data).get("payment_id", "?")
            self._faults.note("world", f"died before publishing payment {payment_id[:8]}")
            raise ProcessDiedError(subject)
        await super().publish(subject, data, msg_id=msg_id, headers=headers)

    async def subscribe(
        self, subject_filter: str, *, durable: str, handler: Handler, max_deliver: int = 5
    ) -> None:
        if durable.startswith("parking-payments"):
            handler = self._crashing_once(handler)
        await super().subscribe(
            subject_filter, durable=durable, handler=handler, max_deliver=max_deliver
        )

    def _crashing_once(self, handler: Handler) -> Handler:
        async def deliver(message: StreamMessage) -> None:
            crash = message.delivery_count == 1 and self._faults.chance(
                self._faults.handler_crashes
            )
            after = crash and self._faults.chance(0.5)
            if crash and not after:
                self._crash(message, "before")
            await handler(message)
            if after:
                self._crash(message, "after")

        return deliver

    def _crash(self, message: StreamMessage, when: str) -> None:
        payment_id = json.loads(message.data).get("payment_id", "?")
        self._faults.note("handler", f"crashed {when} taking payment {payment_id[:8]}")
        raise RuntimeError("parking's payment handler crashed")


# --- the world the journeys run in -----------------------------------------------------------


class World:
    """One database, the process now running on it, and what the journeys share."""

    def __init__(self, settings: Settings, clock: FixedClock, faults: Faults) -> None:
        self.settings = settings
        self.clock = clock
        self.faults = faults
        self.directory = StaticVehicleDirectory()
        for n in range(CITIZENS):
            self.directory.add(f"citizen-{n}", plate_of(n), "car")
        self.bays: list[int] = []
        self.restarts = 0

    async def start(self) -> None:
        stream = FlakyStream(self.faults, city=self.settings.city)
        cache = make_cache(self.settings, self.clock)
        # bootstrap.build, with the flaky stream in place of the embedded one.
        self.container = Container(
            settings=self.settings,
            clock=self.clock,
            database=Database(self.settings.sqlalchemy_url),
            stream=stream,
            bus=EventBus(stream, city=self.settings.city),
            broker=make_broker(self.settings),
            cache=cache,
            rate_limiter=RateLimiter(cache),
        )
        bootstrap.wire(self.container)
        self.sandbox = sandbox_psp(self.container)
        # Parking's port to payments reads the PSP from here at every call.
        self.psp = FlakyPsp(self.sandbox, self.faults)
        self.container.provide(PSP, self.psp, replace=True)
        parking = parking_ports(self.container)
        self.ports = dataclasses.replace(
            parking,
            vehicles=self.directory,
            payments=FlakyRefunds(parking.payments, self.faults),
        )
        await self.container.start()

    async def stop(self) -> None:
        await self.container.stop()

    async def restart(self) -> None:
        """The process stops, events still unhandled, and another starts on the same database.

        Its jobs run at once, as a starting worker's do.
        """
        await self.stop()
        await self.start()
        self.restarts += 1
        self.faults.note("world", "restarted")
        await self.upkeep()

    async def seed_meters(self) -> None:
        await load_test_meters(self.container, METERS_CSV)
        snapshot = await self.ports.inventory.current()
        self.bays = sorted(b.id for m in snapshot.meters.values() for b in m.bays)

    async def settle(self) -> None:
        await self.container.bus.drain()

    async def pass_time(self, delta: timedelta) -> None:
        """Time passes in which parking's upkeep job runs (every 30 seconds, in a worker)."""
        step = timedelta(minutes=1)
        self.clock.advance(step)
        await self.settle()
        await services.run_upkeep(self.ports)
        self.clock.advance(delta - step)

    async def reconcile(self) -> None:
        report = await payments_services.reconcile(
            self.container.database, self.clock, self.psp, self.container.bus
        )
        self.faults.note(
            "world",
            f"reconciled: {len(report.reversed)} reversed, {len(report.expired)} expired,"
            f" {len(report.verified)} verified",
        )

    async def upkeep(self) -> None:
        report = await services.run_upkeep(self.ports)
        self.faults.note(
            "world",
            f"upkeep: {report.lapsed} lapsed, {report.extensions_dropped} extensions dropped,"
            f" {report.refunds_issued} refunds issued, {report.missed_payments} missed payments",
        )

    def next_working_morning(self) -> None:
        day = in_tehran(self.clock.now()).date() + timedelta(days=1)
        while day.weekday() == 4:  # Friday: street parking does not run
            day += timedelta(days=1)
        self.clock.set(datetime(day.year, day.month, day.day, 7, 0, tzinfo=TEHRAN))
        self.faults.note("world", "next working morning")

    async def between_steps(self) -> None:
        """What happens to everyone between two steps of one journey."""
        f = self.faults
        if f.chance(0.01):
            await self.restart()
        if f.chance(0.1):
            self.clock.advance(timedelta(minutes=f.rng.randint(1, 3)))
        if f.chance(0.01):
            await self.pass_time(timedelta(minutes=16))
            f.note("world", "16 minutes pass")
        if f.chance(0.04):
            await self.reconcile()
        if f.chance(0.04):
            await self.upkeep()
        if in_tehran(self.clock.now()).hour >= 19:
            await self.pass_time(timedelta(minutes=2))
            await self.reconcile()
            self.next_working_morning()
        await self.settle()

    async def wind_down(self) -> None:
        """Every job has run its course: windows closed, payments settled, refunds issued."""
        self.faults.psp_flakiness = 0.0
        self.faults.refund_flakiness = 0.0
        self.faults.deaths_before_publish = 0.0
        await self.sandbox.set_down(False)
        for _ in range(2):
            await self.pass_time(timedelta(minutes=20))
            await self.settle()
            await self.reconcile()
            await self.upkeep()
            await self.settle()


# --- one journey, a step at a time (each `yield` lets the others and the world move) --------


class Journey:
    """One citizen's way through booking and paying; `run` yields between its steps."""

    def __init__(self, world: World, n: int) -> None:
        self.world = world
        self.faults = world.faults
        self.rng = world.faults.rng
        self.name = f"j{n}"
        self.citizen = f"citizen-{n % CITIZENS}"
        self.plate = plate_of(n % CITIZENS)
        self.reservation_id: str | None = None
        self.bay = 0
        self.starts_at = FIRST_MORNING
        self.minutes = 0

    def note(self, what: str) -> None:
        self.faults.note(self.name, what)

    async def run(self) -> AsyncIterator[None]:
        world, rng, f = self.world, self.rng, self.faults
        bay = rng.choice(world.bays)
        now = world.clock.now()
        starts_at = now.replace(second=0, microsecond=0) + timedelta(
            minutes=1 + rng.choice([0, 0, 15, 30, 60, 120, 180, 240])
        )
        minutes = rng.choice([60, 90, 120, 150])
        self.bay, self.starts_at, self.minutes = bay, starts_at, minutes
        try:
            quote = await services.quote_bay(
                world.ports,
                citizen_id=self.citizen,
                bay_id=bay,
                plate=self.plate,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes),
            )
        except DomainError as error:
            self.note(f"quote refused: {type(error).__name__} {error.message}")
            return
        self.note(
            f"quoted bay {bay} {in_tehran(starts_at):%H:%M}+{minutes}m"
            f" {quote.price.total_rial} Rial"
        )
        yield
        if f.chance(0.05):
            world.clock.advance(world.ports.rules.policy.quote_ttl + timedelta(minutes=1))
            self.note("dawdles until the quote expires")
        method = "wallet" if f.chance(0.3) else "psp"
        down = f.chance(0.05)
        if down:
            await world.sandbox.set_down(True)
        try:
            start = await services.reserve(
                world.ports, citizen_id=self.citizen, quote_token=quote.token, method=method
            )
        except DomainError as error:
            self.note(f"reserve by {method} refused: {type(error).__name__}")
            return
        finally:
            if down:
                await world.sandbox.set_down(False)
        self.reservation_id = start.reservation.id
        self.note(f"reserved {start.reservation.id[:8]} by {method}")
        yield
        if start.payment is not None and method == "psp":
            async for _ in self.pay_by_card(start.payment):
                yield
            if f.chance(0.3):
                async for _ in self.pay_again():
                    yield
        if f.chance(0.04):
            async for _ in self.rival_takes_the_bay():
                yield
        yield
        action = rng.random()
        if action < 0.15:
            async for _ in self.extend():
                yield
        elif action < 0.35:
            await self.stop()
        yield
        if f.chance(0.1):
            await self.stop()

    async def pay_by_card(self, payment: StartedPayment) -> AsyncIterator[None]:
        """The bank's page, then the callback, with whatever can go wrong on the way."""
        world, rng, f = self.world, self.rng, self.faults
        token = token_of(payment)
        if f.chance(0.05):
            self.note(f"abandons the bank page for {payment.payment_id[:8]}")
            return
        if f.chance(0.03):
            await world.pass_time(timedelta(minutes=16))
            self.note("leaves the bank page open for 16 minutes")
        elif f.chance(0.2):
            await world.pass_time(timedelta(minutes=10))
            self.note("takes 10 minutes at the bank page")
        scenario = rng.choice(
            [SandboxScenario.normal] * 5
            + [
                SandboxScenario.decline,
                SandboxScenario.timeout,
                SandboxScenario.duplicate_callback,
                SandboxScenario.no_callback,
            ]
        )
        bank_down = f.chance(0.04)
        if bank_down:
            await world.sandbox.set_down(True)
        try:
            if f.chance(0.05):
                answer = await world.sandbox.cancel(token)
            else:
                answer = await pay_at_bank(world.sandbox, token, scenario)
        except DomainError as error:
            self.note(f"bank page refused: {type(error).__name__}")
            return
        finally:
            if bank_down:
                await world.sandbox.set_down(False)
        self.note(f"at the bank: {scenario.value}, {answer.transaction.status.value}")
        yield
        if answer.callback_url is None:
            self.note("the callback never comes")
            return
        params = dict(answer.callback_params)
        if f.chance(0.08):
            self.note("gives up waiting and stops the reservation")
            await self.stop()
        if f.chance(0.08):
            await self.callback({**params, "sig": "0" * 64}, "forged")
        if f.chance(0.08):
            tampered = dataclasses.replace(
                answer.transaction, amount_rial=answer.transaction.amount_rial - 10_000
            )
            status = CallbackStatus(params["status"])
            await self.callback(world.sandbox.callback_params(tampered, status), "tampered")
        if f.chance(0.03):
            await world.pass_time(timedelta(minutes=16))
            self.note("the callback is held up for 16 minutes")
            if f.chance(0.5):
                await world.reconcile()
        verify_down = f.chance(0.2)
        if verify_down:
            await world.sandbox.set_down(True)
        try:
            await self.callback(params, "callback")
            if answer.deliver_twice or f.chance(0.05):
                await self.callback(params, "callback again")
        finally:
            if verify_down:
                await world.sandbox.set_down(False)
        if verify_down:
            # The payment is verified later, by reconciliation: perhaps after the hold has
            # run out, and perhaps after someone else has taken the bay.
            self.note("the PSP was down for the verification")
            yield
            if f.chance(0.6):
                await world.pass_time(timedelta(minutes=rng.choice([6, 14])))
                self.note("time passes before reconciliation verifies")
                if f.chance(0.5):
                    async for _ in self.rival_takes_the_bay(wait=False):
                        yield
            await world.reconcile()

    async def callback(self, params: dict[str, str], what: str) -> None:
        world = self.world
        try:
            result = await payments_services.handle_callback(
                world.container.database,
                world.clock,
                world.psp,
                world.container.bus,
                params=params,
            )
        except DomainError as error:
            self.note(f"{what} refused: {type(error).__name__}")
            return
        self.note(f"{what}: {result.outcome.value}, payment {result.payment.status.value}")

    async def rival_takes_the_bay(self, *, wait: bool = True) -> AsyncIterator[None]:
        """While this citizen's payment is slow, the hold runs out and another takes the bay."""
        world = self.world
        bay, starts_at, minutes = self.bay, self.starts_at, self.minutes
        if wait:
            await world.pass_time(timedelta(minutes=16))
            self.note("16 minutes pass")
        rival = (int(self.citizen.rsplit("-", 1)[1]) + 1) % CITIZENS
        self.note(f"citizen-{rival} wants the bay")
        if world.clock.now() >= starts_at:
            return
        try:
            start = await book(
                world.ports,
                bay,
                starts_at=starts_at,
                minutes=minutes,
                citizen=f"citizen-{rival}",
                plate=plate_of(rival),
                method="wallet",
            )
        except DomainError as error:
            self.note(f"the rival was refused: {type(error).__name__}")
            return
        self.note(f"the rival reserved {start.reservation.id[:8]}")
        yield

    async def extend(self) -> AsyncIterator[None]:
        world, f = self.world, self.faults
        assert self.reservation_id is not None
        async with ReservationUnitOfWork(world.container.database) as uow:
            reservation = await uow.reservations.get(self.reservation_id)
        assert reservation is not None
        new_end = reservation.paid_ends_at + timedelta(minutes=self.rng.choice([30, 60]))
        method = "wallet" if f.chance(0.3) else "psp"
        try:
            change = await services.extend_reservation(
                world.ports,
                citizen_id=self.citizen,
                reservation_id=self.reservation_id,
                ends_at=new_end,
                method=method,
            )
        except DomainError as error:
            self.note(f"extension refused: {type(error).__name__}")
            return
        self.note(f"extending to {in_tehran(new_end):%H:%M} by {method}")
        yield
        if change.payment is not None and method == "psp":
            async for _ in self.pay_by_card(change.payment):
                yield
            if self.faults.chance(0.3):
                async for _ in self.pay_again():
                    yield

    async def pay_again(self) -> AsyncIterator[None]:
        """The first payment looked lost or failed: the citizen pays again, as the page offers."""
        world = self.world
        assert self.reservation_id is not None
        method = "wallet" if self.faults.chance(0.5) else "psp"
        try:
            started = await services.pay_reservation(
                world.ports,
                citizen_id=self.citizen,
                reservation_id=self.reservation_id,
                method=method,
            )
        except DomainError as error:
            self.note(f"paying again by {method} refused: {type(error).__name__}")
            return
        self.note(f"pays again by {method}: {started.payment_id[:8]} {started.status}")
        yield
        if method == "psp":
            async for _ in self.pay_by_card(started):
                yield

    async def stop(self) -> None:
        """Cancel before the start, end early after it (or, now and then, the wrong one)."""
        world = self.world
        assert self.reservation_id is not None
        cancel = (world.clock.now() < self.starts_at) != self.faults.chance(0.1)
        what = "cancel" if cancel else "end"
        use = services.cancel_reservation if cancel else services.end_reservation
        try:
            change = await use(
                world.ports, citizen_id=self.citizen, reservation_id=self.reservation_id
            )
        except DomainError as error:
            self.note(f"{what} refused: {type(error).__name__}")
            return
        self.note(f"{what}: {change.refund_rial} Rial back")


async def drive(world: World, journeys: int) -> None:
    """Run the journeys interleaved, a step of one of them at a time, in the seed's order."""
    rng = world.faults.rng
    started = 0
    running: list[tuple[Journey, AsyncIterator[None]]] = []
    while started < journeys or running:
        while len(running) < AT_ONCE and started < journeys:
            journey = Journey(world, started)
            running.append((journey, journey.run()))
            started += 1
        journey, steps = chosen = rng.choice(running)
        try:
            await anext(steps)
        except StopAsyncIteration:
            running.remove(chosen)
        except ProcessDiedError:
            running.remove(chosen)  # the citizen's request died with the process
            journey.note("the process died under this step")
            await world.restart()
        try:
            await world.between_steps()
        except ProcessDiedError:  # a job's verification died with the process
            await world.restart()
    await world.wind_down()


# --- what must hold whatever happened ----------------------------------------------------------

PAID = "('verified', 'settled')"
PARKING_PURPOSES = "('reservation', 'extension')"

UNBALANCED_TRANSACTIONS = """
    SELECT transaction_id, SUM(amount_rial) FROM payments_entry
    GROUP BY transaction_id HAVING SUM(amount_rial) <> 0
"""
BOOKS_TOTAL = "SELECT COALESCE(SUM(amount_rial), 0) FROM payments_entry"
# Each verified parking payment: what parking made of it, and the refund that gave it back.
VERIFIED_PAYMENTS = f"""
    SELECT o.id, o.reference, o.amount_rial, p.outcome, r.confirmed_at, u.amount_rial
    FROM payments_order o
    LEFT JOIN parking_reservation_payment p ON p.payment_id = o.id
    LEFT JOIN parking_reservation r ON r.id = o.reference
    LEFT JOIN payments_refund u
        ON u.reference = o.reference AND u.reason = {"'unused payment ' || o.id"}
    WHERE o.status IN {PAID} AND o.purpose IN {PARKING_PURPOSES}
"""  # noqa: S608  # constants only
# Payments parking says it used, whose order is not verified (or is not there at all).
USED_BUT_NOT_VERIFIED = f"""
    SELECT p.payment_id, p.reservation_id, p.outcome, o.status
    FROM parking_reservation_payment p
    LEFT JOIN payments_order o ON o.id = p.payment_id
    WHERE p.outcome IN ('confirmed', 'extended')
      AND (o.id IS NULL OR o.status NOT IN {PAID} OR o.amount_rial <> p.amount_rial)
"""  # noqa: S608  # constants only
# Every reservation ever confirmed, and the verified payments it was confirmed by.
CONFIRMED_RESERVATIONS = f"""
    SELECT r.id, r.status, r.paid_rial,
           COALESCE(SUM(o.amount_rial), 0),
           COALESCE(SUM(CASE WHEN p.outcome = 'confirmed' THEN 1 ELSE 0 END), 0)
    FROM parking_reservation r
    LEFT JOIN parking_reservation_payment p
        ON p.reservation_id = r.id AND p.outcome IN ('confirmed', 'extended')
    LEFT JOIN payments_order o ON o.id = p.payment_id AND o.status IN {PAID}
    WHERE r.status = 'confirmed' OR r.confirmed_at IS NOT NULL
    GROUP BY r.id, r.status, r.paid_rial
"""  # noqa: S608  # constants only
OVERLAPPING_HOLDS = """
    SELECT a.id, b.id, a.bay_id FROM parking_reservation a
    JOIN parking_reservation b
        ON a.bay_id = b.bay_id AND a.id < b.id
       AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
    WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
"""
# Reservations that were confirmed, over the time each really had the bay: to its paid end,
# or to when it ended early; a cancelled one (before its start) never had it.
OVERLAPPING_CONFIRMED = """
    SELECT a.id, b.id, a.bay_id FROM parking_reservation a
    JOIN parking_reservation b
        ON a.bay_id = b.bay_id AND a.id < b.id
       AND a.starts_at < COALESCE(b.ended_at, b.extension_from, b.ends_at)
       AND b.starts_at < COALESCE(a.ended_at, a.extension_from, a.ends_at)
    WHERE a.status IN ('confirmed', 'ended', 'expired')
      AND b.status IN ('confirmed', 'ended', 'expired')
"""
# Refunds parking owes that payments never made, or made for another amount.
REFUNDS_NOT_MADE = """
    SELECT f.reservation_id, f.reason, f.amount_rial, f.issued_at, u.amount_rial
    FROM parking_refund f
    LEFT JOIN payments_refund u ON u.reference = f.reservation_id AND u.reason = f.reason
    WHERE f.issued_at IS NULL OR u.id IS NULL OR u.amount_rial <> f.amount_rial
"""
# No reference is refunded more than was paid for it.
OVER_REFUNDED = f"""
    SELECT u.reference, SUM(u.amount_rial), (
        SELECT COALESCE(SUM(o.amount_rial), 0) FROM payments_order o
        WHERE o.reference = u.reference AND o.status IN {PAID}
    )
    FROM payments_refund u GROUP BY u.reference
"""  # noqa: S608  # constants only


async def broken_invariants(database: Database) -> list[str]:
    """Every way the journeys' money does not add up, in words; empty when sound."""
    problems: list[str] = []
    async with database.session() as session:

        async def rows(sql: str) -> list[Any]:
            return list((await session.execute(text(sql))).all())

        for transaction_id, total in await rows(UNBALANCED_TRANSACTIONS):
            problems.append(f"transaction {transaction_id} sums to {total}")
        books = (await session.execute(text(BOOKS_TOTAL))).scalar_one()
        if books != 0:
            problems.append(f"the books sum to {books}")
        for payment_id, reference, amount, outcome, confirmed_at, refunded in await rows(
            VERIFIED_PAYMENTS
        ):
            if outcome in ("confirmed", "extended"):
                if confirmed_at is None:
                    problems.append(f"payment {payment_id} {outcome} {reference} unconfirmed")
                if refunded is not None:
                    problems.append(f"payment {payment_id} {outcome} {reference} and refunded")
            elif outcome == "refunded":
                if refunded != amount:
                    problems.append(
                        f"payment {payment_id} for {reference} owed back, refunded {refunded}"
                    )
            else:
                problems.append(f"payment {payment_id} for {reference} taken as {outcome}")
        for payment_id, reference, outcome, status in await rows(USED_BUT_NOT_VERIFIED):
            problems.append(f"payment {payment_id} {outcome} {reference} but is {status}")
        for reservation_id, status, paid_rial, verified_rial, confirmations in await rows(
            CONFIRMED_RESERVATIONS
        ):
            if confirmations != 1 or paid_rial != verified_rial:
                problems.append(
                    f"reservation {reservation_id} ({status}) paid {paid_rial} Rial by"
                    f" {confirmations} confirming payments of {verified_rial} Rial"
                )
        for first, second, bay_id in await rows(OVERLAPPING_HOLDS):
            problems.append(f"reservations {first} and {second} both hold bay {bay_id}")
        for first, second, bay_id in await rows(OVERLAPPING_CONFIRMED):
            problems.append(f"reservations {first} and {second} were both confirmed on {bay_id}")
        for reservation_id, reason, amount, issued_at, made in await rows(REFUNDS_NOT_MADE):
            problems.append(
                f"refund {reason} of {amount} for {reservation_id}: issued {issued_at}, made {made}"
            )
        for reference, refunded, paid in await rows(OVER_REFUNDED):
            if refunded > paid:
                problems.append(f"{reference} refunded {refunded} of {paid} paid")
    return problems


def trace_of(faults: Faults, problems: list[str]) -> str:
    """The driver's log, cut to the journeys the problems name (all of it if none match)."""
    ids = {word[:8] for problem in problems for word in problem.split() if len(word) >= 32}
    journeys = {
        line.split(" ", 3)[2].rstrip(":")
        for line in faults.log
        if any(i in line for i in ids) and " j" in line
    }
    lines = [
        line
        for line in faults.log
        if any(i in line for i in ids) or line.split(" ", 3)[2].rstrip(":") in journeys
    ]
    return "\n".join(lines or faults.log[-80:])


@pytest.fixture
def journey_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
        demo=True,  # every wallet starts with the demo balance
        run_jobs=False,  # the driver runs the jobs, at the fixed clock's time
        run_simulators=False,
    )


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in SEEDS])
async def test_payment_journeys_with_faults_at_every_step_keep_the_books_sound(
    journey_settings: Settings, seed: int
) -> None:
    faults = Faults(seed)
    clock = FixedClock(FIRST_MORNING)
    faults.clock = clock
    world = World(journey_settings, clock, faults)
    await world.start()
    try:
        await world.seed_meters()
        kind = "sqlite" if world.container.database.is_sqlite else "postgres"
        await drive(world, JOURNEYS[kind])
        problems = await broken_invariants(world.container.database)
        report = await payments_services.reconcile(
            world.container.database, clock, world.psp, world.container.bus
        )
    finally:
        await world.stop()
    assert not problems, (
        f"seed {seed}:\n" + "\n".join(problems) + "\n\n" + trace_of(faults, problems)
    )
    assert report.clean, (seed, payments_services.report_as_dict(report))
