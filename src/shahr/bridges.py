"""The adapters between areas: each gives one area's port another area's services.

Areas never import each other; bootstrap builds these and hands them to the area that
needs them. Each adapter speaks in the needing area's plain values.
"""

from __future__ import annotations

from datetime import date, datetime

from shahr.identity import queries as identity_queries
from shahr.identity import services as identity_services
from shahr.identity.domain import Vehicle
from shahr.identity.events import CitizenRegistered
from shahr.identity.gateways import SMS
from shahr.incidents.gateways.cameras import NearCamera
from shahr.incidents.gateways.roads import RoadLink, RoadSnapshot
from shahr.kernel.container import Container
from shahr.kernel.db import Database, UnitOfWork
from shahr.kernel.web import i18n
from shahr.parking import services as parking_services
from shahr.parking.gateways import (
    Notice,
    PaymentState,
    RegisteredVehicle,
    StartedPayment,
    VerifiedPayment,
)
from shahr.parking.gateways import PaidFor as ParkingPaidFor
from shahr.parking.schemas import render_notice
from shahr.payments import queries as payments_queries
from shahr.payments import services as payments_services
from shahr.payments.domain import AWAITING_CALLBACK, DEMO_WALLET_RIAL, PaidFor
from shahr.payments.events import PaymentVerified
from shahr.payments.gateways import PSP
from shahr.payments.services import PaymentStart
from shahr.traffic import queries as traffic_queries
from shahr.traffic.queries import cameras as traffic_camera_queries
from shahr.traffic.queries.live import LIVE_STATES

# Deliveries of `PaymentVerified` parking takes at once (each locks its own reservation).
PAYMENT_EVENT_WORKERS = 4


def _paid_for(named: ParkingPaidFor | None) -> PaidFor | None:
    """Parking's words for what a payment buys, in payments' own class."""
    if named is None:
        return None
    return PaidFor(
        street_fa=named.street_fa, street_en=named.street_en, bay_number=named.bay_number
    )


def _started(start: PaymentStart) -> StartedPayment:
    return StartedPayment(
        payment_id=start.payment_id,
        status=start.status.value,
        method=start.method.value,
        amount_rial=int(start.amount_rial),
        redirect_url=start.redirect_url,
    )


class PaymentsForParking:
    """Parking's payment port on the payments area's services."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._demo_wallet_rial = DEMO_WALLET_RIAL if container.settings.demo else 0

    async def request_payment(
        self,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        method: str,
        paid_for: ParkingPaidFor | None = None,
        pay_by: datetime | None = None,
    ) -> StartedPayment:
        c = self._container
        start = await payments_services.request_payment(
            c.database,
            c.clock,
            c.get(PSP),
            c.bus,
            citizen_id=citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reference,
            return_url=return_url,
            method="wallet" if method == "wallet" else "psp",
            demo_wallet_rial=self._demo_wallet_rial,
            paid_for=_paid_for(paid_for),
            pay_by=pay_by,
        )
        return _started(start)

    async def pay_from_wallet(
        self,
        transaction: UnitOfWork,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        paid_for: ParkingPaidFor | None = None,
    ) -> StartedPayment:
        start = await payments_services.pay_from_wallet_within(
            transaction,
            self._container.clock,
            self._container.bus,
            citizen_id=citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reference,
            return_url=return_url,
            demo_wallet_rial=self._demo_wallet_rial,
            paid_for=_paid_for(paid_for),
        )
        return _started(start)

    async def refund(self, *, reference: str, amount_rial: int, reason: str) -> None:
        c = self._container
        await payments_services.refund(
            c.database,
            c.clock,
            c.bus,
            reference=reference,
            amount_rial=amount_rial,
            reason=reason,
        )

    async def verified_payments(
        self, *, verified_from: datetime, verified_to: datetime
    ) -> list[VerifiedPayment]:
        orders = await payments_queries.verified_payments(
            self._container.database,
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
                method=o.method.value,
            )
            for o in orders
        ]

    async def payment_states(self, *, reference: str) -> list[PaymentState]:
        found = await payments_queries.standings_for_reference(
            self._container.database, reference=reference
        )
        return [
            PaymentState(
                payment_id=s.order.id,
                purpose=s.order.purpose.value,
                amount_rial=int(s.order.amount_rial),
                standing=s.standing.value,
                label=s.label,
                explanation=s.explanation,
                decided_by=s.decided_by,
                created_at=s.order.created_at,
                unanswered=s.order.status in AWAITING_CALLBACK,
            )
            for s in found
        ]

    async def give_up_payment(self, *, payment_id: str, citizen_id: str) -> None:
        c = self._container
        await payments_services.abandon_payment(
            c.database, c.clock, c.get(PSP), c.bus, payment_id=payment_id, citizen_id=citizen_id
        )


class VehiclesFromIdentity:
    """Parking's vehicle directory on identity's read side (and its use case to add one)."""

    def __init__(self, container: Container) -> None:
        self._container = container

    async def vehicles_of(self, *, citizen_id: str) -> list[RegisteredVehicle]:
        database = self._container.database
        vehicles = await identity_queries.vehicles_of(database, citizen_id=citizen_id)
        if not vehicles:
            return []
        permits = await identity_queries.approved_permit_expiries(database, citizen_id=citizen_id)
        return [self._registered(vehicle, permits.get(vehicle.id)) for vehicle in vehicles]

    async def vehicle(self, *, citizen_id: str, plate: str) -> RegisteredVehicle | None:
        for vehicle in await self.vehicles_of(citizen_id=citizen_id):
            if vehicle.plate == plate:
                return vehicle
        return None

    async def register(self, *, citizen_id: str, plate: str, kind: str) -> RegisteredVehicle:
        c = self._container
        vehicle = await identity_services.register_vehicle(
            c.database, c.clock, c.bus, citizen_id=citizen_id, plate=plate, kind=kind
        )
        return self._registered(vehicle, None)

    @staticmethod
    def _registered(vehicle: Vehicle, permit_expires_on: date | None) -> RegisteredVehicle:
        # Only an approved permit is passed on; parking judges its expiry against the stay.
        return RegisteredVehicle(
            plate=vehicle.plate,
            kind=vehicle.kind.value,
            nickname=vehicle.nickname,
            permit_expires_on=permit_expires_on,
        )


class SmsForParking:
    """Parking's notices by SMS, in Persian, through identity's SMS gateway."""

    def __init__(self, container: Container) -> None:
        self._container = container

    async def notify(self, notice: Notice) -> None:
        citizen = await identity_queries.citizen(
            self._container.database, citizen_id=notice.citizen_id
        )
        if citizen is not None:
            text = render_notice(notice.message, notice.params, "fa")
            await self._container.get(SMS).send(citizen.phone, text)


def credit_demo_wallets(container: Container) -> None:
    """In the demo, a citizen's wallet starts with a balance: credited on registration."""
    database, clock = container.database, container.clock

    async def credit(event: CitizenRegistered) -> None:
        # Idempotent: the demo balance is one ledger transaction per citizen, ever.
        await payments_services.ensure_demo_wallet(
            database, clock, citizen_id=event.citizen_id, amount_rial=DEMO_WALLET_RIAL
        )

    container.bus.subscribe(CitizenRegistered, credit, durable="payments-demo-wallet")


def confirm_parking_by_card(container: Container, parking: parking_services.ParkingPorts) -> None:
    """A card payment verified by the bank confirms what parking held for it."""

    async def take(event: PaymentVerified) -> None:
        # Idempotent by payment id; parking ignores what is not a card payment of its own.
        await parking_services.take_verified_payment(
            parking,
            VerifiedPayment(
                payment_id=event.payment_id,
                citizen_id=event.citizen_id,
                purpose=event.purpose,
                reference=event.reference,
                amount_rial=event.amount_rial,
                verified_at=event.verified_at,
                method=event.method,
            ),
        )

    # Competing deliveries on one durable: one payment's confirmation does not queue behind
    # another's.
    for _ in range(PAYMENT_EVENT_WORKERS):
        container.bus.subscribe(PaymentVerified, take, durable="parking-payments")


class RoadsForIncidents:
    """Incidents' road network on traffic's read side: the segments at the live state's speeds.

    The live map's cached state is used when traffic is wired (one version check, no rebuild
    unless the city changed); a segment without a state goes at its free-flow speed. The
    links are built once per state version.
    """

    def __init__(self, container: Container) -> None:
        self._container = container
        self._last: RoadSnapshot | None = None

    async def snapshot(self) -> RoadSnapshot:
        live = self._container.find(LIVE_STATES)
        states = (
            (await live.view()).snapshot
            if live is not None
            else await traffic_queries.state_snapshot(self._container.database)
        )
        if self._last is not None and self._last.version == states.version:
            return self._last
        speeds = {s.segment_id: s.speed_kmh for s in states.states}
        links = tuple(
            RoadLink(
                segment_id=segment.id,
                from_node=segment.from_node,
                to_node=segment.to_node,
                length_m=segment.length_m,
                speed_kmh=speeds.get(segment.id, segment.free_flow_kmh),
                free_flow_kmh=segment.free_flow_kmh,
                name=segment.name,
                geometry=tuple((p.lon, p.lat) for p in segment.geometry),
            )
            for segment in states.registry.segments
        )
        self._last = RoadSnapshot(
            version=states.version, links=links, network_version=str(states.registry.version)
        )
        return self._last


class CamerasForIncidents:
    """The camera registry, for incidents: the cameras in service nearest a place."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def nearest(
        self, lon: float, lat: float, *, limit: int = 3, within_m: float = 1500
    ) -> list[NearCamera]:
        found = await traffic_camera_queries.nearest_cameras(
            self.database, lon, lat, limit=limit, within_m=within_m
        )
        english = i18n.current_language.get() == "en"
        return [
            NearCamera(
                camera_id=near.camera.id,
                name=near.camera.name_en
                if english and near.camera.name_en
                else near.camera.name_fa,
                lon=near.camera.lon,
                lat=near.camera.lat,
                distance_m=near.distance_m,
                view_bearing_deg=near.camera.view_bearing_deg,
                stream_url=near.camera.stream_url,
                snapshot_url=near.camera.snapshot_url,
                public=near.camera.public,
                status=near.camera.status.value,
            )
            for near in found
        ]
