"""Traffic ingest end to end: NATS JetStream -> one worker -> committed segment state.

Publishes batch messages (`shahr.<city>.sensors.traffic.detectors.batch`, 1,000 readings
each) for a network of 10,000 segments (20,000 lane detectors), then lets ONE consumer
(what one `shahr worker` runs) drain them: each message is decoded, checked, de-duplicated,
inserted, added to its detector-interval sums and turned into segment state, then acked.
Figures: readings/s per worker; then, at a steady 10,000 readings/s, the time from publish
to committed state (p50/p99) plus the live feed's 1 s check = time to the live map.

    .venv/bin/python bench/traffic_ingest.py [--database sqlite|postgres] [--nats nats://127.0.0.1:4222]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from harness import postgres_url, save
from shahr.cli import upgrade_database
from shahr.kernel.clock import SystemClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.kernel.stream import JetStreamStream, StreamMessage, stream_name
from shahr.traffic import services
from shahr.traffic.domain import DetectorSpec, RoadClass, SegmentSpec
from shahr.traffic.ingest import (
    DURABLE,
    TrafficIngestConsumer,
    readings_batch_subject,
    traffic_filter,
)

BATCH = 1000
CONCURRENCY = 8


def network(segments: int) -> tuple[list[SegmentSpec], list[DetectorSpec]]:
    specs, detectors = [], []
    for k in range(segments):
        row, col = divmod(k, 100)
        lon, lat = 51.30 + col * 0.003, 35.65 + row * 0.002
        specs.append(
            SegmentSpec(
                id=f"b{k}",
                geometry=[(lon, lat), (lon + 0.003, lat)],
                road_class=RoadClass.major_arterial,
                lanes=2,
                from_node=f"n{row}-{col}",
                to_node=f"n{row}-{col + 1}",
            )
        )
        detectors += [
            DetectorSpec(id=f"b{k}-{lane}", segment_id=f"b{k}", lane=lane) for lane in (1, 2)
        ]
    return specs, detectors


def batch_body(detector_ids: list[str], observed_at: datetime, rng: np.random.Generator) -> bytes:
    stamp = observed_at.isoformat().replace("+00:00", "Z")
    counts = rng.integers(0, 25, len(detector_ids))
    occupancy = rng.uniform(2, 40, len(detector_ids))
    speeds = rng.uniform(10, 70, len(detector_ids))
    items = ",".join(
        f'{{"detector_id":"{d}","observed_at":"{stamp}","period_s":30,"count":{c},'
        f'"occupancy_pct":{o:.1f},"speed_kmh":{s:.1f}}}'
        for d, c, o, s in zip(detector_ids, counts, occupancy, speeds, strict=True)
    )
    return ('{"readings":[' + items + "]}").encode()


async def run(database_url: str, nats_url: str, segments: int) -> dict[str, object]:
    upgrade_database(Settings(database_url=database_url))
    database = Database(Settings(database_url=database_url).sqlalchemy_url)
    clock = SystemClock()
    specs, detectors = network(segments)
    await services.import_road_network(database, segments=specs, source="bench", clock=clock)
    await services.register_detectors(database, detectors=detectors, clock=clock)
    ids = [d.id for d in detectors]
    rng = np.random.default_rng(7)
    city = f"bench{uuid.uuid4().hex[:8]}"
    publisher = JetStreamStream(nats_url, city=city)
    worker = JetStreamStream(nats_url, city=city, fetch_batch=2)
    await publisher.start()
    await worker.start()
    consumer = TrafficIngestConsumer(
        database, clock, worker, city=city, plate_secret=lambda: "bench", concurrency=CONCURRENCY
    )
    latencies: list[float] = []
    committed = 0

    async def handle(message: StreamMessage) -> None:
        nonlocal committed
        await consumer.handle(message)
        committed += message.data.count(b'"detector_id"')
        published = message.headers.get("x-published")
        if published:
            latencies.append(time.time() - float(published))

    try:
        # 1. Throughput: ten readings per detector (five minutes of 30 s periods), stored first.
        now = datetime.now(UTC).replace(microsecond=0)
        total = 0
        for step in range(10):
            observed = now - timedelta(seconds=30 * (10 - step))
            for start in range(0, len(ids), BATCH):
                body = batch_body(ids[start : start + BATCH], observed, rng)
                await publisher.publish(readings_batch_subject(city), body)
                total += min(BATCH, len(ids) - start)
        started = time.perf_counter()
        # What TrafficIngestConsumer.start() does, with the handler wrapped to time it.
        for _ in range(CONCURRENCY):
            await worker.subscribe(
                traffic_filter(city), durable=DURABLE, handler=handle, max_deliver=20
            )
        while committed < total:  # noqa: ASYNC110  # polling a counter is the measurement
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        throughput = total / elapsed
        print(
            f"  {total:,} readings in {elapsed:.1f} s: {throughput:,.0f} readings/s on one worker"
        )

        # 2. Latency at a steady 10,000 readings/s for 10 s.
        latencies.clear()
        period = BATCH / 10_000
        next_at = time.perf_counter()
        for k in range(100):
            observed = datetime.now(UTC)
            start = (k * BATCH) % len(ids)
            body = batch_body(ids[start : start + BATCH], observed, rng)
            await publisher.publish(
                readings_batch_subject(city), body, headers={"x-published": f"{time.time():.6f}"}
            )
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.perf_counter() + 30
        while len(latencies) < 100 and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        p50, p99 = (float(np.percentile(latencies, q)) for q in (50, 99))
        print(
            f"  at 10,000 readings/s: publish -> committed state p50 {p50 * 1000:.0f} ms,"
            f" p99 {p99 * 1000:.0f} ms; to the live map (+1 s check) at most {p99 + 1:.2f} s"
        )
        return {
            "readings": total,
            "readings_per_s_one_worker": round(throughput),
            "latency_p50_ms": round(p50 * 1000),
            "latency_p99_ms": round(p99 * 1000),
            "to_live_map_p99_s": round(p99 + 1.0, 2),
        }
    finally:
        await worker.stop()
        await publisher.stop()
        import nats

        connection = await nats.connect(nats_url)
        for family in ("events", "sensors"):
            with contextlib.suppress(Exception):  # best-effort cleanup
                await connection.jetstream().delete_stream(stream_name(city, family))
        await connection.close()
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--segments", type=int, default=10_000)
    args = parser.parse_args()
    url = postgres_url("shahr_bench_traffic") if args.database == "postgres" else None
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='shahr-bench-')}/traffic.db"
    print(f"traffic ingest, NATS JetStream -> one worker -> {url.split('://')[0]}")
    figures = asyncio.run(run(url, args.nats, args.segments))
    figures["database"] = url.split("://")[0]
    save(f"traffic_ingest_{figures['database']}", figures)


if __name__ == "__main__":
    main()
