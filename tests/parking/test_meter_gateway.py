"""The meter gateway with a simulated meter, on the in-process broker and on real Mosquitto.

Every test runs on both brokers (the real one when `SHAHR_TEST_MQTT_URL` names it) and
both databases; on the real broker each test has a city of its own and clears the
retained messages it leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from prometheus_client import REGISTRY

from shahr import bootstrap
from shahr.bootstrap import Container
from shahr.demo.meters import SimulatedMeter
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.mqtt import (
    DeviceBroker,
    DeviceConnection,
    DeviceMessage,
    InProcessBroker,
    MqttBroker,
    Will,
)
from shahr.kernel.settings import Settings
from shahr.parking import mqtt_handlers
from shahr.parking.domain import (
    BayLight,
    BayLightKey,
    LightColor,
    LightCommand,
    LightReport,
    parse_meter_file,
)
from shahr.parking.events import ReservationConfirmed, ReservationEnded, ReservationExtended
from shahr.parking.gateways import (
    EVENT_GRACE,
    FakePayments,
    MeterGateway,
    MeterStatus,
    MeterTopics,
    StaticVehicleDirectory,
    decode_command,
    decode_report,
    encode_command,
)
from shahr.parking.persistence import bay_light, meter_presence
from shahr.parking.services import (
    PARKING,
    ParkingPorts,
    VerifiedPayment,
    end_reservation,
    load_meters,
    quote_bay,
    reserve,
    take_verified_payment,
)
from shahr.parking.wiring import METER_GATEWAY

PAYLOADS = Path(__file__).parent / "payloads"
DEVICE = "TEH-02-0001"
METER_ID = 21
BAY = BayLightKey(DEVICE, 3)
Condition = Callable[[], bool | Awaitable[bool]]


def service_url(request: pytest.FixtureRequest, service: str) -> str:
    """`service_url` from tests/conftest.py, which is a pytest plugin rather than a package."""
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    return cast(str, root.service_url(service))


async def eventually(condition: Condition, *, timeout_s: float = 5.0) -> None:
    """Poll until `condition()` holds (it may be async), failing the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = condition()
        if not isinstance(answer, bool):
            answer = await answer
        if answer:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout_s} s")
        await asyncio.sleep(0.01)


# --- a broker that can be taken down: in process behind a switch, or Mosquitto behind a proxy


class SwitchedBroker:
    """The in-process broker behind a switch: while down, no one connects and sessions drop."""

    def __init__(self, inner: InProcessBroker) -> None:
        self.inner = inner
        self.up = True
        self._connections: list[DeviceConnection] = []

    async def connect(self, client_id: str, *, will: Will | None = None) -> DeviceConnection:
        if not self.up:
            raise ConnectionError("the broker is down")
        connection = await self.inner.connect(client_id, will=will)
        self._connections.append(connection)
        return connection

    async def ping(self) -> None:
        if not self.up:
            raise ConnectionError("the broker is down")

    async def stop(self) -> None:
        return None

    async def go_down(self) -> None:
        self.up = False
        for connection in self._connections:
            await connection.drop()
        self._connections.clear()

    async def come_back(self) -> None:
        self.up = True


class TcpSwitch:
    """A TCP forwarder in front of the real broker: turning it off is the broker going away."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def go_up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def go_down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


@dataclass
class Outage:
    """What the gateway connects through, and how to take that broker down and back."""

    gateway_broker: DeviceBroker
    go_down: Callable[[], Awaitable[None]]
    come_back: Callable[[], Awaitable[None]]


# --- fixtures ---


@pytest.fixture
def city() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.mqtt)])
def broker_kind(request: pytest.FixtureRequest) -> str:
    return cast(str, request.param)


@pytest.fixture
async def broker(
    request: pytest.FixtureRequest, broker_kind: str, city: str
) -> AsyncIterator[DeviceBroker]:
    if broker_kind == "embedded":
        embedded = InProcessBroker()
        yield embedded
        await embedded.stop()
        return
    url = service_url(request, "mqtt")
    real = MqttBroker(url, timeout_s=5.0)
    yield real
    await real.stop()
    await clear_retained(MqttBroker(url, timeout_s=5.0), city)


async def clear_retained(broker: MqttBroker, city: str) -> None:
    """Empty every retained topic the test left under its city, so Mosquitto keeps nothing."""
    cleaner = await broker.connect(f"cleaner-{city}")
    retained: set[str] = set()

    async def note(message: DeviceMessage) -> None:
        if message.retain and message.payload:
            retained.add(message.topic)

    await cleaner.subscribe(f"shahr/{city}/#", note)
    await asyncio.sleep(0.3)
    for topic in retained:
        await cleaner.publish(topic, b"", retain=True)
    await broker.stop()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=database_url).sqlalchemy_url)
    yield database
    await database.dispose()


def make_gateway(
    broker: DeviceBroker, database: Database, clock: FixedClock, city: str
) -> MeterGateway:
    gateway = MeterGateway(
        broker,
        database,
        clock,
        city=city,
        retry_s=0.05,
        publish_timeout_s=2.0,
        max_sleep_s=0.05,
    )
    mqtt_handlers.install(gateway)
    return gateway


@pytest.fixture
async def gateway(
    broker: DeviceBroker, database: Database, clock: FixedClock, city: str
) -> AsyncIterator[MeterGateway]:
    started = make_gateway(broker, database, clock, city)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def meter(
    broker: DeviceBroker, clock: FixedClock, city: str
) -> AsyncIterator[SimulatedMeter]:
    simulated = SimulatedMeter(broker, clock, city=city, meter_device_id=DEVICE, bays=8)
    await simulated.connect()
    yield simulated
    await simulated.shut_down()


async def confirm(
    gateway: MeterGateway,
    clock: FixedClock,
    reservation_id: str = "r-1",
    *,
    bay_number: int = 3,
    start_min: float = 0,
    minutes: float = 60,
) -> None:
    starts_at = clock.now() + timedelta(minutes=start_min)
    await gateway.reservation_confirmed(
        ReservationConfirmed(
            reservation_id=reservation_id,
            bay_id=100 + bay_number,
            meter_id=METER_ID,
            meter_device_id=DEVICE,
            bay_number=bay_number,
            plate="12B34567",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
        )
    )


async def stored(database: Database, key: BayLightKey = BAY) -> BayLight:
    light = await bay_light(database, key)
    assert light is not None, f"no light recorded for {key}"
    return light


def reported(database: Database, seq: int, color: LightColor, key: BayLightKey = BAY) -> Condition:
    async def check() -> bool:
        light = await bay_light(database, key)
        return (
            light is not None
            and light.reported is not None
            and (light.reported.seq, light.reported.color) == (seq, color)
        )

    return check


def presence_is(database: Database, online: bool) -> Condition:
    async def check() -> bool:
        presence = await meter_presence(database, DEVICE)
        return presence is not None and presence.online is online

    return check


# --- the journey of one light ---


async def test_a_confirmed_reservation_sets_a_retained_green_that_the_meter_applies_and_reports(
    gateway: MeterGateway,
    meter: SimulatedMeter,
    broker: DeviceBroker,
    database: Database,
    clock: FixedClock,
    city: str,
) -> None:
    await confirm(gateway, clock)

    await eventually(lambda: meter.shown(3) is LightColor.green)
    await eventually(reported(database, 1, LightColor.green))
    light = await stored(database)
    until = clock.now() + timedelta(minutes=60)
    assert light.desired == LightCommand(1, LightColor.green, until, clock.now())
    assert light.reported == LightReport(1, LightColor.green, clock.now())
    assert (light.pending, light.meter_id, light.in_step(clock.now())) == (False, METER_ID, True)

    # Retained at QoS 1: whoever subscribes later (the meter after a reboot) gets it.
    late = await broker.connect(f"late-{city}")
    seen: list[DeviceMessage] = []

    async def keep(message: DeviceMessage) -> None:
        seen.append(message)

    await late.subscribe(MeterTopics(city).light_set(BAY), keep)
    await eventually(lambda: bool(seen))
    assert seen[0].retain
    assert seen[0].qos == 1
    assert decode_command(seen[0].payload) == light.desired
    await late.disconnect()


async def test_a_meter_ignores_a_command_whose_seq_is_not_above_the_last_it_applied(
    gateway: MeterGateway,
    meter: SimulatedMeter,
    broker: DeviceBroker,
    database: Database,
    clock: FixedClock,
    city: str,
) -> None:
    await confirm(gateway, clock, minutes=60)
    await gateway.reservation_extended(
        ReservationExtended(
            reservation_id="r-1",
            meter_id=METER_ID,
            meter_device_id=DEVICE,
            bay_number=3,
            ends_at=clock.now() + timedelta(minutes=90),
        )
    )
    await eventually(lambda: meter.last_seq(3) == 2)
    stale = LightCommand(1, LightColor.off, None, clock.now())
    rogue = await broker.connect(f"rogue-{city}")
    # Not retained, so the platform's retained seq 2 stays what the broker keeps.
    await rogue.publish(MeterTopics(city).light_set(BAY), encode_command(stale), qos=1)
    await eventually(lambda: meter.ignored == 1)
    assert meter.shown(3) is LightColor.green
    assert meter.last_seq(3) == 2
    await rogue.disconnect()


async def test_a_meter_that_loses_power_is_shown_offline_by_its_will(
    gateway: MeterGateway, meter: SimulatedMeter, database: Database
) -> None:
    await eventually(presence_is(database, True))
    await meter.power_cut()
    await eventually(presence_is(database, False))


async def test_a_meter_that_comes_back_is_sent_its_lights_again_and_applies_them(
    gateway: MeterGateway,
    meter: SimulatedMeter,
    broker: DeviceBroker,
    database: Database,
    clock: FixedClock,
    city: str,
) -> None:
    await eventually(presence_is(database, True))
    await meter.power_cut()
    await eventually(presence_is(database, False))
    await confirm(gateway, clock)
    # The broker loses its retained copy (a restart without persistence): only the
    # gateway's re-send can bring the command to the meter now.
    wiper = await broker.connect(f"wiper-{city}")
    await wiper.publish(MeterTopics(city).light_set(BAY), b"", retain=True)
    await wiper.disconnect()

    await meter.connect()

    await eventually(lambda: meter.shown(3) is LightColor.green)
    await eventually(reported(database, 1, LightColor.green))
    await eventually(presence_is(database, True))


async def test_when_the_window_ends_the_light_goes_back_to_off_by_the_schedule(
    gateway: MeterGateway, meter: SimulatedMeter, database: Database, clock: FixedClock
) -> None:
    await confirm(gateway, clock, minutes=60)
    await eventually(reported(database, 1, LightColor.green))
    assert gateway.next_scheduled_at() == clock.now() + timedelta(minutes=60)

    clock.advance(timedelta(minutes=60))

    # No call from the test: the gateway's own schedule task notices the time has come.
    await eventually(reported(database, 2, LightColor.off))
    light = await stored(database)
    assert (light.desired.color, light.desired.until, light.desired.seq) == (
        LightColor.off,
        None,
        2,
    )
    assert meter.shown(3) is LightColor.off


async def test_a_future_window_turns_green_only_when_it_starts(
    gateway: MeterGateway, meter: SimulatedMeter, database: Database, clock: FixedClock
) -> None:
    await confirm(gateway, clock, start_min=30, minutes=60)
    light = await stored(database)
    assert (light.desired.seq, light.desired.color) == (0, LightColor.off)
    assert gateway.next_scheduled_at() == clock.now() + timedelta(minutes=30)

    clock.advance(timedelta(minutes=30))
    assert await gateway.run_due() == 1

    await eventually(reported(database, 1, LightColor.green))


async def test_ending_a_stay_early_turns_the_light_off_at_once(
    gateway: MeterGateway, meter: SimulatedMeter, database: Database, clock: FixedClock
) -> None:
    await confirm(gateway, clock, minutes=120)
    await eventually(reported(database, 1, LightColor.green))
    clock.advance(timedelta(minutes=20))

    for _ in range(2):  # the bus delivers at least once
        await gateway.reservation_ended(
            ReservationEnded(
                reservation_id="r-1",
                meter_id=METER_ID,
                meter_device_id=DEVICE,
                bay_number=3,
                ended_at=clock.now(),
                reason="ended_early",
            )
        )

    await eventually(reported(database, 2, LightColor.off))
    assert (await stored(database)).desired.seq == 2


async def test_a_meter_cut_off_goes_back_to_default_by_itself_when_until_passes(
    gateway: MeterGateway, meter: SimulatedMeter, database: Database, clock: FixedClock
) -> None:
    await confirm(gateway, clock, minutes=60)
    await eventually(lambda: meter.shown(3) is LightColor.green)
    await meter.power_cut()
    clock.advance(timedelta(minutes=61))

    assert await meter.tick() == 1
    assert meter.shown(3) is LightColor.off

    await meter.connect()
    # Back online, the meter takes the platform's later "off" (seq 2) and says so.
    await eventually(reported(database, 2, LightColor.off))


async def test_a_restarted_gateway_keeps_counting_seqs_and_catches_up_with_the_schedule(
    broker: DeviceBroker,
    meter: SimulatedMeter,
    database: Database,
    clock: FixedClock,
    city: str,
) -> None:
    first = make_gateway(broker, database, clock, city)
    await first.start()
    await confirm(first, clock, minutes=60)
    await eventually(reported(database, 1, LightColor.green))
    await first.stop()

    clock.advance(timedelta(minutes=75))  # the window ended while no gateway ran
    second = make_gateway(broker, database, clock, city)
    await second.start()
    try:
        await eventually(reported(database, 2, LightColor.off))
        await confirm(second, clock, "r-2", minutes=30)
        await eventually(reported(database, 3, LightColor.green))
    finally:
        await second.stop()


# --- the broker going away ---


@pytest.fixture
async def outage(
    request: pytest.FixtureRequest, broker_kind: str, broker: DeviceBroker
) -> AsyncIterator[Outage]:
    if broker_kind == "embedded":
        assert isinstance(broker, InProcessBroker)
        switched = SwitchedBroker(broker)
        yield Outage(switched, switched.go_down, switched.come_back)
        return
    url = service_url(request, "mqtt")
    host, port = url.removeprefix("mqtt://").split(":")
    switch = TcpSwitch(host, int(port))
    await switch.go_up()
    behind = MqttBroker(f"mqtt://127.0.0.1:{switch.port}", timeout_s=1.0)
    yield Outage(behind, switch.go_down, switch.go_up)
    await behind.stop()
    await switch.go_down()


async def test_while_the_broker_is_down_a_light_waits_as_pending_and_goes_out_when_it_is_back(
    outage: Outage, meter: SimulatedMeter, database: Database, clock: FixedClock, city: str
) -> None:
    gateway = make_gateway(outage.gateway_broker, database, clock, city)
    await gateway.start()
    try:
        await eventually(presence_is(database, True))
        await outage.go_down()

        await asyncio.wait_for(confirm(gateway, clock), timeout=5)

        light = await stored(database)
        assert (light.desired.seq, light.desired.color, light.pending) == (
            1,
            LightColor.green,
            True,
        )
        assert meter.shown(3) is LightColor.off
        await outage.come_back()
        await eventually(lambda: meter.shown(3) is LightColor.green, timeout_s=10)
        await eventually(reported(database, 1, LightColor.green))
        assert not (await stored(database)).pending
    finally:
        await gateway.stop()


async def test_a_gateway_starting_while_the_broker_is_down_starts_and_catches_up_later(
    outage: Outage, meter: SimulatedMeter, database: Database, clock: FixedClock, city: str
) -> None:
    await outage.go_down()
    gateway = make_gateway(outage.gateway_broker, database, clock, city)
    await asyncio.wait_for(gateway.start(), timeout=10)
    try:
        assert not gateway.connected
        await confirm(gateway, clock)
        assert (await stored(database)).pending
        await outage.come_back()
        await eventually(reported(database, 1, LightColor.green), timeout_s=10)
    finally:
        await gateway.stop()


# --- what meters send, replayed ---


def rejected(kind: str) -> float:
    return REGISTRY.get_sample_value("shahr_meter_messages_rejected_total", {"kind": kind}) or 0.0


async def test_recorded_meter_payloads_replayed_twice_are_recorded_once(
    gateway: MeterGateway, broker: DeviceBroker, database: Database, city: str
) -> None:
    topics = MeterTopics(city)
    device = await broker.connect(f"recorded-{city}")
    status = (PAYLOADS / "status_online.json").read_bytes()
    green = (PAYLOADS / "light_state_green.json").read_bytes()
    snapshots = []
    for round_number in (1, 2):
        await device.publish(topics.status(DEVICE), status, retain=True)
        await device.publish(topics.light_state(BAY), green, retain=True)
        # A marker on another bay: once it is recorded, everything before it was handled.
        marker = BayLightKey(DEVICE, 8)
        marker_report = f'{{"seq":{round_number},"color":"off","at":"2026-11-26T06:31:00Z"}}'
        await device.publish(topics.light_state(marker), marker_report.encode())
        await eventually(reported(database, round_number, LightColor.off, marker))
        await eventually(desired_seq(database, BAY, 2))
        light = await stored(database)
        snapshots.append((light.reported, light.desired, await meter_presence(database, DEVICE)))
    assert snapshots[0] == snapshots[1]
    report, desired, presence = snapshots[0]
    assert report == decode_report(green)
    # The platform never asked for green: it says off again, above the meter's seq.
    assert (desired.color, desired.seq) == (LightColor.off, 2)
    assert presence is not None
    assert (presence.online, presence.session) == (True, "7d1e0c95a4f2")
    await device.disconnect()


async def test_a_recorded_meter_session_replayed_twice_leaves_the_same_record(
    gateway: MeterGateway, broker: DeviceBroker, database: Database, city: str
) -> None:
    """A session recorded from Mosquitto (status, commands, reports, will, reconnect, off)."""
    session = [
        json.loads(line)
        for line in (PAYLOADS / "meter_session_mosquitto.jsonl").read_text().splitlines()
    ]
    device = await broker.connect(f"replay-{city}")
    key = BayLightKey("TEH-02-0001", 3)
    snapshots = []
    for round_number in (1, 2):
        for message in session:
            payload = json.dumps(message["payload"], separators=(",", ":")).encode()
            await device.publish(f"shahr/{city}/{message['topic']}", payload)
        marker = BayLightKey("TEH-02-0001", 8)
        marker_report = f'{{"seq":{round_number},"color":"off","at":"2026-11-26T07:30:00Z"}}'
        await device.publish(MeterTopics(city).light_state(marker), marker_report.encode())
        await eventually(reported(database, round_number, LightColor.off, marker))
        light = await stored(database, key)
        presence = await meter_presence(database, "TEH-02-0001")
        snapshots.append((light.reported, presence.online if presence else None))
    assert snapshots[0] == snapshots[1]
    report, online = snapshots[0]
    assert report is not None
    assert (report.seq, report.color, online) == (1, LightColor.green, False)
    await device.disconnect()


async def test_unreadable_meter_messages_are_dropped_and_counted_and_change_nothing(
    gateway: MeterGateway, broker: DeviceBroker, database: Database, city: str
) -> None:
    topics = MeterTopics(city)
    device = await broker.connect(f"broken-{city}")
    before = rejected("light_state"), rejected("status")
    await device.publish(
        topics.light_state(BAY), (PAYLOADS / "light_state_bad_color.json").read_bytes()
    )
    await device.publish(topics.status(DEVICE), b'{"online": "maybe"}')
    await device.publish(f"{topics.root}/{DEVICE}/bays/zero/light/state", b"{}")
    await eventually(
        lambda: (rejected("light_state"), rejected("status")) == (before[0] + 2, before[1] + 1)
    )
    assert await bay_light(database, BAY) is None
    assert await meter_presence(database, DEVICE) is None
    await device.disconnect()


# --- through the app: a verified payment, the bus, the gateway, the meter, the API ---

E2E_METERS_CSV = "\n".join(
    [
        "device_id,zone_code,zone_name_fa,zone_name_en,district,street_fa,street_en,"
        "street_class,lon,lat,bays,bay_kinds",
        "LIGHT-A1,02-test,شهرک غرب,Test zone,2,خیابان ایران‌زمین,Iran Zamin Street,D,"
        "51.37000,35.76000,8,",
    ]
)
CITIZEN = "citizen-lights-1"
PLATE = "12B345-67"


def citizen_ports(container: Container, *, bus: EventBus | None = None) -> ParkingPorts:
    """Parking's ports as the app has them, with the citizen's car, payments that tests
    deliver, and (given) a bus of the test's own."""
    ports: ParkingPorts = container.get(PARKING)
    vehicles = StaticVehicleDirectory()
    vehicles.add(CITIZEN, PLATE, "car")
    return dataclasses.replace(
        ports, payments=FakePayments(), vehicles=vehicles, bus=bus or ports.bus
    )


class LostEvents(EventBus):
    """A bus whose events never arrive: the process stopped between a commit and its event."""

    def __init__(self, container: Container) -> None:
        super().__init__(container.stream, city=container.settings.city)
        self.lost: list[object] = []

    async def publish(self, event: object) -> None:
        self.lost.append(event)


async def pay_for_bay(
    container: Container, bay_number: int, *, minutes: int, ports: ParkingPorts | None = None
) -> int:
    """Load a meter, reserve its bay from now and deliver the verified payment; its meter id."""
    ports = ports or citizen_ports(container)
    await load_meters(
        container.database,
        container.clock,
        ports.inventory,
        records=parse_meter_file(E2E_METERS_CSV),
    )
    snapshot = await ports.inventory.current()
    meter = next(m for m in snapshot.meters.values() if m.device_id == "LIGHT-A1")
    bay = next(b for b in meter.bays if b.number == bay_number)
    now = container.clock.now()
    quote = await quote_bay(
        ports,
        citizen_id=CITIZEN,
        bay_id=bay.id,
        plate=PLATE,
        starts_at=now,
        ends_at=now + timedelta(minutes=minutes),
    )
    await reserve(ports, citizen_id=CITIZEN, quote_token=quote.token)
    assert isinstance(ports.payments, FakePayments)
    asked = ports.payments.requested[-1]
    outcome = await take_verified_payment(
        ports,
        VerifiedPayment(
            payment_id=asked["payment_id"],
            citizen_id=CITIZEN,
            purpose=asked["purpose"],
            reference=asked["reference"],
            amount_rial=asked["amount_rial"],
            verified_at=now,
        ),
    )
    assert outcome == "confirmed"
    return meter.id


@pytest.fixture
async def container(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    """The app's container as a process that runs jobs has it: with the meter gateway."""
    built = bootstrap.build(settings.model_copy(update={"run_jobs": True}), clock=clock)
    assert isinstance(built.get(METER_GATEWAY), MeterGateway)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture
async def app_meter(container: Container, clock: FixedClock) -> AsyncIterator[SimulatedMeter]:
    simulated = SimulatedMeter(
        container.broker, clock, city=container.settings.city, meter_device_id="LIGHT-A1"
    )
    await simulated.connect()
    yield simulated
    await simulated.shut_down()


def sse_events(body: str) -> list[dict[str, Any]]:
    return [
        json.loads(frame.split("data: ", 1)[1])
        for frame in body.split("\n\n")
        if frame.startswith("event: lights\n")
    ]


async def test_a_verified_payment_turns_the_light_green_and_the_api_shows_desired_and_reported(
    container: Container, app_meter: SimulatedMeter, client: httpx.AsyncClient
) -> None:
    meter_id = await pay_for_bay(container, 2, minutes=60)

    await eventually(lambda: app_meter.shown(2) is LightColor.green)
    database = container.database
    await eventually(reported(database, 1, LightColor.green, BayLightKey("LIGHT-A1", 2)))
    await eventually(reported(database, 0, LightColor.off, BayLightKey("LIGHT-A1", 1)))
    answer = await client.get(f"/api/v1/parking/meters/{meter_id}/lights")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["meter_device_id"], body["online"]) == ("LIGHT-A1", True)
    assert [bay["bay_number"] for bay in body["bays"]] == list(range(1, 9))
    bay = body["bays"][1]
    assert bay["desired"]["color"] == "green"
    assert (bay["desired"]["seq"], bay["desired"]["pending"]) == (1, False)
    assert (bay["reported"]["color"], bay["reported"]["seq"]) == ("green", 1)
    assert (bay["in_step"], bay["state"]) == (True, "shown")
    assert bay["message"] == "چراغ جایگاه سبز است: جایگاه رزرو شده است."
    untouched = body["bays"][0]
    assert (untouched["desired"]["color"], untouched["desired"]["seq"]) == ("off", 0)
    # Reported when the meter connected, before any reservation named its meter id.
    assert (untouched["reported"]["color"], untouched["reported"]["seq"]) == ("off", 0)
    assert (untouched["in_step"], untouched["state"]) == (True, "shown")


async def test_the_stream_shows_the_light_turning_green_live(
    container: Container, app_meter: SimulatedMeter, client: httpx.AsyncClient
) -> None:
    await load_meters(
        container.database,
        container.clock,
        container.get(PARKING).inventory,
        records=parse_meter_file(E2E_METERS_CSV),
    )
    snapshot = await container.get(PARKING).inventory.current()
    meter_id = next(m.id for m in snapshot.meters.values() if m.device_id == "LIGHT-A1")
    watching = asyncio.create_task(
        client.get(f"/api/v1/parking/meters/{meter_id}/lights/stream", params={"max_s": 2})
    )
    await asyncio.sleep(0.6)
    await pay_for_bay(container, 5, minutes=60)

    answer = await watching

    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("retry: 2000\n\n")
    frames = sse_events(answer.text)
    states = [(f["bays"][4]["desired"]["color"], f["bays"][4]["state"]) for f in frames]
    assert states[0] == ("off", "shown")
    assert states[-1] == ("green", "shown")


async def test_the_lights_of_a_meter_that_does_not_exist_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/api/v1/parking/meters/987654/lights")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    stream = await client.get("/api/v1/parking/meters/987654/lights/stream")
    assert stream.status_code == 404


async def test_a_confirmation_whose_event_was_lost_still_turns_the_light_green(
    container: Container, app_meter: SimulatedMeter, clock: FixedClock
) -> None:
    gateway = container.get(METER_GATEWAY)
    bus = LostEvents(container)
    await pay_for_bay(container, 4, minutes=60, ports=citizen_ports(container, bus=bus))
    assert [type(event) for event in bus.lost] == [ReservationConfirmed]
    before = lights_caught_up()

    # Within the grace the event may still be on its way: nothing is taken for lost.
    assert await gateway.catch_up() == 0
    clock.advance(EVENT_GRACE + timedelta(seconds=1))
    assert await gateway.catch_up() == 1

    await eventually(lambda: app_meter.shown(4) is LightColor.green)
    await eventually(reported(container.database, 1, LightColor.green, BayLightKey("LIGHT-A1", 4)))
    assert lights_caught_up() - before == 1
    # Caught up once: the next pass finds nothing behind, and the late event changes nothing.
    assert await gateway.catch_up() == 0
    await gateway.reservation_confirmed(cast(ReservationConfirmed, bus.lost[0]))
    light = await bay_light(container.database, BayLightKey("LIGHT-A1", 4))
    assert light is not None
    assert (light.desired.color, light.desired.seq) == (LightColor.green, 1)


async def test_an_early_end_whose_event_was_lost_still_turns_the_light_off(
    container: Container, app_meter: SimulatedMeter, clock: FixedClock
) -> None:
    gateway = container.get(METER_GATEWAY)
    bus = LostEvents(container)
    ports = citizen_ports(container)
    await pay_for_bay(container, 6, minutes=120, ports=ports)
    await eventually(lambda: app_meter.shown(6) is LightColor.green)
    reservation_id = cast(FakePayments, ports.payments).requested[-1]["reference"]
    clock.advance(timedelta(minutes=20))

    await end_reservation(
        dataclasses.replace(ports, bus=bus), citizen_id=CITIZEN, reservation_id=reservation_id
    )
    assert [type(event) for event in bus.lost] == [ReservationEnded]
    assert app_meter.shown(6) is LightColor.green
    clock.advance(EVENT_GRACE + timedelta(seconds=1))
    assert await gateway.catch_up() == 1

    await eventually(lambda: app_meter.shown(6) is LightColor.off)
    await eventually(reported(container.database, 2, LightColor.off, BayLightKey("LIGHT-A1", 6)))
    assert await gateway.catch_up() == 0


def lights_caught_up() -> float:
    return REGISTRY.get_sample_value("shahr_parking_light_windows_caught_up_total") or 0.0


async def test_a_meter_offline_is_said_so_while_its_light_waits(
    container: Container, app_meter: SimulatedMeter, client: httpx.AsyncClient
) -> None:
    await eventually(reported(container.database, 0, LightColor.off, BayLightKey("LIGHT-A1", 3)))
    await app_meter.power_cut()
    await eventually(presence_is_device(container.database, "LIGHT-A1", False))
    meter_id = await pay_for_bay(container, 3, minutes=60)
    # The broker is up, only the meter is dark: the command leaves the platform (sent, not
    # pending), and what stays in the way is the meter.
    await eventually(sent_seq(container.database, BayLightKey("LIGHT-A1", 3), 1))
    client.cookies.set("lang", "en")

    body = (await client.get(f"/api/v1/parking/meters/{meter_id}/lights")).json()

    assert body["online"] is False
    bay = body["bays"][2]
    assert (bay["desired"]["color"], bay["state"]) == ("green", "meter_offline")
    # What the meter said before it went dark: off, no command yet.
    assert (bay["reported"]["color"], bay["reported"]["seq"]) == ("off", 0)
    assert bay["message"].startswith("The meter is offline")


def presence_is_device(database: Database, device: str, online: bool) -> Condition:
    async def check() -> bool:
        presence = await meter_presence(database, device)
        return presence is not None and presence.online is online

    return check


def sent_seq(database: Database, key: BayLightKey, seq: int) -> Condition:
    async def check() -> bool:
        light = await bay_light(database, key)
        return light is not None and light.desired.seq == seq and light.sent_seq >= seq

    return check


def desired_seq(database: Database, key: BayLightKey, seq: int) -> Condition:
    async def check() -> bool:
        light = await bay_light(database, key)
        return light is not None and light.desired.seq == seq

    return check


# --- stopping ---


@pytest.mark.parametrize("settle_s", [0.0, 0.001, 0.005, 0.02])
async def test_what_meters_said_just_before_the_gateway_stops_is_recorded_without_an_error(
    broker: DeviceBroker,
    database: Database,
    clock: FixedClock,
    city: str,
    caplog: pytest.LogCaptureFixture,
    settle_s: float,
) -> None:
    # The demo's meters going offline as the server stops: their wills arrive while the
    # gateway shuts down, and used to be cut off half-way through being written.
    caplog.set_level(logging.WARNING)
    gateway = make_gateway(broker, database, clock, city)
    await gateway.start()
    devices = [f"TEH-02-{n:04d}" for n in range(1, 301)]
    for device in devices:
        gateway.take_status(device, MeterStatus(online=True, session="s-1"))
    await asyncio.sleep(settle_s)  # stopping at once, or while a batch is being written

    await gateway.stop()

    presences = [await meter_presence(database, device) for device in devices]
    assert [p.meter_device_id for p in presences if p is not None and p.online] == devices
    assert [record.getMessage() for record in caplog.records] == []
