"""The stream entry point: the durable consumer that feeds sensor messages to ingest.

Thin on purpose: it calls `services.ingest_batch` with one message and lets the stream
acknowledge after it returns, that is after the commit. A message that fails (the
database is down) is redelivered; a bad item inside it is counted and skipped, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.stream import Stream, StreamMessage, subject
from shahr.traffic.services import ingest_batch

log = logging.getLogger(__name__)

DURABLE = "traffic-ingest"


def reading_subject(city: str, detector_id: str) -> str:
    return subject(city, "sensors", "traffic", "detectors", detector_id)


def readings_batch_subject(city: str) -> str:
    return subject(city, "sensors", "traffic", "detectors", "batch")


def passage_subject(city: str, camera_id: str) -> str:
    return subject(city, "sensors", "traffic", "cameras", camera_id)


def passages_batch_subject(city: str) -> str:
    return subject(city, "sensors", "traffic", "cameras", "batch")


def traffic_filter(city: str) -> str:
    return subject(city, "sensors", "traffic", ">")


class TrafficIngestConsumer:
    """A background part: binds the ingest handler to the sensor stream when started.

    It binds `concurrency` handlers to the one durable, and the messages they hold at the
    same moment go to the database in one batch (one transaction); each handler returns,
    and so lets its message be acknowledged, only after that commit. A failed batch fails
    every message in it, and each is redelivered.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        stream: Stream,
        *,
        city: str,
        plate_secret: Callable[[], str],
        durable: str = DURABLE,
        concurrency: int = 8,
        linger_s: float = 0.005,
    ) -> None:
        self._database = database
        self._clock = clock
        self._stream = stream
        self._city = city
        self._plate_secret = plate_secret
        self._durable = durable
        self._concurrency = concurrency
        self._linger_s = linger_s
        self._pending: list[tuple[StreamMessage, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._bound = False

    async def handle(self, message: StreamMessage) -> None:
        """Queue the message for the next batch and wait until that batch is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((message, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        # One transaction at a time per worker: what arrives meanwhile waits for the next
        # batch, so batches grow with the load (and SQLite's single writer is not raced).
        if self._lock is None:
            self._lock = asyncio.Lock()
        if len(self._pending) < self._concurrency:
            await asyncio.sleep(self._linger_s)
        async with self._lock:
            batch, self._pending = self._pending, []
            self._flusher = None  # messages from now on wait for the next batch
            try:
                report = await ingest_batch(
                    self._database,
                    self._clock,
                    [message.data for message, _ in batch],
                    plate_secret=self._plate_secret(),
                )
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
        if report.rejected_total:
            log.info(
                "traffic ingest refused %d item(s) in %d message(s): %s",
                report.rejected_total,
                len(batch),
                dict(report.rejected),
            )

    async def start(self) -> None:
        # A stream keeps its consumers across its own restarts; bind once per process.
        if self._bound:
            return
        for _ in range(self._concurrency):
            await self._stream.subscribe(
                traffic_filter(self._city),
                durable=self._durable,
                handler=self.handle,
                max_deliver=20,
            )
        self._bound = True

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
