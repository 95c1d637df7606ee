"""Traffic ingest end to end: NATS JetStream -> one worker -> committed segment state -> live map.

The issue's targets: at least 50,000 readings/s per worker from the stream to committed
segment state, and a reading on the live map within 2 s at 10,000 readings/s.

A network of 10,000 segments (20,000 lane detectors); readings travel as batch messages
(`shahr.<city>.sensors.traffic.detectors.batch`, 1,000 readings each). Measured in one run:

1. baseline: the same messages fetched and acked by the same JetStream adapter with no
   processing at all: the ceiling the stream alone puts on a worker;
2. throughput: `--runs` times, a backlog of readings drained by ONE worker (what
   `shahr worker` binds: `TrafficIngestConsumer`), decode to commit and ack; the median;
3. latency at an offered 10,000 readings/s for 10 s: publish -> committed state, and
   publish -> the live map, that is the moment the live cache's Server-Sent Events loop
   (`LiveStates.changes`, what `/api/v1/traffic/live` pushes) first emits a view whose
   version check began after that message's commit. The map side runs in a process of its
   own, as the web process does, on the same machine.

    .venv/bin/python bench/traffic_ingest.py [--database sqlite|postgres]
        [--nats nats://127.0.0.1:4222] [--runs 3] [--steps 5] [--profile]

`--profile` runs cProfile over the first throughput run and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from harness import postgres_url, save
from shahr.kernel.clock import SystemClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.kernel.stream import JetStreamStream, StreamMessage, stream_name
from shahr.startup import upgrade_database
from shahr.traffic import services
from shahr.traffic.domain import DetectorSpec, RoadClass, SegmentSpec
from shahr.traffic.ingest import (
    DURABLE,
    TrafficIngestConsumer,
    readings_batch_subject,
    traffic_filter,
)
from shahr.traffic.queries.live import LiveStates
from shahr.traffic.queries.registry import current_registry

BATCH = 1000
OFFERED_PER_S = 10_000
LATENCY_S = 10
TARGET_PER_S = 50_000
TARGET_MAP_S = 2.0


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


def backlog(ids: list[str], ends: Sequence[datetime], rng: np.random.Generator) -> list[bytes]:
    """One reading per detector for each period end, in messages of BATCH readings."""
    return [
        batch_body(ids[start : start + BATCH], observed, rng)
        for observed in ends
        for start in range(0, len(ids), BATCH)
    ]


async def delete_streams(nats_url: str, city: str) -> None:
    connection = await nats.connect(nats_url)
    for family in ("events", "sensors"):
        with contextlib.suppress(Exception):  # best-effort cleanup
            await connection.jetstream().delete_stream(stream_name(city, family))
    await connection.close()


async def publish_all(nats_url: str, city: str, bodies: list[bytes]) -> None:
    publisher = JetStreamStream(nats_url, city=city)
    await publisher.start()
    try:
        for body in bodies:
            await publisher.publish(readings_batch_subject(city), body)
    finally:
        await publisher.stop()


async def drained(stream: JetStreamStream, total: int, done: list[int]) -> None:
    while sum(done) < total:  # noqa: ASYNC110  # polling a counter is the measurement
        await asyncio.sleep(0.01)
    await stream.drain(timeout_s=60)  # and every ack has reached the server


async def raw_fetch_ack(nats_url: str, bodies: list[bytes], readings: int) -> float:
    """Readings/s when the worker only fetches and acks (the stream's own ceiling)."""
    city = f"bench{uuid.uuid4().hex[:8]}"
    worker = JetStreamStream(nats_url, city=city)
    done: list[int] = []

    async def ack_only(messages: Sequence[StreamMessage]) -> None:
        done.append(len(messages))

    try:
        await publish_all(nats_url, city, bodies)
        await worker.start()
        started = time.perf_counter()
        await worker.subscribe_batch(traffic_filter(city), durable=DURABLE, handler=ack_only)
        await drained(worker, len(bodies), done)
        return readings / (time.perf_counter() - started)
    finally:
        await worker.stop()
        await delete_streams(nats_url, city)


async def one_worker(
    database: Database, nats_url: str, bodies: list[bytes], readings: int, *, profile: bool
) -> float:
    """Readings/s when one worker drains a stored backlog through ingest to commit and ack."""
    city = f"bench{uuid.uuid4().hex[:8]}"
    worker = JetStreamStream(nats_url, city=city)
    consumer = TrafficIngestConsumer(
        database, SystemClock(), worker, city=city, plate_secret=lambda: "bench"
    )
    done: list[int] = []
    original = consumer.handle_batch

    async def counted(messages: Sequence[StreamMessage]) -> None:
        await original(messages)
        done.append(len(messages))

    consumer.handle_batch = counted  # type: ignore[method-assign]  # count what is committed
    profiler = cProfile.Profile() if profile else None
    try:
        await publish_all(nats_url, city, bodies)
        await worker.start()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        await consumer.start()
        await drained(worker, len(bodies), done)
        elapsed = time.perf_counter() - started
    finally:
        if profiler is not None:
            profiler.disable()
        await consumer.stop()
        await worker.stop()
        await delete_streams(nats_url, city)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print("\n".join(out.getvalue().splitlines()[:45]))
    return readings / elapsed


async def watch_map(database_url: str) -> None:
    """The web process's side: print (sent at, version check began at) per new live view."""
    database = Database(database_url)
    live = LiveStates(database)
    try:
        async for view in live.changes():
            if view is not None:
                print(json.dumps([time.time(), view.checked_at]), flush=True)
    finally:
        await database.dispose()


async def latency(database: Database, nats_url: str, ids: list[str]) -> dict[str, float]:
    """At an offered 10,000 readings/s: publish -> commit, and publish -> live map (s)."""
    city = f"bench{uuid.uuid4().hex[:8]}"
    publisher = JetStreamStream(nats_url, city=city)
    worker = JetStreamStream(nats_url, city=city)
    consumer = TrafficIngestConsumer(
        database, SystemClock(), worker, city=city, plate_secret=lambda: "bench"
    )
    published: dict[str, float] = {}
    committed: dict[str, float] = {}
    original = consumer.handle_batch

    async def timed(messages: Sequence[StreamMessage]) -> None:
        await original(messages)
        now = time.time()
        for message in messages:
            committed.setdefault(message.headers["x-bench-id"], now)

    consumer.handle_batch = timed  # type: ignore[method-assign]  # time each commit
    emitted: list[tuple[float, float]] = []  # (sent at, its version check began at)
    web = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--watch-map",
        database.url,
        stdout=asyncio.subprocess.PIPE,
    )

    async def read_map() -> None:
        assert web.stdout is not None
        async for line in web.stdout:
            sent, checked = json.loads(line)
            emitted.append((sent, checked))

    rng = np.random.default_rng(11)
    watcher = asyncio.create_task(read_map())
    try:
        while not emitted:  # noqa: ASYNC110  # the web side has built its first view
            await asyncio.sleep(0.05)
        await publisher.start()
        await worker.start()
        await consumer.start()
        period = BATCH / OFFERED_PER_S
        next_at = time.perf_counter()
        for k in range(LATENCY_S * OFFERED_PER_S // BATCH):
            start = (k * BATCH) % len(ids)
            body = batch_body(ids[start : start + BATCH], datetime.now(UTC), rng)
            key = str(k)
            published[key] = time.time()
            await publisher.publish(readings_batch_subject(city), body, headers={"x-bench-id": key})
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.perf_counter() + 60
        while len(committed) < len(published) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        last_commit = max(committed.values())
        while not any(check >= last_commit for _, check in emitted):
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.05)
    finally:
        web.terminate()
        await web.wait()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await consumer.stop()
        await worker.stop()
        await publisher.stop()
        await delete_streams(nats_url, city)
    to_commit = [committed[k] - published[k] for k in committed]
    to_map = []
    for key, at in committed.items():
        shown = next((sent for sent, check in emitted if check >= at), None)
        if shown is not None:
            to_map.append(shown - published[key])
    rebuild = [sent - check for sent, check in emitted]
    q = lambda values, p: float(np.percentile(values, p)) if values else float("nan")  # noqa: E731
    return {
        "messages": len(published),
        "committed": len(committed),
        "on_map": len(to_map),
        "commit_p50_s": q(to_commit, 50),
        "commit_p99_s": q(to_commit, 99),
        "map_p50_s": q(to_map, 50),
        "map_p99_s": q(to_map, 99),
        "map_check_and_build_p50_s": q(rebuild, 50),
        "map_updates": len(emitted),
    }


async def run(
    database_url: str, nats_url: str, segments: int, runs: int, steps: int, *, profile: bool
) -> dict[str, object]:
    upgrade_database(Settings(database_url=database_url))
    url = Settings(database_url=database_url).sqlalchemy_url
    database = Database(url)
    clock = SystemClock()
    specs, detectors = network(segments)
    await services.import_road_network(database, segments=specs, source="bench", clock=clock)
    await services.register_detectors(database, detectors=detectors, clock=clock)
    await current_registry(database)
    ids = [d.id for d in detectors]
    rng = np.random.default_rng(7)
    now = datetime.now(UTC).replace(microsecond=0)
    # Each run gets its own period ends (30 s apart, all inside the 15-minute late window),
    # so nothing a run sends was stored by an earlier one.
    ends = [now - timedelta(seconds=30 * (runs * steps - i)) for i in range(runs * steps)]
    readings = len(ids) * steps
    try:
        print(f"  {segments:,} segments, {len(ids):,} detectors; {readings:,} readings per run")
        baseline = await raw_fetch_ack(nats_url, backlog(ids, ends[:steps], rng), readings)
        print(f"  baseline, JetStream fetch + ack only: {baseline:,.0f} readings/s")
        rates = []
        for r in range(runs):
            bodies = backlog(ids, ends[r * steps : (r + 1) * steps], rng)
            rate = await one_worker(
                database, nats_url, bodies, readings, profile=profile and r == 0
            )
            rates.append(rate)
            print(f"  run {r + 1}: {rate:,.0f} readings/s on one worker (stream to commit)")
        median = statistics.median(rates)
        print(
            f"  median {median:,.0f} readings/s per worker = {median / baseline:.2f} x the"
            f" fetch+ack baseline; target {TARGET_PER_S:,}: {median / TARGET_PER_S:.2f} x"
        )
        timing = await latency(database, nats_url, ids)
        print(
            f"  at {OFFERED_PER_S:,} readings/s offered: publish -> committed p50"
            f" {timing['commit_p50_s']:.2f} s, p99 {timing['commit_p99_s']:.2f} s;"
            f" publish -> live map p50 {timing['map_p50_s']:.2f} s,"
            f" p99 {timing['map_p99_s']:.2f} s (target {TARGET_MAP_S:.0f} s);"
            f" {timing['map_updates']} map updates, check + rebuild p50"
            f" {timing['map_check_and_build_p50_s']:.2f} s"
        )
        return {
            "readings_per_run": readings,
            "baseline_fetch_ack_readings_per_s": round(baseline),
            "readings_per_s_one_worker_runs": [round(r) for r in rates],
            "readings_per_s_one_worker_median": round(median),
            "ratio_to_baseline": round(median / baseline, 3),
            **{k: round(v, 3) for k, v in timing.items()},
        }
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="readings per detector per run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--watch-map", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.watch_map:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(watch_map(args.watch_map))
        return
    url = postgres_url("shahr_bench_traffic") if args.database == "postgres" else None
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='shahr-bench-')}/traffic.db"
    print(f"traffic ingest, NATS JetStream -> one worker -> {url.split('://')[0]}")
    figures = asyncio.run(
        run(url, args.nats, args.segments, args.runs, args.steps, profile=args.profile)
    )
    figures["database"] = url.split("://")[0]
    save(f"traffic_ingest_{figures['database']}", figures)


if __name__ == "__main__":
    main()
