"""Steps parking's tests repeat: the ports, a test inventory, citizens, booking and paying.

Two ways to run them. `seeded_ports` gives the app's parking ports over four test meters
with fakes for the other areas (a static vehicle directory, `FakePayments`, a recording
bus): fast, and the payment is delivered by hand (`pay_last`). `sign_up` and `pay_by_card`
go through the real areas as bootstrap wired them: identity's vehicles, payments' wallet
and the sandbox bank.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from payments.flows import pay_at_bank, sandbox_psp, token_of
from recording import RecordingBus
from shahr import bootstrap
from shahr.identity import services as identity_services
from shahr.kernel.clock import TEHRAN
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.parking import services
from shahr.parking.domain import Bay, Meter, ReservationStatus, parse_meter_file
from shahr.parking.gateways import (
    FakePayments,
    RecordingNotifier,
    StartedPayment,
    StaticVehicleDirectory,
)
from shahr.parking.queries import InventorySnapshot
from shahr.parking.services import PARKING, ParkingPorts, ReservationStart, VerifiedPayment
from shahr.payments import services as payments_services
from shahr.payments.gateways import SandboxScenario

from .geodata import centroids

if TYPE_CHECKING:
    from shahr.bootstrap import Container
    from shahr.payments.services import CallbackResult

CITIZEN = "citizen-parking-1"
OTHER = "citizen-parking-2"
CAR = "12B345-67"
VAN = "23J456-78"
MOTORCYCLE = "345-67890"  # a motorcycle's plate: a code and five digits, no letter
TRUCK = "56T789-12"
DISABLED = "45PwD678-90"  # a car with an approved disability permit
PERMIT_EXPIRES_ON = date(2027, 3, 20)  # the last day of 1405
OTHER_CAR = "67N123-45"

TEST_METERS_CSV = "\n".join(
    [
        "device_id,zone_code,zone_name_fa,zone_name_en,district,street_fa,street_en,"
        "street_class,lon,lat,bays,bay_kinds",
        "TEST-A1,02-test,شهرک غرب,Test zone,2,خیابان ایران‌زمین,Iran Zamin Street,A,"
        "51.37000,35.76000,8,7:disabled;8:motorcycle",
        "TEST-D1,02-test,شهرک غرب,Test zone,2,خیابان زرافشان,Zarafshan Street,D,"
        "51.37050,35.76040,8,1:loading",
        "TEST-D2,02-test,شهرک غرب,Test zone,2,خیابان زرافشان,Zarafshan Street,D,"
        "51.37100,35.76080,8,",
        "TEST-B1,03-test,ونک,Other zone,3,خیابان ملاصدرا,Mollasadra Street,B,51.40000,35.75700,8,",
    ]
)
PARKING_TABLES = (
    "parking_reservation",
    "parking_reservation_payment",
    "parking_refund",
    "parking_notification",
)


# Where the demo's approximate district outlines say they come from.
DEMO_SOURCE = "demo: approximate outline"


def parking_ports(container: Container) -> ParkingPorts:
    """Parking's ports as bootstrap wired them: the one place tests read them from."""
    ports: ParkingPorts = container.get(PARKING)
    return ports


def tehran(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Tehran in November 2026 (the 26th is the tests' Thursday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TEHRAN)


async def seed_demo_districts(container: Container) -> None:
    """The 22 districts as the demo draws them: approximate outlines around their centroids."""
    await services.seed_approximate_districts(
        container.database, centroids=centroids(), source=DEMO_SOURCE
    )


# --- the app's ports over the test meters, with fakes for the other areas --------------------


def vehicles() -> StaticVehicleDirectory:
    directory = StaticVehicleDirectory()
    for plate, kind in (
        (CAR, "car"),
        (VAN, "van"),
        (MOTORCYCLE, "motorcycle"),
        (TRUCK, "light_truck"),
    ):
        directory.add(CITIZEN, plate, kind)
    directory.add(CITIZEN, DISABLED, "car", permit_expires_on=PERMIT_EXPIRES_ON)
    directory.add(OTHER, OTHER_CAR, "car")
    return directory


async def load_test_meters(container: Container, csv: str = TEST_METERS_CSV) -> None:
    ports = parking_ports(container)
    await services.load_meters(
        container.database, container.clock, ports.inventory, records=parse_meter_file(csv)
    )


async def seeded_ports(container: Container, **replace: Any) -> ParkingPorts:
    """The app's parking ports over the four test meters, with fakes for the other areas."""
    await load_test_meters(container)
    fakes: dict[str, Any] = {
        "vehicles": vehicles(),
        "payments": FakePayments(),
        "notifier": RecordingNotifier(),
        "bus": RecordingBus(container.bus),
    }
    return dataclasses.replace(parking_ports(container), **{**fakes, **replace})


def fake_payments(ports: ParkingPorts) -> FakePayments:
    assert isinstance(ports.payments, FakePayments)
    return ports.payments


def events(ports: ParkingPorts) -> RecordingBus:
    assert isinstance(ports.bus, RecordingBus)
    return ports.bus


async def bay_of(ports: ParkingPorts, device_id: str, number: int) -> Bay:
    snapshot = await ports.inventory.current()
    return next(b for b in meter_of(snapshot, device_id).bays if b.number == number)


def meter_of(snapshot: InventorySnapshot, device_id: str) -> Meter:
    return next(m for m in snapshot.meters.values() if m.device_id == device_id)


# --- booking and paying ------------------------------------------------------------------------


async def book(
    ports: ParkingPorts,
    bay_id: int,
    *,
    starts_at: datetime,
    minutes: int,
    citizen: str = CITIZEN,
    plate: str = CAR,
    method: str = "psp",
) -> ReservationStart:
    """Quote the bay for the window, then reserve it with that quote."""
    quote = await services.quote_bay(
        ports,
        citizen_id=citizen,
        bay_id=bay_id,
        plate=plate,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
    )
    return await services.reserve(ports, citizen_id=citizen, quote_token=quote.token, method=method)


async def pay_last(ports: ParkingPorts, *, amount_rial: int | None = None) -> str:
    """Deliver the verified payment for what parking last asked the fake port for."""
    asked = fake_payments(ports).requested[-1]
    return await services.take_verified_payment(
        ports,
        VerifiedPayment(
            payment_id=asked["payment_id"],
            citizen_id=asked["citizen_id"],
            purpose=asked["purpose"],
            reference=asked["reference"],
            amount_rial=asked["amount_rial"] if amount_rial is None else amount_rial,
            verified_at=ports.clock.now(),
        ),
    )


async def sign_up(container: Container, *, phone: str, plates: dict[str, str]) -> str:
    """A citizen with these vehicles (plate: kind) registered with identity; their id."""
    citizen_id = await identity_services.ensure_citizen(
        container.database, phone=phone, display_name="راننده", clock=container.clock
    )
    for plate, kind in plates.items():
        await identity_services.register_vehicle(
            container.database,
            container.clock,
            None,
            citizen_id=citizen_id,
            plate=plate,
            kind=kind,
        )
    return citizen_id


async def pay_by_card(
    container: Container,
    payment: StartedPayment,
    scenario: SandboxScenario = SandboxScenario.normal,
) -> CallbackResult | None:
    """Pay at the sandbox bank and bring its callback to payments, which verifies the payment.

    None if the callback never comes. Parking hears of the payment from the bus.
    """
    psp = sandbox_psp(container)
    answer = await pay_at_bank(psp, token_of(payment), scenario)
    if answer.callback_url is None:
        return None
    return await payments_services.handle_callback(
        container.database, container.clock, psp, container.bus, params=answer.callback_params
    )


async def wallet_balance(container: Container, citizen_id: str) -> int:
    return int(
        await payments_services.wallet_balance(
            container.database, container.clock, citizen_id=citizen_id
        )
    )


# --- a database for each example of a stateful test ------------------------------------------


class FreshDatabase:
    """A migrated, empty database for each example: a copy of the SQLite template, or
    PostgreSQL with every table emptied."""

    def __init__(self, kind: str, source: str, folder: Path) -> None:
        self.kind = kind
        self.source = source
        self.folder = folder
        self.examples = 0

    async def url(self) -> str:
        self.examples += 1
        if self.kind == "sqlite":
            path = self.folder / f"example-{self.examples}.db"
            shutil.copyfile(self.source, path)
            return f"sqlite:///{path}"
        tables = [t.name for t in bootstrap.load_all_tables().sorted_tables]
        database = Database(Settings(database_url=self.source).sqlalchemy_url)
        try:
            async with database.engine.begin() as connection:
                await connection.execute(
                    text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                )
        finally:
            await database.dispose()
        return self.source


# --- reading the tables ------------------------------------------------------------------------


async def row_counts(ports: ParkingPorts) -> dict[str, int]:
    counts = {}
    async with ports.database.session() as session:
        for table in PARKING_TABLES:
            result = await session.execute(text(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608  # constant names
            counts[table] = int(result.scalar_one())
    return counts


async def status_of(ports: ParkingPorts, reservation_id: str) -> ReservationStatus:
    async with ports.database.session() as session:
        value = await session.scalar(
            text("SELECT status FROM parking_reservation WHERE id = :id"), {"id": reservation_id}
        )
    return ReservationStatus(value)
