"""The simulated meter behaves like the device in docs/devices.md, on both brokers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from shahr.bootstrap import Container
from shahr.demo.meters import FIRMWARE, MeterFleet, MeterSpec, SimulatedMeter, inventory_meters
from shahr.kernel.clock import FixedClock
from shahr.kernel.mqtt import (
    DeviceBroker,
    DeviceConnection,
    DeviceMessage,
    InProcessBroker,
    MqttBroker,
)
from shahr.parking.domain import BayLightKey, LightColor, LightCommand, parse_meter_file
from shahr.parking.gateways import MeterTopics, decode_report, decode_status, encode_command
from shahr.parking.services import PARKING, load_meters

DEVICE = "TEH-06-0001"
BAY = BayLightKey(DEVICE, 2)


def service_url(request: pytest.FixtureRequest, service: str) -> str:
    """`service_url` from tests/conftest.py, which is a pytest plugin rather than a package."""
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    return cast(str, root.service_url(service))


async def eventually(condition: Callable[[], bool], *, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout_s} s")
        await asyncio.sleep(0.01)


class Watcher:
    """A platform stand-in: keeps every message under the city's meter topics."""

    def __init__(self) -> None:
        self.messages: list[DeviceMessage] = []

    async def __call__(self, message: DeviceMessage) -> None:
        self.messages.append(message)

    def on(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic and m.payload]


@pytest.fixture
def city() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.mqtt)])
async def broker(request: pytest.FixtureRequest, city: str) -> AsyncIterator[DeviceBroker]:
    if request.param == "embedded":
        embedded = InProcessBroker()
        yield embedded
        await embedded.stop()
        return
    url = service_url(request, "mqtt")
    real = MqttBroker(url, timeout_s=5.0)
    yield real
    # Leave no retained message behind on the shared broker.
    cleaner = await real.connect(f"cleaner-{city}")
    retained: set[str] = set()

    async def note(message: DeviceMessage) -> None:
        if message.retain and message.payload:
            retained.add(message.topic)

    await cleaner.subscribe(f"shahr/{city}/#", note)
    await asyncio.sleep(0.3)
    for topic in retained:
        await cleaner.publish(topic, b"", retain=True)
    await real.stop()


@pytest.fixture
async def watcher(broker: DeviceBroker, city: str) -> AsyncIterator[Watcher]:
    watching = Watcher()
    connection = await broker.connect(f"watcher-{city}")
    await connection.subscribe(f"shahr/{city}/parking/meters/#", watching)
    yield watching
    await connection.disconnect()


@pytest.fixture
async def platform(broker: DeviceBroker, city: str) -> AsyncIterator[DeviceConnection]:
    connection = await broker.connect(f"platform-{city}")
    yield connection
    await connection.disconnect()


@pytest.fixture
async def meter(
    broker: DeviceBroker, clock: FixedClock, city: str
) -> AsyncIterator[SimulatedMeter]:
    simulated = SimulatedMeter(broker, clock, city=city, meter_device_id=DEVICE, bays=4)
    await simulated.connect()
    yield simulated
    await simulated.shut_down()


async def command(
    platform: DeviceConnection, city: str, seq: int, color: LightColor, clock: FixedClock
) -> None:
    until = clock.now() + timedelta(hours=1) if color is LightColor.green else None
    payload = encode_command(LightCommand(seq, color, until, clock.now()))
    await platform.publish(MeterTopics(city).light_set(BAY), payload, qos=1, retain=True)


async def test_a_meter_announces_itself_with_a_retained_status_and_leaves_a_retained_will(
    broker: DeviceBroker, watcher: Watcher, meter: SimulatedMeter, city: str
) -> None:
    status_topic = MeterTopics(city).status(DEVICE)
    await eventually(lambda: bool(watcher.on(status_topic)))
    online = decode_status(watcher.on(status_topic)[0])
    assert (online.online, online.session, online.firmware, online.bays) == (
        True,
        meter.session,
        FIRMWARE,
        4,
    )
    session = meter.session

    await meter.power_cut()

    await eventually(lambda: len(watcher.on(status_topic)) == 2)
    will = json.loads(watcher.on(status_topic)[1])
    assert will == {"online": False, "session": session}
    # Retained: a platform that starts later still learns the meter is gone.
    late = Watcher()
    connection = await broker.connect(f"late-{city}")
    await connection.subscribe(status_topic, late)
    await eventually(lambda: bool(late.messages))
    assert late.messages[0].retain
    assert json.loads(late.messages[0].payload)["online"] is False
    await connection.disconnect()


async def test_switching_a_meter_off_says_offline_without_a_will(
    watcher: Watcher, meter: SimulatedMeter, city: str
) -> None:
    status_topic = MeterTopics(city).status(DEVICE)
    await eventually(lambda: bool(watcher.on(status_topic)))
    await meter.shut_down()
    await eventually(lambda: len(watcher.on(status_topic)) == 2)
    assert json.loads(watcher.on(status_topic)[1]) == {"online": False, "session": meter.session}
    await asyncio.sleep(0.1)
    assert len(watcher.on(status_topic)) == 2


async def test_a_meter_reports_every_bay_when_it_connects(
    watcher: Watcher, meter: SimulatedMeter, clock: FixedClock, city: str
) -> None:
    topics = MeterTopics(city)

    def reported_bays() -> list[int]:
        return [n for n in range(1, 5) if watcher.on(topics.light_state(BayLightKey(DEVICE, n)))]

    await eventually(lambda: reported_bays() == [1, 2, 3, 4])
    first = decode_report(watcher.on(topics.light_state(BAY))[0])
    assert (first.seq, first.color, first.at) == (0, LightColor.off, clock.now())


async def test_a_meter_applies_a_fresh_command_and_reports_what_the_bay_shows(
    watcher: Watcher,
    meter: SimulatedMeter,
    platform: DeviceConnection,
    clock: FixedClock,
    city: str,
) -> None:
    await command(platform, city, 4, LightColor.green, clock)
    await eventually(lambda: meter.shown(2) is LightColor.green)
    state_topic = MeterTopics(city).light_state(BAY)
    await eventually(lambda: any(decode_report(p).seq == 4 for p in watcher.on(state_topic)))
    report = decode_report(watcher.on(state_topic)[-1])
    assert (report.seq, report.color, report.at) == (4, LightColor.green, clock.now())
    assert meter.last_seq(2) == 4


async def test_a_meter_ignores_stale_commands_and_repeats_its_report_for_the_same_seq(
    watcher: Watcher,
    meter: SimulatedMeter,
    platform: DeviceConnection,
    clock: FixedClock,
    city: str,
) -> None:
    state_topic = MeterTopics(city).light_state(BAY)

    def seq_5() -> list[bytes]:
        return [p for p in watcher.on(state_topic) if decode_report(p).seq == 5]

    await command(platform, city, 5, LightColor.green, clock)
    await eventually(lambda: len(seq_5()) == 1)

    await command(platform, city, 3, LightColor.off, clock)
    await eventually(lambda: meter.ignored == 1)
    await command(platform, city, 5, LightColor.green, clock)
    await eventually(lambda: len(seq_5()) == 2)

    assert meter.shown(2) is LightColor.green
    assert meter.applied_count == 1
    assert seq_5()[0] == seq_5()[1]


async def test_a_meter_ignores_commands_for_bays_it_lacks_and_unreadable_ones(
    meter: SimulatedMeter, platform: DeviceConnection, clock: FixedClock, city: str
) -> None:
    topics = MeterTopics(city)
    await platform.publish(
        topics.light_set(BayLightKey(DEVICE, 7)),
        encode_command(LightCommand(1, LightColor.green, None, clock.now())),
    )
    await platform.publish(topics.light_set(BAY), b'{"seq": "one"}')
    await eventually(lambda: meter.ignored == 2)
    assert meter.shown(2) is LightColor.off


async def test_a_meter_goes_back_to_the_default_by_itself_when_until_passes(
    watcher: Watcher,
    meter: SimulatedMeter,
    platform: DeviceConnection,
    clock: FixedClock,
    city: str,
) -> None:
    await command(platform, city, 1, LightColor.green, clock)
    await eventually(lambda: meter.shown(2) is LightColor.green)
    assert await meter.tick() == 0

    clock.advance(timedelta(hours=1))

    assert await meter.tick() == 1
    assert meter.shown(2) is LightColor.off
    state_topic = MeterTopics(city).light_state(BAY)

    def reports() -> list[tuple[int, LightColor]]:
        return [(r.seq, r.color) for r in map(decode_report, watcher.on(state_topic))]

    await eventually(lambda: (1, LightColor.off) in reports())
    timed_out = decode_report(watcher.on(state_topic)[-1])
    # Same seq (no new command), the default color, since the moment `until` passed.
    assert (timed_out.seq, timed_out.color, timed_out.at) == (1, LightColor.off, clock.now())


async def test_a_meter_keeps_its_last_command_through_a_power_cut_and_takes_what_came_meanwhile(
    meter: SimulatedMeter, platform: DeviceConnection, clock: FixedClock, city: str
) -> None:
    await command(platform, city, 1, LightColor.green, clock)
    await eventually(lambda: meter.shown(2) is LightColor.green)
    await meter.power_cut()
    await command(platform, city, 2, LightColor.off, clock)
    assert meter.shown(2) is LightColor.green

    await meter.connect()

    await eventually(lambda: meter.last_seq(2) == 2)
    assert meter.shown(2) is LightColor.off


async def test_the_fleet_runs_every_meter_and_has_outages_it_recovers_from(
    broker: DeviceBroker, watcher: Watcher, clock: FixedClock, city: str
) -> None:
    async def three_meters() -> list[MeterSpec]:
        return [MeterSpec(f"PM-{n}", 8) for n in range(3)]

    fleet = MeterFleet(
        broker, clock, city=city, meters=three_meters, outage_every_s=0.05, outage_s=0.05
    )
    await fleet.start()
    try:
        assert sorted(fleet.meters) == ["PM-0", "PM-1", "PM-2"]
        assert all(meter.online for meter in fleet.meters.values())
        topics = MeterTopics(city)

        def statuses() -> list[bool]:
            return [
                json.loads(payload)["online"]
                for n in range(3)
                for payload in watcher.on(topics.status(f"PM-{n}"))
            ]

        # Some meter dropped (its will) and came back (online again).
        await eventually(lambda: statuses().count(False) >= 1 and statuses().count(True) >= 4)
    finally:
        await fleet.stop()
    assert not any(meter.online for meter in fleet.meters.values())


async def test_the_demo_simulates_one_meter_per_meter_in_the_inventory(
    container: Container,
) -> None:
    csv = "\n".join(
        [
            "device_id,zone_code,zone_name_fa,zone_name_en,district,street_fa,street_en,"
            "street_class,lon,lat,bays",
            "SIM-2,02-test,شهرک غرب,Test zone,2,خیابان ایران‌زمین,Iran Zamin,D,51.37,35.76,8",
            "SIM-1,02-test,شهرک غرب,Test zone,2,خیابان ایران‌زمین,Iran Zamin,D,51.371,35.761,6",
        ]
    )
    inventory = container.get(PARKING).inventory
    await load_meters(container.database, container.clock, inventory, records=parse_meter_file(csv))
    assert await inventory_meters(inventory) == [MeterSpec("SIM-1", 6), MeterSpec("SIM-2", 8)]
