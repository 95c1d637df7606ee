"""The device messaging contract, run against the in-process broker and a real MQTT broker."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import pytest

from shahr.kernel.mqtt import (
    DeviceBroker,
    DeviceMessage,
    InProcessBroker,
    MqttBroker,
    Will,
    make_broker,
    topic_matches,
)
from shahr.kernel.settings import Settings

Eventually = Callable[..., Awaitable[None]]


class Inbox:
    """A handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[DeviceMessage] = []

    async def __call__(self, message: DeviceMessage) -> None:
        self.messages.append(message)

    def payloads(self, topic: str | None = None) -> list[bytes]:
        return [m.payload for m in self.messages if topic is None or m.topic == topic]

    def has(self, payload: bytes) -> Callable[[], bool]:
        return lambda: payload in self.payloads()


async def test_a_late_subscriber_gets_the_retained_message(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    meter = await broker.connect(f"{topic_prefix}-meter")
    await meter.publish(f"{topic_prefix}/bay/17/state", b"occupied", retain=True)
    await meter.publish(f"{topic_prefix}/bay/17/state", b"free", retain=True)
    dashboard = await broker.connect(f"{topic_prefix}-dashboard")
    inbox = Inbox()
    await dashboard.subscribe(f"{topic_prefix}/bay/+/state", inbox)
    await eventually(inbox.has(b"free"))
    assert inbox.messages == [
        DeviceMessage(f"{topic_prefix}/bay/17/state", b"free", retain=True, qos=1)
    ]
    await meter.publish(f"{topic_prefix}/bay/17/state", b"", retain=True)


async def test_an_empty_retained_payload_clears_the_retained_message(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    meter = await broker.connect(f"{topic_prefix}-meter")
    await meter.publish(f"{topic_prefix}/bay/9/state", b"occupied", retain=True)
    await meter.publish(f"{topic_prefix}/bay/9/state", b"", retain=True)
    late = await broker.connect(f"{topic_prefix}-late")
    inbox = Inbox()
    await late.subscribe(f"{topic_prefix}/#", inbox)
    # Retained messages come right after the subscription, so once a later live message
    # has arrived, a retained one would have been seen already.
    await meter.publish(f"{topic_prefix}/marker", b"marker")
    await eventually(inbox.has(b"marker"))
    assert inbox.payloads() == [b"marker"]


async def test_wildcard_filters_select_the_matching_topics(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    station = await broker.connect(f"{topic_prefix}-station")
    server = await broker.connect(f"{topic_prefix}-server")
    pm25, below_station = Inbox(), Inbox()
    await server.subscribe(f"{topic_prefix}/aq/+/pm25", pm25)
    await server.subscribe(f"{topic_prefix}/aq/station-1/#", below_station)
    await station.publish(f"{topic_prefix}/aq/station-1/pm25", b"41")
    await station.publish(f"{topic_prefix}/aq/station-1/no2", b"12")
    await station.publish(f"{topic_prefix}/aq/station-2/pm25", b"55")
    await station.publish(f"{topic_prefix}/aq/station-2/pm25/raw", b"x")
    await station.publish(f"{topic_prefix}/aq/station-1", b"online")
    # One publisher's messages reach a client in order, so this one arrives last.
    await station.publish(f"{topic_prefix}/aq/station-2/pm25", b"done")
    await eventually(pm25.has(b"done"))
    assert pm25.payloads() == [b"41", b"55", b"done"]
    assert below_station.payloads() == [b"41", b"12", b"online"]


async def test_the_will_is_published_when_a_device_drops_but_not_when_it_leaves(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    watcher = await broker.connect(f"{topic_prefix}-watcher")
    status = Inbox()
    await watcher.subscribe(f"{topic_prefix}/status/#", status)
    polite = await broker.connect(
        f"{topic_prefix}-polite", will=Will(f"{topic_prefix}/status/polite", b"lost", retain=False)
    )
    await polite.disconnect()
    cut = await broker.connect(
        f"{topic_prefix}-cut", will=Will(f"{topic_prefix}/status/cut", b"lost", retain=False)
    )
    await cut.drop()
    await eventually(status.has(b"lost"))
    await watcher.publish(f"{topic_prefix}/status/marker", b"marker")
    await eventually(status.has(b"marker"))
    assert [(m.topic, m.payload) for m in status.messages] == [
        (f"{topic_prefix}/status/cut", b"lost"),
        (f"{topic_prefix}/status/marker", b"marker"),
    ]


async def test_a_retained_will_tells_later_subscribers_the_device_is_gone(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    meter = await broker.connect(
        f"{topic_prefix}-meter", will=Will(f"{topic_prefix}/meter/status", b"offline")
    )
    await meter.publish(f"{topic_prefix}/meter/status", b"online", retain=True)
    await meter.drop()
    later = await broker.connect(f"{topic_prefix}-later")
    inbox = Inbox()
    await later.subscribe(f"{topic_prefix}/meter/status", inbox)
    await eventually(lambda: bool(inbox.messages))
    assert inbox.messages[0].payload == b"offline"
    assert inbox.messages[0].retain
    await later.publish(f"{topic_prefix}/meter/status", b"", retain=True)


async def test_qos_1_is_delivered_at_qos_1_and_a_qos_0_subscription_downgrades_it(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    meter = await broker.connect(f"{topic_prefix}-meter")
    server = await broker.connect(f"{topic_prefix}-server")
    reliable, casual = Inbox(), Inbox()
    await server.subscribe(f"{topic_prefix}/reliable", reliable, qos=1)
    await server.subscribe(f"{topic_prefix}/casual", casual, qos=0)
    for n in range(20):
        await meter.publish(f"{topic_prefix}/reliable", str(n).encode(), qos=1)
    await meter.publish(f"{topic_prefix}/casual", b"c", qos=1)
    await eventually(lambda: len(reliable.messages) == 20 and bool(casual.messages))
    assert reliable.payloads() == [str(n).encode() for n in range(20)]
    assert {m.qos for m in reliable.messages} == {1}
    assert casual.messages[0].qos == 0


async def test_a_failing_handler_does_not_stop_later_messages(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    meter = await broker.connect(f"{topic_prefix}-meter")
    server = await broker.connect(f"{topic_prefix}-server")
    inbox = Inbox()

    async def fussy(message: DeviceMessage) -> None:
        await inbox(message)
        if message.payload == b"bad":
            raise ValueError("unreadable reading")

    await server.subscribe(f"{topic_prefix}/r", fussy)
    await meter.publish(f"{topic_prefix}/r", b"bad")
    await meter.publish(f"{topic_prefix}/r", b"good")
    await eventually(inbox.has(b"good"))
    assert inbox.payloads() == [b"bad", b"good"]


async def test_reconnecting_with_the_same_client_id_replaces_the_old_session(
    broker: DeviceBroker, topic_prefix: str, eventually: Eventually
) -> None:
    sender = await broker.connect(f"{topic_prefix}-sender")
    old = await broker.connect(f"{topic_prefix}-meter")
    old_inbox, new_inbox = Inbox(), Inbox()
    await old.subscribe(f"{topic_prefix}/cmd", old_inbox)
    new = await broker.connect(f"{topic_prefix}-meter")
    await new.subscribe(f"{topic_prefix}/cmd", new_inbox)
    await sender.publish(f"{topic_prefix}/cmd", b"open-barrier")
    await eventually(new_inbox.has(b"open-barrier"))
    assert old_inbox.messages == []
    with pytest.raises(ConnectionError):
        await old.publish(f"{topic_prefix}/cmd", b"stale")


async def test_a_closed_connection_refuses_to_publish(
    broker: DeviceBroker, topic_prefix: str
) -> None:
    meter = await broker.connect(f"{topic_prefix}-meter")
    await meter.disconnect()
    with pytest.raises(ConnectionError):
        await meter.publish(f"{topic_prefix}/x", b"late")


async def test_malformed_topics_and_filters_are_refused(
    broker: DeviceBroker, topic_prefix: str
) -> None:
    meter = await broker.connect(f"{topic_prefix}-meter")
    with pytest.raises(ValueError, match="cannot publish"):
        await meter.publish(f"{topic_prefix}/+/x", b"")
    with pytest.raises(ValueError, match="must end"):
        await meter.subscribe(f"{topic_prefix}/#/x", Inbox())
    with pytest.raises(ValueError, match="whole level"):
        await meter.subscribe(f"{topic_prefix}/a+", Inbox())
    await broker.ping()


@pytest.mark.mqtt
async def test_a_connection_that_loses_the_network_reconnects_and_keeps_its_subscriptions(
    real_broker: MqttBroker, topic_prefix: str, eventually: Eventually
) -> None:
    sender = await real_broker.connect(f"{topic_prefix}-sender")
    meter = await real_broker.connect(f"{topic_prefix}-meter")
    inbox = Inbox()
    await meter.subscribe(f"{topic_prefix}/cmd", inbox)
    # Cut the socket under the client, as a flaky GPRS link or a broker restart would.
    meter._client._client.socket().shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    await eventually(lambda: not meter.connected)
    await eventually(lambda: meter.connected)
    await sender.publish(f"{topic_prefix}/cmd", b"after-reconnect")
    await eventually(inbox.has(b"after-reconnect"))
    await meter.publish(f"{topic_prefix}/ack", b"still-publishing")


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a/b/c", True),
        ("a/#", "a", True),
        ("+/+", "/b", True),
        ("#", "$SYS/uptime", False),
        ("+/uptime", "$SYS/uptime", False),
        ("$SYS/#", "$SYS/uptime", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_topic_filters_follow_mqtt_wildcards(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_settings_choose_the_broker_adapter() -> None:
    assert isinstance(make_broker(Settings(mqtt_url=None)), InProcessBroker)
    # Building the MQTT adapter must not connect: nothing listens on port 9.
    assert isinstance(make_broker(Settings(mqtt_url="mqtt://127.0.0.1:9")), MqttBroker)
