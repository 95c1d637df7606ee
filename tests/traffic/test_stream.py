"""Ingest from the sensor stream: recorded payloads replayed twice count once.

In process by default; against NATS JetStream (`SHAHR_TEST_NATS_URL`) with two consumers
sharing the durable, as two `shahr worker` processes would.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import nats
import pytest

from shahr.bootstrap import Container
from shahr.kernel.stream import InProcessStream, JetStreamStream, stream_name, subject
from shahr.traffic import queries
from shahr.traffic.ingest import TrafficIngestConsumer
from shahr.traffic.persistence import ReadingRow, TrafficUnitOfWork


def service_url(request: pytest.FixtureRequest, service: str) -> str:
    """`service_url` from tests/conftest.py, which is a pytest plugin rather than a package."""
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    url: str = root.service_url(service)
    return url


RECORDED = Path(__file__).parent / "payloads" / "recorded_feed.jsonl"
# 15 readings in single messages and a batch, one journey; 4 items to refuse.
GOOD_READINGS = 15


def recorded() -> list[tuple[str, bytes]]:
    items = []
    for line in RECORDED.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        payload = entry["payload"]
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        items.append((entry["subject"], data))
    return items


async def stored_readings(container: Container) -> int:
    from sqlalchemy import func, select

    async with TrafficUnitOfWork(container.database) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(ReadingRow)) or 0)


async def test_the_in_process_consumer_counts_a_replayed_feed_once(network: Container) -> None:
    city = network.settings.city
    for _ in range(2):
        for suffix, data in recorded():
            await network.stream.publish(
                subject(city, "sensors", "traffic", *suffix.split(".")), data
            )
        await network.stream.drain()
        first = await queries.segment_states(network.database)

    assert await stored_readings(network) == GOOD_READINGS
    assert first == await queries.segment_states(network.database)
    assert {s.segment_id for s in first if not s.estimated} == {"s01-11", "s11-21", "s10-11"}


@pytest.mark.nats
async def test_two_workers_share_the_jetstream_durable_and_count_a_replay_once(
    network: Container, request: pytest.FixtureRequest
) -> None:
    url = service_url(request, "nats")
    city = f"t{uuid.uuid4().hex[:10]}"
    streams = [JetStreamStream(url, city=city, fetch_batch=5) for _ in range(3)]
    publisher, *workers = streams
    consumers = [
        TrafficIngestConsumer(
            network.database, network.clock, stream, city=city, plate_secret=lambda: "secret"
        )
        for stream in workers
    ]
    try:
        for stream in streams:
            await stream.start()
        for consumer in consumers:
            await consumer.start()
        for _ in range(2):
            for suffix, data in recorded():
                await publisher.publish(
                    subject(city, "sensors", "traffic", *suffix.split(".")), data
                )
        for stream in workers:
            await stream.drain(timeout_s=30)
    finally:
        for stream in streams:
            await stream.stop()
        connection = await nats.connect(url)
        for family in ("events", "sensors"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await connection.jetstream().delete_stream(stream_name(city, family))
        await connection.close()

    assert await stored_readings(network) == GOOD_READINGS
    states = await queries.segment_states(network.database)
    assert {s.segment_id for s in states if not s.estimated} == {"s01-11", "s11-21", "s10-11"}


async def test_a_backlog_larger_than_one_transaction_is_committed_in_several_once(
    network: Container,
) -> None:
    city = network.settings.city
    stream = InProcessStream(city=city)
    consumer = TrafficIngestConsumer(
        network.database,
        network.clock,
        stream,
        city=city,
        plate_secret=lambda: "secret",
        durable="traffic-ingest-small",
        max_flush_bytes=1,  # one message per transaction
    )
    await consumer.start()
    await stream.start()
    try:
        for _ in range(2):
            for suffix, data in recorded():
                await stream.publish(subject(city, "sensors", "traffic", *suffix.split(".")), data)
        await stream.drain()
    finally:
        await consumer.stop()
        await stream.stop()

    assert await stored_readings(network) == GOOD_READINGS
    states = await queries.segment_states(network.database)
    assert {s.segment_id for s in states if not s.estimated} == {"s01-11", "s11-21", "s10-11"}
