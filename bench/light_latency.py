"""From payment verified to the bay light reported green, on the real broker.

Claim (issue 3): p99 under 1 s with 2,000 simulated meters (16,000 bays) on Mosquitto.

What runs: the meter gateway of the app (`MeterGateway` with its MQTT handlers, on
PostgreSQL when `psql` can make a database, else SQLite) and, in separate processes,
2,000 simulated meters (`shahr.demo.meters.SimulatedMeter`), each its own MQTT
connection to Mosquitto. Once every meter is online, one `ReservationConfirmed` per bay
(16,000) is published on the app's event bus (the in-process stream, as in the embedded
app) at a steady rate; the gateway's bus handler decides the desired light, publishes it
(retained, QoS 1), the meter applies it and reports, and the gateway records the report.

Not in the measured path: the payment itself and the booking transaction that emits
`ReservationConfirmed` (their cost is measured by the booking benchmark); the gateway is
driven from the events directly, as a verified payment would drive it through parking.
Latency of one bay = from `bus.publish(ReservationConfirmed)` to the gateway having
recorded the meter's green report in the database; its parts are event -> command
accepted by the broker (PUBACK) and command accepted -> report recorded, the latter split at
the report reaching the gateway (the meter and the broker before, the recorder after). The
baseline, in the same run: the broker's own publish -> receive round trip (QoS 1, between
two clients of this process), 100 times before the events and every 50 ms while they run.

    .venv/bin/python bench/light_latency.py [--meters 2000] [--rate 400] [--database sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import postgres_url, save
from shahr.demo.meters import SimulatedMeter
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import SystemClock
from shahr.kernel.db import Database
from shahr.kernel.mqtt import (
    DeviceBroker,
    DeviceConnection,
    DeviceMessage,
    MessageHandler,
    MqttBroker,
    Will,
)
from shahr.kernel.settings import Settings
from shahr.kernel.stream import InProcessStream
from shahr.kernel.tasks import cancel_and_wait
from shahr.parking import mqtt_handlers
from shahr.parking.domain import BayLightKey, LightColor, LightReport
from shahr.parking.events import ReservationConfirmed
from shahr.parking.gateways import LIGHT_EVENT_WORKERS, MeterGateway, MeterTopics
from shahr.startup import upgrade_database

BROKER_URL = os.environ.get("SHAHR_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")
# The baseline: publish -> receive through the broker, before the events and during them.
PROBES_IDLE = 100
PROBE_EVERY_S = 0.05


def device_id(n: int) -> str:
    return f"BENCH-{n:05d}"


# --- the meters, in their own processes --------------------------------------------------------


async def run_meters(city: str, first: int, count: int, bays: int) -> None:
    """Connect `count` simulated meters, say "ready", and run until stdin closes."""
    broker = MqttBroker(BROKER_URL, timeout_s=30.0)
    clock = SystemClock()
    meters = [
        SimulatedMeter(broker, clock, city=city, meter_device_id=device_id(n), bays=bays)
        for n in range(first, first + count)
    ]
    gate = asyncio.Semaphore(50)

    async def power_on(meter: SimulatedMeter) -> None:
        async with gate:
            await meter.connect()

    await asyncio.gather(*(power_on(m) for m in meters))
    print(f"ready {count}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the driver closes stdin to stop us
    applied = sum(m.applied_count for m in meters)
    ignored = sum(m.ignored for m in meters)
    for meter in meters:
        await meter.shut_down()
    await broker.stop()
    print(f"done applied={applied} ignored={ignored}", flush=True)


# --- the platform side -------------------------------------------------------------------------


@dataclass
class Timings:
    handed: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)
    arrived: dict[BayLightKey, float] = field(default_factory=dict)
    reported: dict[BayLightKey, float] = field(default_factory=dict)


class TimingGateway(MeterGateway):
    """The gateway, noting when each green report reached it (before it is recorded)."""

    timings: Timings

    def take_report(self, key: BayLightKey, report: LightReport) -> None:
        if report.color is LightColor.green:
            self.timings.arrived.setdefault(key, time.monotonic())
        super().take_report(key, report)


class TimingConnection:
    """The gateway's connection, noting when the broker accepted each light command."""

    def __init__(self, inner: DeviceConnection, timings: Timings) -> None:
        self.client_id = inner.client_id
        self._inner = inner
        self._timings = timings

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        self._timings.handed.setdefault(topic, time.monotonic())
        await self._inner.publish(topic, payload, qos=qos, retain=retain)
        self._timings.published.setdefault(topic, time.monotonic())

    async def subscribe(self, topic_filter: str, handler: MessageHandler, *, qos: int = 1) -> None:
        await self._inner.subscribe(topic_filter, handler, qos=qos)

    async def disconnect(self) -> None:
        await self._inner.disconnect()

    async def drop(self) -> None:
        await self._inner.drop()


class TimingBroker:
    def __init__(self, inner: DeviceBroker, timings: Timings) -> None:
        self._inner = inner
        self._timings = timings

    async def connect(self, client_id: str, *, will: Will | None = None) -> DeviceConnection:
        return TimingConnection(await self._inner.connect(client_id, will=will), self._timings)

    async def ping(self) -> None:
        await self._inner.ping()

    async def stop(self) -> None:
        await self._inner.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def clear_city(city: str, meters: int, bays: int) -> int:
    """Empty every retained topic the run used, so the broker keeps nothing of it."""
    topics = MeterTopics(city)
    broker = MqttBroker(BROKER_URL, timeout_s=30.0)
    cleaner = await broker.connect(f"bench-cleaner-{city}")
    cleared = 0
    for n in range(meters):
        names = [topics.status(device_id(n))]
        for bay in range(1, bays + 1):
            key = BayLightKey(device_id(n), bay)
            names += [topics.light_set(key), topics.light_state(key)]
        for name in names:  # QoS 0: nothing to wait for, and in order on one connection
            await cleaner.publish(name, b"", qos=0, retain=True)
        cleared += len(names)
    await broker.stop()
    return cleared


class BrokerProbe:
    """The baseline: the broker's own publish -> receive round trip (QoS 1, one client
    publishing, another subscribed), sampled in the same run as the lights."""

    def __init__(self, city: str) -> None:
        self._broker = MqttBroker(BROKER_URL, timeout_s=30.0)
        self._topic = f"shahr/{city}/bench/probe"
        self._sent: dict[bytes, float] = {}
        self._arrived: asyncio.Queue[float] = asyncio.Queue()
        self._n = 0

    async def start(self) -> None:
        self._publisher = await self._broker.connect(f"bench-probe-pub-{uuid.uuid4().hex[:8]}")
        self._subscriber = await self._broker.connect(f"bench-probe-sub-{uuid.uuid4().hex[:8]}")

        async def arrived(message: DeviceMessage) -> None:
            sent = self._sent.pop(message.payload, None)
            if sent is not None:
                self._arrived.put_nowait(time.monotonic() - sent)

        await self._subscriber.subscribe(self._topic, arrived, qos=1)

    async def round_trip(self) -> float:
        self._n += 1
        payload = str(self._n).encode()
        self._sent[payload] = time.monotonic()
        await self._publisher.publish(self._topic, payload, qos=1)
        async with asyncio.timeout(30):
            return await self._arrived.get()

    async def sample(self, count: int) -> list[float]:
        return [await self.round_trip() for _ in range(count)]

    async def sample_every(self, interval_s: float, into: list[float]) -> None:
        while True:
            into.append(await self.round_trip())
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        await self._publisher.disconnect()
        await self._subscriber.disconnect()
        await self._broker.stop()


def spread(values: list[float]) -> dict[str, float | None]:
    """p50 and p99 in ms."""
    if not values:
        return {"p50_ms": None, "p99_ms": None}
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
    }


async def wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def start_meter_processes(city: str, args: argparse.Namespace) -> list[subprocess.Popen[str]]:
    """The meters, split over `--processes` processes so they do not share one event loop."""
    per_process = -(-args.meters // args.processes)
    processes = []
    for first in range(0, args.meters, per_process):
        count = min(per_process, args.meters - first)
        command = [sys.executable, __file__, "--role", "meters", "--city", city]
        command += ["--first", str(first), "--count", str(count), "--bays", str(args.bays)]
        processes.append(
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
    return processes


async def drive(args: argparse.Namespace) -> dict[str, object]:
    city = f"bench{uuid.uuid4().hex[:8]}"
    url = None if args.database == "sqlite" else postgres_url("shahr_bench_lights")
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='shahr-bench-')}/lights.db"
    database_kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    upgrade_database(Settings(database_url=url))
    database = Database(Settings(database_url=url).sqlalchemy_url)
    clock = SystemClock()
    timings = Timings()

    def on_report(key: BayLightKey, report: LightReport) -> None:
        if report.color is LightColor.green:
            timings.reported.setdefault(key, time.monotonic())

    gateway = TimingGateway(
        TimingBroker(MqttBroker(BROKER_URL, timeout_s=30.0), timings),
        database,
        clock,
        city=city,
    )
    gateway.timings = timings
    mqtt_handlers.install(gateway)
    gateway.observe_reports(on_report)
    await gateway.start()

    started = time.monotonic()
    clock_start = started

    async def watch() -> None:
        while args.verbose:
            await asyncio.sleep(2)
            elapsed = time.monotonic() - clock_start
            print(f"  t={elapsed:5.1f}s backlog {gateway.backlog()}", flush=True)

    watcher = asyncio.create_task(watch())
    processes = await asyncio.to_thread(start_meter_processes, city, args)
    for process in processes:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if not line.startswith("ready"):
            raise SystemExit(f"a meter process failed to start: {line!r}")

    async def settled() -> bool:
        """Every meter online and every bay's first report (off, seq 0) recorded."""
        from sqlalchemy import func, select

        from shahr.parking.persistence import BayLightRow, MeterPresenceRow

        if any(gateway.backlog().values()):
            return False
        async with database.session() as session:
            online = await session.scalar(
                select(func.count()).where(MeterPresenceRow.online.is_(True))
            )
            known = await session.scalar(select(func.count()).select_from(BayLightRow))
        return (online or 0) >= args.meters and (known or 0) >= args.meters * args.bays

    # A run that never settles still stops its meters and clears the broker of its city.
    not_settled = None
    try:
        await wait_for(settled, 300, "every meter online and every bay reported")
    except SystemExit as error:
        not_settled = str(error)
        print(not_settled, flush=True)
    connect_s = time.monotonic() - started
    probe = BrokerProbe(city)
    await probe.start()
    probe_idle = await probe.sample(PROBES_IDLE)
    probe_loaded: list[float] = []
    prober = asyncio.create_task(probe.sample_every(PROBE_EVERY_S, probe_loaded))

    stream = InProcessStream(city=city)
    bus = EventBus(stream, city=city)
    # As bootstrap wires it: several competing deliveries on one durable consumer.
    for _ in range(LIGHT_EVENT_WORKERS):
        bus.subscribe(
            ReservationConfirmed, gateway.reservation_confirmed, durable="parking-bay-lights"
        )
    await bus.start()

    keys = [
        BayLightKey(device_id(n), bay)
        for n in range(args.meters if not_settled is None else 0)
        for bay in range(1, args.bays + 1)
    ]
    random.Random(3).shuffle(keys)
    sent_at: dict[BayLightKey, float] = {}
    now = clock.now()
    begin = clock_start = time.monotonic()
    for i, key in enumerate(keys):
        delay = begin + i / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[key] = time.monotonic()
        await bus.publish(
            ReservationConfirmed(
                reservation_id=f"{city}-{i}",
                bay_id=i,
                meter_id=int(key.meter_device_id.removeprefix("BENCH-")) + 1,
                meter_device_id=key.meter_device_id,
                bay_number=key.bay_number,
                plate="12B34567",
                starts_at=now,
                ends_at=now + timedelta(hours=2),
            )
        )
    offered_s = max(time.monotonic() - begin, 1e-9)

    async def all_reported() -> bool:
        return len(timings.reported) >= len(keys)

    with contextlib.suppress(SystemExit):
        await wait_for(all_reported, 60, "every report")

    await cancel_and_wait([watcher, prober])
    await probe.stop()
    await bus.stop()
    for process in processes:
        assert process.stdin is not None
        process.stdin.close()
    meter_lines = [await asyncio.to_thread(p.stdout.read) for p in processes]  # type: ignore[union-attr]
    for process in processes:
        process.wait(timeout=60)
    async with database.session() as session:
        from sqlalchemy import func, select

        from shahr.parking.persistence import BayLightRow

        pending = await session.scalar(
            select(func.count()).where(BayLightRow.sent_seq < BayLightRow.desired_seq)
        )
        green = await session.scalar(
            select(func.count()).where(
                BayLightRow.reported_color == "green", BayLightRow.reported_seq == 1
            )
        )
    await gateway.stop()
    await database.dispose()
    cleared = await clear_city(city, args.meters, args.bays)

    topic_of = gateway.topics.light_set
    total = [timings.reported[k] - sent_at[k] for k in keys if k in timings.reported]
    to_broker = [
        timings.published[topic_of(k)] - sent_at[k]
        for k in keys
        if topic_of(k) in timings.published
    ]
    to_handed = [
        timings.handed[topic_of(k)] - sent_at[k] for k in keys if topic_of(k) in timings.handed
    ]
    to_arrival = [
        timings.arrived[k] - timings.published[topic_of(k)]
        for k in keys
        if k in timings.arrived and topic_of(k) in timings.published
    ]
    to_record = [
        timings.reported[k] - timings.arrived[k]
        for k in keys
        if k in timings.arrived and k in timings.reported
    ]
    to_report = [
        timings.reported[k] - timings.published[topic_of(k)]
        for k in keys
        if k in timings.reported and topic_of(k) in timings.published
    ]
    ms = 1000.0
    return {
        "broker": BROKER_URL,
        "database": database_kind,
        "meters": args.meters,
        "bays": len(keys),
        "meter_processes": len(processes),
        "cpus": os.cpu_count(),
        "meters_online_and_reported_s": round(connect_s, 1),
        "offered_rate_per_s": args.rate,
        "achieved_rate_per_s": round(len(keys) / offered_s, 1),
        "events": len(keys),
        "not_settled": not_settled,
        "commands_accepted_by_broker": len(to_broker),
        "reported_green": len(total),
        "recorded_green_in_db": green,
        "pending_after_run": pending,
        "missing": len(keys) - len(total),
        "p50_ms": round(statistics.median(total) * ms, 1) if total else None,
        "p90_ms": round(percentile(total, 0.90) * ms, 1) if total else None,
        "p99_ms": round(percentile(total, 0.99) * ms, 1) if total else None,
        "max_ms": round(max(total) * ms, 1) if total else None,
        "event_to_broker_p50_ms": round(statistics.median(to_broker) * ms, 1)
        if to_broker
        else None,
        "event_to_broker_p99_ms": round(percentile(to_broker, 0.99) * ms, 1) if to_broker else None,
        "event_to_publish_call_p50_ms": round(statistics.median(to_handed) * ms, 1)
        if to_handed
        else None,
        "event_to_publish_call_p99_ms": round(percentile(to_handed, 0.99) * ms, 1)
        if to_handed
        else None,
        "broker_to_recorded_p50_ms": round(statistics.median(to_report) * ms, 1)
        if to_report
        else None,
        "broker_to_recorded_p99_ms": round(percentile(to_report, 0.99) * ms, 1)
        if to_report
        else None,
        "broker_to_report_at_gateway": spread(to_arrival),
        "report_at_gateway_to_recorded": spread(to_record),
        "baseline_broker_round_trip_idle": spread(probe_idle),
        "baseline_broker_round_trip_during_run": spread(probe_loaded),
        "meter_processes_said": [line.strip().splitlines()[-1] for line in meter_lines if line],
        "retained_topics_cleared": cleared,
    }


def broker_reachable() -> bool:
    parsed = urlparse(BROKER_URL)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 1883), 2).close()
    except OSError:
        return False
    return True


def main() -> int:
    # aiomqtt warns of every publish past ten awaiting its PUBACK; the cleanup sends thousands.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=2000)
    parser.add_argument("--bays", type=int, default=8)
    parser.add_argument("--rate", type=float, default=400.0, help="confirmations per second")
    parser.add_argument("--processes", type=int, default=2, help="processes for the meters")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--verbose", action="store_true", help="print the gateway's backlog")
    parser.add_argument("--role", choices=["driver", "meters"], default="driver")
    parser.add_argument("--city", default="")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    if args.role == "meters":
        asyncio.run(run_meters(args.city, args.first, args.count, args.bays))
        return 0
    if not broker_reachable():
        print(f"no MQTT broker at {BROKER_URL}: start Mosquitto (see ../shared/services.md)")
        return 1
    print(
        f"light latency: {args.meters} meters x {args.bays} bays on {BROKER_URL},"
        f" {args.rate:g} confirmations/s ...",
        flush=True,
    )
    figures = asyncio.run(drive(args))
    save("light_latency", figures)
    for name, value in figures.items():
        print(f"  {name}: {value}")
    p99 = figures["p99_ms"]
    ok = figures["missing"] == 0 and isinstance(p99, float) and p99 < 1000.0
    print(f"claim (p99 < 1000 ms, nothing missing): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
