"""Meter messages in: presence (status and last will) and reported bay lights.

Thin: read the topic and payload, hand them to the meter gateway. Each handler is
idempotent, as QoS 1 and retained messages arrive again after every reconnection.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from shahr.kernel.mqtt import DeviceMessage
from shahr.parking.gateways import MeterGateway, MeterPayloadError, decode_report, decode_status

log = logging.getLogger(__name__)

REJECTED = Counter(
    "shahr_meter_messages_rejected",
    "Meter messages dropped because they could not be read, by kind",
    ["kind"],
)


def install(gateway: MeterGateway) -> None:
    """Register the meter handlers on the gateway, before it starts."""
    topics = gateway.topics

    async def on_status(message: DeviceMessage) -> None:
        if not message.payload:
            return  # a retained status being cleared (a meter taken out of service)
        try:
            meter_device_id = topics.device_of_status(message.topic)
            status = decode_status(message.payload)
        except MeterPayloadError as error:
            REJECTED.labels("status").inc()
            log.warning("meter status dropped on %s: %s", message.topic, error)
            return
        gateway.take_status(meter_device_id, status)

    async def on_light_state(message: DeviceMessage) -> None:
        if not message.payload:
            return
        try:
            key = topics.bay_of_light(message.topic, "state")
            report = decode_report(message.payload)
        except MeterPayloadError as error:
            REJECTED.labels("light_state").inc()
            log.warning("bay light report dropped on %s: %s", message.topic, error)
            return
        gateway.take_report(key, report)

    gateway.listen(topics.every_status, on_status)
    gateway.listen(topics.every_light_state, on_light_state)
