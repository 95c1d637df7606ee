"""Simulated parking meters that behave like the device in `docs/devices.md`.

A `SimulatedMeter` connects with a retained last will, announces itself, takes the
retained light commands of its bays, applies only fresh ones (seq above the last applied),
reports what each bay shows, goes back to the default by itself when a command's `until`
passes, and can lose power or shut down and come back. `MeterFleet` runs a city's worth of
them in the demo, with the odd outage so the platform's re-sending is seen at work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from shahr.kernel.clock import Clock
from shahr.kernel.mqtt import DeviceBroker, DeviceConnection, DeviceMessage, Will
from shahr.kernel.tasks import cancel_and_wait
from shahr.parking.domain import (
    DEFAULT_COLOR,
    BayLightKey,
    LightColor,
    LightCommand,
    LightReport,
    is_fresh,
)
from shahr.parking.gateways import (
    MeterPayloadError,
    MeterStatus,
    MeterTopics,
    decode_command,
    encode_report,
    encode_status,
)
from shahr.parking.queries import InventoryCache

log = logging.getLogger(__name__)

FIRMWARE = "shahr-sim/1.0"
BAYS_PER_METER = 8


class SimulatedMeter:
    """One meter and its bays' lights, speaking the meter protocol over the broker."""

    def __init__(
        self,
        broker: DeviceBroker,
        clock: Clock,
        *,
        city: str,
        meter_device_id: str,
        bays: int = BAYS_PER_METER,
        client_id: str | None = None,
    ) -> None:
        self.meter_device_id = meter_device_id
        self.bays = bays
        self._broker = broker
        self._clock = clock
        self._topics = MeterTopics(city)
        self._client_id = client_id or f"meter-{city}-{meter_device_id}"
        self._connection: DeviceConnection | None = None
        # Reports go out from their own task, in order, so taking a command never waits on
        # the network, and a power cut is instant even with a report in flight.
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self.session: str | None = None
        # What survives a power cut, as a meter keeps it in flash: the last applied command.
        self._applied: dict[int, LightCommand] = {}
        self._showing: dict[int, LightReport] = {}
        self.ignored = 0
        """Commands not applied: stale seq, unreadable, or for a bay this meter lacks."""
        self.applied_count = 0

    @property
    def online(self) -> bool:
        return self._connection is not None

    def shown(self, bay_number: int) -> LightColor:
        """What the bay's light shows now."""
        showing = self._showing.get(bay_number)
        return DEFAULT_COLOR if showing is None else showing.color

    def last_seq(self, bay_number: int) -> int:
        command = self._applied.get(bay_number)
        return 0 if command is None else command.seq

    async def connect(self) -> None:
        """Power on: connect with the will, take the retained commands, announce, report."""
        if self._connection is not None:
            return
        self.session = uuid.uuid4().hex[:12]
        status_topic = self._topics.status(self.meter_device_id)
        will = Will(status_topic, encode_status(MeterStatus(online=False, session=self.session)))
        connection = await self._broker.connect(self._client_id, will=will)
        self._connection = connection
        self._outbox = asyncio.Queue()
        self._sender = asyncio.create_task(
            self._send_reports(connection, self._outbox), name=f"meter-{self.meter_device_id}"
        )
        await connection.subscribe(
            self._topics.light_set_filter(self.meter_device_id), self._on_command, qos=1
        )
        online = MeterStatus(
            online=True,
            session=self.session,
            firmware=FIRMWARE,
            at=self._clock.now(),
            bays=self.bays,
        )
        await connection.publish(status_topic, encode_status(online), qos=1, retain=True)
        # Every bay's light, as it shows now: off (seq 0) for a bay never commanded.
        for bay_number in range(1, self.bays + 1):
            if bay_number not in self._showing:
                self._showing[bay_number] = LightReport(0, DEFAULT_COLOR, self._clock.now())
            self._report(bay_number)

    async def power_cut(self) -> None:
        """Lose power: no goodbye, so the broker publishes the will; unsent reports are lost."""
        connection, self._connection = self._connection, None
        await self._stop_sender()
        if connection is not None:
            await connection.drop()

    async def shut_down(self) -> None:
        """Switch off politely: finish reporting, say offline (retained), then leave."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._outbox.join()
        await self._stop_sender()
        offline = MeterStatus(online=False, session=self.session)
        with contextlib.suppress(ConnectionError):
            await connection.publish(
                self._topics.status(self.meter_device_id),
                encode_status(offline),
                qos=1,
                retain=True,
            )
        await connection.disconnect()

    async def tick(self) -> int:
        """Go back to the default where a command's `until` has passed; returns how many."""
        now = self._clock.now()
        changed = 0
        for bay_number, command in list(self._applied.items()):
            showing = self._showing.get(bay_number)
            if (
                command.until is not None
                and now >= command.until
                and showing is not None
                and showing.color != DEFAULT_COLOR
            ):
                self._showing[bay_number] = LightReport(command.seq, DEFAULT_COLOR, command.until)
                changed += 1
                self._report(bay_number)
        return changed

    async def _on_command(self, message: DeviceMessage) -> None:
        if not message.payload:
            return
        try:
            key = self._topics.bay_of_light(message.topic, "set")
            command = decode_command(message.payload)
        except MeterPayloadError as error:
            self.ignored += 1
            log.warning("meter %s ignored a command: %s", self.meter_device_id, error)
            return
        if key.meter_device_id != self.meter_device_id or not 1 <= key.bay_number <= self.bays:
            self.ignored += 1
            return
        bay_number = key.bay_number
        if not is_fresh(command, self.last_seq(bay_number)):
            if command.seq < self.last_seq(bay_number):
                self.ignored += 1
            # The same seq again (a re-send after a reconnection): say once more what shows.
            elif bay_number in self._showing:
                self._report(bay_number)
            return
        now = self._clock.now()
        self._applied[bay_number] = command
        self._showing[bay_number] = LightReport(command.seq, command.color_at(now), now)
        self.applied_count += 1
        self._report(bay_number)

    def _report(self, bay_number: int) -> None:
        showing = self._showing.get(bay_number)
        if self._connection is None or showing is None:
            return
        topic = self._topics.light_state(BayLightKey(self.meter_device_id, bay_number))
        self._outbox.put_nowait((topic, encode_report(showing)))

    async def _send_reports(
        self, connection: DeviceConnection, outbox: asyncio.Queue[tuple[str, bytes]]
    ) -> None:
        while True:
            topic, payload = await outbox.get()
            try:
                await connection.publish(topic, payload, qos=1, retain=True)
            except ConnectionError as error:
                log.warning("meter %s could not report: %s", self.meter_device_id, error)
            finally:
                outbox.task_done()

    async def _stop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            await cancel_and_wait([sender])


@dataclass(frozen=True)
class MeterSpec:
    """A meter to simulate: its device id and how many bays it serves."""

    meter_device_id: str
    bays: int = BAYS_PER_METER


MeterSource = Callable[[], Awaitable[Sequence[MeterSpec]]]


class MeterFleet:
    """The demo's meters, one simulated meter each, with an occasional outage.

    Every `outage_every_s` (on average) one meter loses power for `outage_s`, then comes
    back: the platform shows it offline, then re-sends its bays' lights.
    """

    def __init__(
        self,
        broker: DeviceBroker,
        clock: Clock,
        *,
        city: str,
        meters: MeterSource,
        tick_s: float = 1.0,
        outage_every_s: float | None = 120.0,
        outage_s: float = 15.0,
        connect_concurrency: int = 50,
    ) -> None:
        self._broker = broker
        self._clock = clock
        self._city = city
        self._source = meters
        self._tick_s = tick_s
        self._outage_every_s = outage_every_s
        self._outage_s = outage_s
        self._connect_concurrency = connect_concurrency
        self.meters: dict[str, SimulatedMeter] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._random = random.Random()  # noqa: S311 - a demo's outages, not cryptography

    async def start(self) -> None:
        specs = await self._source()
        self.meters = {
            spec.meter_device_id: SimulatedMeter(
                self._broker,
                self._clock,
                city=self._city,
                meter_device_id=spec.meter_device_id,
                bays=spec.bays,
            )
            for spec in specs
        }
        gate = asyncio.Semaphore(self._connect_concurrency)

        async def power_on(meter: SimulatedMeter) -> None:
            async with gate:
                try:
                    await meter.connect()
                except (ConnectionError, OSError) as error:
                    log.warning("simulated meter %s stays dark: %s", meter.meter_device_id, error)

        await asyncio.gather(*(power_on(meter) for meter in self.meters.values()))
        self._tasks = [asyncio.create_task(self._run_ticks(), name="meter-fleet-ticks")]
        if self._outage_every_s and self.meters:
            self._tasks.append(asyncio.create_task(self._run_outages(), name="meter-outages"))
        log.info("%d simulated meters running", len(self.meters))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)
        for meter in self.meters.values():
            with contextlib.suppress(ConnectionError, OSError):
                await meter.shut_down()

    async def _run_ticks(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            for meter in list(self.meters.values()):
                if meter.online:
                    await meter.tick()

    async def _run_outages(self) -> None:
        every_s = self._outage_every_s or 120.0
        while True:
            await asyncio.sleep(self._random.expovariate(1 / every_s))
            meter = self._random.choice(list(self.meters.values()))
            if not meter.online:
                continue
            await meter.power_cut()
            await asyncio.sleep(self._outage_s)
            try:
                await meter.connect()
            except (ConnectionError, OSError) as error:
                log.warning(
                    "simulated meter %s did not come back: %s", meter.meter_device_id, error
                )


async def inventory_meters(inventory: InventoryCache) -> list[MeterSpec]:
    """One simulated meter per meter in the parking inventory, serving its numbered bays."""
    snapshot = await inventory.current()
    return [
        MeterSpec(meter.device_id, max((bay.number for bay in meter.bays), default=0))
        for meter in sorted(snapshot.meters.values(), key=lambda m: m.device_id)
    ]
