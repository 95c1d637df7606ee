"""Parking's ports to the outside, with their adapters, one concern a module.

`ports`: payments, the citizen's vehicles and notices (other areas' services, wired by
bootstrap) and their fakes; `meters`: the meter gateway, the one owner of meter I/O.
"""

from shahr.parking.gateways.meters import (
    LIGHT_EVENT_WORKERS,
    MeterGateway,
    MeterPayloadError,
    MeterStatus,
    MeterTopics,
    check_device_id,
    decode_command,
    decode_report,
    decode_status,
    encode_command,
    encode_report,
    encode_status,
    wire_time,
)
from shahr.parking.gateways.ports import (
    EXTENSION_PURPOSE,
    RESERVATION_PURPOSE,
    FakePayments,
    Notice,
    ParkingNotifier,
    PaymentPort,
    RecordingNotifier,
    StartedPayment,
    StaticVehicleDirectory,
    VehicleDirectory,
    VerifiedPayment,
)

__all__ = [
    "EXTENSION_PURPOSE",
    "LIGHT_EVENT_WORKERS",
    "RESERVATION_PURPOSE",
    "FakePayments",
    "MeterGateway",
    "MeterPayloadError",
    "MeterStatus",
    "MeterTopics",
    "Notice",
    "ParkingNotifier",
    "PaymentPort",
    "RecordingNotifier",
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
