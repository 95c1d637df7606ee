"""The composition root: the only place that picks concrete adapters and wires areas together."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import MetaData

from shahr.kernel.bus import EventBus
from shahr.kernel.cache import Cache, RateLimiter, make_cache
from shahr.kernel.clock import Clock, ShiftedClock, SystemClock
from shahr.kernel.db import Base, Database
from shahr.kernel.errors import DomainError
from shahr.kernel.mqtt import DeviceBroker, make_broker
from shahr.kernel.schedule import Every
from shahr.kernel.settings import Settings
from shahr.kernel.stream import Stream, make_stream

# Deliveries of `PaymentVerified` parking takes at once (each locks its own reservation).
PAYMENT_EVENT_WORKERS = 4

# Every area, in the order their routes and tables are loaded.
AREAS = (
    "identity",
    "payments",
    "parking",
    "traffic",
    "incidents",
    "air_quality",
    "transparency",
    "indicators",
    "open_data",
    "demo",
)


def _area_module(area: str, module: str) -> Any | None:
    """An area's module if the area has it; areas grow their modules one at a time."""
    name = f"shahr.{area}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise


def load_all_tables() -> MetaData:
    """Import every area's tables so `Base.metadata` knows them (for Alembic and tests)."""
    for area in AREAS:
        _area_module(area, "persistence")
    return Base.metadata


def area_routers() -> list[Any]:
    """Each area's API and page routers, in area order."""
    routers = []
    for area in AREAS:
        for module_name in ("api", "pages", "lights_api"):
            module = _area_module(area, module_name)
            if module is not None and hasattr(module, "router"):
                routers.append(module.router)
    return routers


def error_status() -> dict[type[DomainError], int]:
    """The per-area error maps (`ERROR_STATUS` in each api module), merged."""
    merged: dict[type[DomainError], int] = {}
    for area in AREAS:
        module = _area_module(area, "api")
        if module is not None:
            merged.update(getattr(module, "ERROR_STATUS", {}))
    return merged


class Background(Protocol):
    """Something that runs beside the app for the process's lifetime."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Container:
    """Everything a process needs, built from settings; started and stopped as one."""

    settings: Settings
    clock: Clock
    database: Database
    stream: Stream
    bus: EventBus
    broker: DeviceBroker
    cache: Cache
    rate_limiter: RateLimiter
    extras: dict[str, Any] = field(default_factory=dict)
    # Long-running parts (device gateways, simulators, scheduled jobs), started after the
    # ports and stopped before them.
    background: list[Background] = field(default_factory=list)

    async def start(self) -> None:
        await self.stream.start()
        await self.bus.start()
        for part in self.background:
            await part.start()

    async def stop(self) -> None:
        for part in reversed(self.background):
            await part.stop()
        await self.bus.stop()
        await self.stream.stop()
        await self.broker.stop()
        await self.cache.stop()
        await self.database.dispose()


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Container:
    """Pick each port's adapter from settings: unset URLs mean the embedded adapters."""
    settings = settings or Settings()
    if clock is None:
        shift = timedelta(seconds=settings.clock_shift_s)
        clock = ShiftedClock(shift) if shift else SystemClock()
    stream = make_stream(settings)
    cache = make_cache(settings, clock)
    container = Container(
        settings=settings,
        clock=clock,
        database=Database(settings.sqlalchemy_url),
        stream=stream,
        bus=EventBus(stream, city=settings.city),
        broker=make_broker(settings),
        cache=cache,
        rate_limiter=RateLimiter(cache),
    )
    wire(container)
    return container


def wire(container: Container) -> None:
    """Connect the areas: the gateways each area needs and the event handlers between areas."""
    # Areas add their lines here, explicitly, as they gain gateways and event handlers.
    # Imported here, like every area module bootstrap loads, so importing bootstrap loads no area.
    from shahr.identity.api import make_principal_resolver
    from shahr.identity.gateways import ConsoleSms

    settings = container.settings
    # The console stands in for an SMS provider; the demo also keeps an outbox file so a
    # visitor (or a browser test) can read the code.
    outbox = settings.var_dir / "sms-outbox.jsonl" if settings.demo else None
    container.extras["sms"] = ConsoleSms(outbox, clock=container.clock)
    container.extras["resolve_principal"] = make_principal_resolver(
        container.database, container.clock
    )

    # payments: the sandbox PSP is the only adapter so far (docs/decisions/0010).
    from shahr.identity.events import CitizenRegistered
    from shahr.payments import services as payments_services
    from shahr.payments.domain import DEMO_WALLET_RIAL
    from shahr.payments.gateways import SandboxPsp

    container.extras["psp"] = SandboxPsp(
        container.database, container.clock, signing_key=lambda: settings.signing_key
    )
    if settings.run_jobs:
        from shahr.payments.jobs import RECONCILE_EVERY_S, reconcile_payments

        psp = container.extras["psp"]
        container.background.append(
            Every(
                "payments-reconciliation",
                RECONCILE_EVERY_S,
                lambda: reconcile_payments(container.database, container.clock, psp, container.bus),
            )
        )
    if settings.demo:

        async def credit_demo_wallet(event: CitizenRegistered) -> None:
            # Idempotent: the demo balance is one ledger transaction per citizen, ever.
            await payments_services.ensure_demo_wallet(
                container.database,
                container.clock,
                citizen_id=event.citizen_id,
                amount_rial=DEMO_WALLET_RIAL,
            )

        container.bus.subscribe(
            CitizenRegistered, credit_demo_wallet, durable="payments-demo-wallet"
        )

    # parking: its ports to payments (pay, refund), identity (the citizen's vehicles, SMS)
    # and the reservation a verified payment confirms (docs/decisions/0011).
    from shahr.identity import queries as identity_queries
    from shahr.parking import services as parking_services
    from shahr.parking.gateways import Notice, StartedPayment, VerifiedPayment
    from shahr.parking.jobs import UPKEEP_EVERY_S, parking_upkeep
    from shahr.parking.queries import InventoryCache
    from shahr.parking.schemas import render_notice
    from shahr.payments import queries as payments_queries
    from shahr.payments.events import PaymentVerified

    class PaymentsForParking:
        """Parking's payment port on the payments area's services."""

        async def request_payment(
            self,
            *,
            citizen_id: str,
            amount_rial: int,
            purpose: str,
            reference: str,
            return_url: str,
            method: str,
        ) -> StartedPayment:
            start = await payments_services.request_payment(
                container.database,
                container.clock,
                container.extras["psp"],
                container.bus,
                citizen_id=citizen_id,
                amount_rial=amount_rial,
                purpose=purpose,
                reference=reference,
                return_url=return_url,
                method="wallet" if method == "wallet" else "psp",
                demo_wallet_rial=DEMO_WALLET_RIAL if settings.demo else 0,
            )
            return StartedPayment(
                payment_id=start.payment_id,
                status=start.status.value,
                method=start.method.value,
                amount_rial=int(start.amount_rial),
                redirect_url=start.redirect_url,
            )

        async def refund(self, *, reference: str, amount_rial: int, reason: str) -> None:
            await payments_services.refund(
                container.database,
                container.clock,
                container.bus,
                reference=reference,
                amount_rial=amount_rial,
                reason=reason,
            )

        async def verified_payments(
            self, *, verified_from: datetime, verified_to: datetime
        ) -> list[VerifiedPayment]:
            orders = await payments_queries.verified_payments(
                container.database,
                purposes=parking_services.PARKING_PURPOSES,
                verified_from=verified_from,
                verified_to=verified_to,
            )
            return [
                VerifiedPayment(
                    payment_id=o.id,
                    citizen_id=o.citizen_id,
                    purpose=o.purpose.value,
                    reference=o.reference,
                    amount_rial=int(o.amount_rial),
                    verified_at=o.verified_at or o.created_at,
                )
                for o in orders
            ]

    class VehiclesFromIdentity:
        """Parking's vehicle directory on identity's read side."""

        async def vehicle_kind(self, *, citizen_id: str, plate: str) -> str | None:
            vehicles = await identity_queries.vehicles_of(container.database, citizen_id=citizen_id)
            return next((v.kind.value for v in vehicles if v.plate == plate), None)

    class SmsForParking:
        """Parking's notices by SMS, in Persian, through identity's SMS gateway."""

        async def notify(self, notice: Notice) -> None:
            citizen = await identity_queries.citizen(
                container.database, citizen_id=notice.citizen_id
            )
            if citizen is not None:
                text = render_notice(notice.message, notice.params, "fa")
                await container.extras["sms"].send(citizen.phone, text)

    parking = parking_services.ParkingPorts(
        database=container.database,
        clock=container.clock,
        bus=container.bus,
        rules=parking_services.shipped_rules(),
        inventory=InventoryCache(container.database),
        quotes=parking_services.quote_signer(lambda: settings.signing_key),
        payments=PaymentsForParking(),
        vehicles=VehiclesFromIdentity(),
        notifier=SmsForParking(),
    )
    container.extras["parking"] = parking

    async def take_parking_payment(event: PaymentVerified) -> None:
        # Idempotent by payment id; a payment for anything else is ignored by parking.
        await parking_services.take_verified_payment(
            parking,
            parking_services.VerifiedPayment(
                payment_id=event.payment_id,
                citizen_id=event.citizen_id,
                purpose=event.purpose,
                reference=event.reference,
                amount_rial=event.amount_rial,
                verified_at=event.verified_at,
            ),
        )

    # Competing deliveries on one durable: a card payment's confirmation does not queue
    # behind the others' (wallet payments are taken at once and arrive here as duplicates).
    for _ in range(PAYMENT_EVENT_WORKERS):
        container.bus.subscribe(PaymentVerified, take_parking_payment, durable="parking-payments")
    if settings.run_jobs:
        container.background.append(
            Every("parking-upkeep", UPKEEP_EVERY_S, lambda: parking_upkeep(parking))
        )

    # parking, bay lights: the meter gateway is the one owner of meter I/O over MQTT. It runs
    # where scheduled jobs run (its schedule is one), with the reservation events driving it.
    from shahr.parking import mqtt_handlers as parking_mqtt_handlers
    from shahr.parking.events import ReservationConfirmed, ReservationEnded, ReservationExtended
    from shahr.parking.gateways import LIGHT_EVENT_WORKERS, MeterGateway

    if settings.run_jobs:
        meter_gateway = MeterGateway(
            container.broker, container.database, container.clock, city=settings.city
        )
        parking_mqtt_handlers.install(meter_gateway)
        container.extras["meter_gateway"] = meter_gateway
        container.background.append(meter_gateway)
        lights, durable = meter_gateway, "parking-bay-lights"
        for _ in range(LIGHT_EVENT_WORKERS):  # competing deliveries, see LIGHT_EVENT_WORKERS
            bus = container.bus
            bus.subscribe(ReservationConfirmed, lights.reservation_confirmed, durable=durable)
            bus.subscribe(ReservationExtended, lights.reservation_extended, durable=durable)
            bus.subscribe(ReservationEnded, lights.reservation_ended, durable=durable)
    if settings.demo and settings.run_jobs:
        # Simulators run only where jobs run, so tests and benchmarks keep a quiet process.
        from shahr.demo.meters import MeterFleet, inventory_meters

        # After the gateway, so it is listening when the meters announce themselves.
        container.background.append(
            MeterFleet(
                container.broker,
                container.clock,
                city=settings.city,
                meters=lambda: inventory_meters(parking.inventory),
            )
        )

    # traffic: ingest from the sensor stream, and the interval, rollup and pruning jobs.
    from shahr.traffic import jobs as traffic_jobs
    from shahr.traffic.ingest import TrafficIngestConsumer

    if settings.run_jobs or not settings.nats_url:
        # Embedded, the one process consumes; at city scale the workers share the durable.
        container.background.append(
            TrafficIngestConsumer(
                container.database,
                container.clock,
                container.stream,
                city=settings.city,
                plate_secret=lambda: settings.signing_key,
            )
        )
    if settings.run_jobs:
        container.background += [
            Every(
                "traffic-intervals",
                traffic_jobs.FINALISE_EVERY_S,
                lambda: traffic_jobs.finalise(container.database, container.clock, container.bus),
            ),
            Every(
                "traffic-rollups",
                traffic_jobs.ROLLUP_EVERY_S,
                lambda: traffic_jobs.roll_up_history(container.database, container.clock),
            ),
            Every(
                "traffic-pruning",
                traffic_jobs.PRUNE_EVERY_S,
                lambda: traffic_jobs.prune_history(container.database, container.clock),
            ),
        ]

    # demo: the SUMO digital twin (or its recorded day when SUMO is absent) feeds the traffic
    # map like field devices would; only where jobs run, so tests keep a quiet stream.
    if settings.demo and settings.run_jobs:
        from shahr.demo.twin import TwinFeed

        container.background.append(
            TwinFeed(
                container.stream,
                container.database,
                container.clock,
                city=settings.city,
                var_dir=settings.var_dir,
            )
        )
