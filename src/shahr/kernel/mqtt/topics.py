"""Topics and filters as MQTT reads them, checked the same by both adapters, and the handing of
a message to the subscriptions it matches."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shahr.kernel.mqtt.port import DeviceMessage, MessageHandler

log = logging.getLogger(__name__)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether an MQTT topic matches a filter with `+` (one level) and `#` (the rest)."""
    wanted = topic_filter.split("/")
    levels = topic.split("/")
    # MQTT keeps `$SYS/...` and friends away from filters that start with a wildcard.
    if topic.startswith("$") and wanted[0] in ("+", "#"):
        return False
    for position, level in enumerate(wanted):
        if level == "#":
            return True
        if position >= len(levels):
            return False
        if level not in ("+", levels[position]):
            return False
    return len(levels) == len(wanted)


def check_topic(topic: str) -> None:
    """Refuse a topic a device may not publish to (empty, wildcards, NUL)."""
    if not topic or any(char in topic for char in "+#\0"):
        raise ValueError(f"cannot publish to topic {topic!r}")


def check_topic_filter(topic_filter: str) -> None:
    """Refuse a malformed filter: `#` only last and alone in its level, `+` alone in its level."""
    if not topic_filter or "\0" in topic_filter:
        raise ValueError(f"invalid topic filter {topic_filter!r}")
    levels = topic_filter.split("/")
    for position, level in enumerate(levels):
        if "#" in level and (level != "#" or position != len(levels) - 1):
            raise ValueError(f"invalid topic filter {topic_filter!r}: `#` must end it")
        if "+" in level and level != "+":
            raise ValueError(f"invalid topic filter {topic_filter!r}: `+` fills a whole level")


def check_qos(qos: int) -> None:
    if qos not in (0, 1, 2):
        raise ValueError(f"QoS must be 0, 1 or 2, not {qos}")


@dataclass(frozen=True)
class Subscription:
    topic_filter: str
    handler: MessageHandler
    qos: int


async def dispatch(
    subscriptions: list[Subscription], message: DeviceMessage, client_id: str
) -> None:
    """Hand a message to every handler whose filter matches; one failing handler spares the rest."""
    for subscription in list(subscriptions):
        if topic_matches(subscription.topic_filter, message.topic):
            try:
                await subscription.handler(message)
            except Exception:
                log.exception("handler for %s failed on %s", client_id, message.topic)
