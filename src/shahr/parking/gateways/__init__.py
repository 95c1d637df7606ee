"""Parking's ports to the outside, with their adapters, one concern a module.

`ports`: payments, the citizen's vehicles and notices (other areas' services, wired by
bootstrap) and their fakes. The meter gateway, the one owner of meter I/O:
`meter_topics` and `meter_codec` (the protocol), `meter_gateway` (the shell around the
decisions in `parking.domain.lights`), `meter_link` (its MQTT session and outbox) and
`meter_recorder` (what meters say, written in batches).
"""

from shahr.parking.gateways.meter_codec import (
    MeterPayloadError,
    MeterStatus,
    decode_command,
    decode_report,
    decode_status,
    encode_command,
    encode_report,
    encode_status,
    wire_time,
)
from shahr.parking.gateways.meter_gateway import (
    CATCH_UP_EVERY_S,
    EVENT_GRACE,
    LIGHT_EVENT_WORKERS,
    MeterGateway,
)
from shahr.parking.gateways.meter_topics import MeterTopics, check_device_id
from shahr.parking.gateways.ports import (
    CONFIRMED,
    EXTENSION_PURPOSE,
    IN_DOUBT,
    RESERVATION_PURPOSE,
    FakePayments,
    Notice,
    PaidFor,
    ParkingNotifier,
    PaymentPort,
    PaymentState,
    RecordingNotifier,
    RegisteredVehicle,
    StartedPayment,
    StaticVehicleDirectory,
    VehicleDirectory,
    VerifiedPayment,
)

__all__ = [
    "CATCH_UP_EVERY_S",
    "CONFIRMED",
    "EVENT_GRACE",
    "EXTENSION_PURPOSE",
    "IN_DOUBT",
    "LIGHT_EVENT_WORKERS",
    "RESERVATION_PURPOSE",
    "FakePayments",
    "MeterGateway",
    "MeterPayloadError",
    "MeterStatus",
    "MeterTopics",
    "Notice",
    "PaidFor",
    "ParkingNotifier",
    "PaymentPort",
    "PaymentState",
    "RecordingNotifier",
    "RegisteredVehicle",
    "StartedPayment",
    "StaticVehicleDirectory",
    "VehicleDirectory",
    "VerifiedPayment",
    "check_device_id",
    "decode_command",
    "decode_report",
    "decode_status",
    "encode_command",
    "encode_report",
    "encode_status",
    "wire_time",
]
