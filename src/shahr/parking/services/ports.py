"""What parking's use cases need, in one object: bootstrap builds it, the API and pages share it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.parking.domain import (
    Holiday,
    HolidayCalendar,
    ParkingPolicy,
    ParkingRules,
    QuoteSigner,
    TariffBook,
    parse_holidays,
    parse_tariffs,
)
from shahr.parking.gateways import ParkingNotifier, PaymentPort, VehicleDirectory
from shahr.parking.queries import InventoryCache


class HandledHere:
    """Payments this process has handled, or is taking at once, for its own bus deliveries.

    A wallet payment is taken in the request that made it (`take_paid_at_once`), and its
    `PaymentVerified` then reaches `take_verified_payment` too, most often in this same
    process and at the same moment. Without this, that delivery locks the reservation,
    waits for the request's transaction and finds the payment handled: four round trips
    and a pooled connection held, for nothing. With it, the delivery waits for the request
    here and answers `duplicate` without the database.

    Only the fact "this process committed the handling of payment P" is kept, and it never
    changes, so it is right whatever other processes do; a delivery this knows nothing
    about (another process took it, the request failed, the entry was forgotten) goes the
    locked way, which reads `parking_reservation_payment`. Bounded to the newest `keep`.
    """

    def __init__(self, keep: int = 10_000) -> None:
        self._keep = keep
        self._payments: OrderedDict[str, asyncio.Future[bool]] = OrderedDict()

    def expect(self, payment_id: str) -> None:
        """This process is about to take the payment: its deliveries here wait for the answer."""
        self._future(payment_id)

    def handled(self, payment_id: str) -> None:
        """The payment's handling is committed (by this process)."""
        future = self._future(payment_id)
        if not future.done():
            future.set_result(True)

    def gave_up(self, payment_id: str) -> None:
        """Taking it here ended without committing: a delivery must go to the database."""
        future = self._payments.get(payment_id)
        if future is not None and not future.done():
            future.set_result(False)

    async def was_handled(self, payment_id: str) -> bool:
        """True if this process committed the payment's handling (waiting for it if under way)."""
        future = self._payments.get(payment_id)
        if future is None:
            return False
        return await asyncio.shield(future) if not future.done() else future.result()

    def _future(self, payment_id: str) -> asyncio.Future[bool]:
        future = self._payments.get(payment_id)
        if future is None:
            future = self._payments[payment_id] = asyncio.get_running_loop().create_future()
            while len(self._payments) > self._keep:
                self._payments.popitem(last=False)
        return future


@dataclass(frozen=True)
class ParkingPorts:
    """The database, clock and bus, the rules, and parking's ports to other areas."""

    database: Database
    clock: Clock
    bus: EventBus
    rules: ParkingRules
    inventory: InventoryCache
    quotes: QuoteSigner
    payments: PaymentPort
    vehicles: VehicleDirectory
    notifier: ParkingNotifier
    handled_here: HandledHere = field(default_factory=HandledHere)


@cache
def shipped_tariffs() -> TariffBook:
    """The tariff book in `parking/data/tariffs.json`."""
    source = resources.files("shahr.parking").joinpath("data", "tariffs.json")
    return parse_tariffs(json.loads(source.read_text(encoding="utf-8")))


@cache
def shipped_holidays() -> HolidayCalendar:
    """Every `parking/data/holidays_*.csv`, merged."""
    folder = resources.files("shahr.parking").joinpath("data")
    merged: dict[date, Holiday] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("holidays_") and entry.name.endswith(".csv"):
            merged.update(parse_holidays(entry.read_text(encoding="utf-8")).holidays)
    return HolidayCalendar(merged)


def shipped_rules(policy: ParkingPolicy | None = None) -> ParkingRules:
    return ParkingRules(
        tariffs=shipped_tariffs(), holidays=shipped_holidays(), policy=policy or ParkingPolicy()
    )


def quote_signer(secret: Callable[[], str]) -> QuoteSigner:
    """Quotes are signed with a key of their own, derived from the app's secret when first used."""
    return QuoteSigner(
        lambda: hmac.new(secret().encode(), b"shahr.parking.quotes", hashlib.sha256).digest()
    )
