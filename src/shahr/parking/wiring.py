"""Parking's composition: its ports, the upkeep job, and the meter gateway with its events."""

from __future__ import annotations

from shahr.kernel.container import Container, Part
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool
from shahr.parking import mqtt_handlers
from shahr.parking.events import ReservationConfirmed, ReservationEnded, ReservationExtended
from shahr.parking.gateways import (
    LIGHT_EVENT_WORKERS,
    MeterGateway,
    ParkingNotifier,
    PaymentPort,
    VehicleDirectory,
)
from shahr.parking.jobs import UPKEEP_EVERY_S, parking_upkeep
from shahr.parking.queries import InventoryCache
from shahr.parking.services import (
    PARKING,
    ParkingPorts,
    quote_signer,
    reminder_link_signer,
    shipped_rules,
)

METER_GATEWAY: Part[MeterGateway] = Part("parking.meter_gateway")
METERS_TOOL = "/staff/parking/meters"
# The staff tools' names and summaries: msgids the staff shell translates as it lists them.
STAFF_TOOL_TITLES = {METERS_TOOL: "Meters and bays"}
STAFF_TOOL_HINTS = {
    METERS_TOOL: "Every meter's connection and bays, and each bay's light and reservation now."
}


def wire_parking(
    container: Container,
    *,
    payments: PaymentPort,
    vehicles: VehicleDirectory,
    notifier: ParkingNotifier,
) -> ParkingPorts:
    """Parking on the container, with its ports to other areas (bridged by bootstrap)."""
    settings = container.settings
    ports = ParkingPorts(
        database=container.database,
        clock=container.clock,
        bus=container.bus,
        rules=shipped_rules(),
        inventory=InventoryCache(container.database),
        quotes=quote_signer(lambda: settings.signing_key),
        payments=payments,
        vehicles=vehicles,
        notifier=notifier,
        reminder_links=reminder_link_signer(lambda: settings.signing_key),
    )
    container.provide(PARKING, ports)
    container.workspace.add(
        StaffTool(
            href=METERS_TOOL,
            title=STAFF_TOOL_TITLES[METERS_TOOL],
            summary=STAFF_TOOL_HINTS[METERS_TOOL],
            roles=frozenset({Role.parking_operator}),
            area="parking",
        )
    )
    if settings.run_jobs:
        container.every(
            "parking-upkeep",
            UPKEEP_EVERY_S,
            lambda: parking_upkeep(ports, public_url=settings.public_url),
        )
        _wire_meter_gateway(container)
    return ports


def _wire_meter_gateway(container: Container) -> None:
    """The one owner of meter I/O over MQTT; it runs where jobs run (its schedule is one)."""
    gateway = MeterGateway(
        container.broker, container.database, container.clock, city=container.settings.city
    )
    mqtt_handlers.install(gateway)
    container.provide(METER_GATEWAY, gateway)
    container.background.append(gateway)
    bus, durable = container.bus, "parking-bay-lights"
    for _ in range(LIGHT_EVENT_WORKERS):  # competing deliveries, see LIGHT_EVENT_WORKERS
        bus.subscribe(ReservationConfirmed, gateway.reservation_confirmed, durable=durable)
        bus.subscribe(ReservationExtended, gateway.reservation_extended, durable=durable)
        bus.subscribe(ReservationEnded, gateway.reservation_ended, durable=durable)
