"""The device messaging port: MQTT for meters and sensors, in process or on a real broker.

`port`: the message, the will and the protocols; `topics`: topic and filter rules;
`in_process`: the embedded broker; `remote`: a real broker over aiomqtt.
"""

from __future__ import annotations

from shahr.kernel.mqtt.in_process import InProcessBroker, InProcessConnection
from shahr.kernel.mqtt.port import (
    DeviceBroker,
    DeviceConnection,
    DeviceMessage,
    MessageHandler,
    Will,
)
from shahr.kernel.mqtt.remote import MqttBroker, MqttConnection
from shahr.kernel.mqtt.topics import check_topic, check_topic_filter, topic_matches
from shahr.kernel.settings import Settings


def make_broker(settings: Settings) -> DeviceBroker:
    """The broker the settings name: MQTT when `SHAHR_MQTT_URL` is set, else in process."""
    if settings.mqtt_url:
        return MqttBroker(settings.mqtt_url)
    return InProcessBroker()


__all__ = [
    "DeviceBroker",
    "DeviceConnection",
    "DeviceMessage",
    "InProcessBroker",
    "InProcessConnection",
    "MessageHandler",
    "MqttBroker",
    "MqttConnection",
    "Will",
    "check_topic",
    "check_topic_filter",
    "make_broker",
    "topic_matches",
]
