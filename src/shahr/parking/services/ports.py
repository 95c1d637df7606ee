"""What parking's use cases need, in one object: bootstrap builds it, the API and pages share it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.container import Part
from shahr.kernel.db import Database
from shahr.parking.domain import (
    Holiday,
    HolidayCalendar,
    ParkingPolicy,
    ParkingRules,
    QuoteSigner,
    ReminderLinkSigner,
    TariffBook,
    parse_holidays,
    parse_tariffs,
)
from shahr.parking.gateways import ParkingNotifier, PaymentPort, VehicleDirectory
from shahr.parking.persistence import ReservationUnitOfWork
from shahr.parking.queries import InventoryCache
from shahr.parking.queries.holds import holds_copy_of


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
    reminder_links: ReminderLinkSigner


PARKING: Part[ParkingPorts] = Part("parking.ports")


def writing(ports: ParkingPorts) -> ReservationUnitOfWork:
    """A transaction that may change holds: once it commits, search's copy of them goes."""
    uow = ReservationUnitOfWork(ports.database, write=True)
    copy = holds_copy_of(ports.database)

    async def drop_search_copy() -> None:
        copy.reservations_written()

    uow.after_commit(drop_search_copy)
    return uow


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


def reminder_link_signer(secret: Callable[[], str]) -> ReminderLinkSigner:
    """Reminder links are signed with a key of their own, derived from the app's secret."""
    return ReminderLinkSigner(
        lambda: hmac.new(
            secret().encode(), b"shahr.parking.reminder-links", hashlib.sha256
        ).digest()
    )


def quote_signer(secret: Callable[[], str]) -> QuoteSigner:
    """Quotes are signed with a key of their own, derived from the app's secret when first used."""
    return QuoteSigner(
        lambda: hmac.new(secret().encode(), b"shahr.parking.quotes", hashlib.sha256).digest()
    )
