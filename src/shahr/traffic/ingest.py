"""The stream entry point: the durable consumer that feeds sensor messages to ingest.

Thin on purpose: it calls `services.ingest_batch` with the messages at hand and lets the
stream acknowledge them after it returns, that is after the commit. A message that fails (the
database is down) is redelivered; a bad item inside it is counted and skipped, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.stream import Stream, StreamMessage, subject
from shahr.traffic.services import ingest_batch

log = logging.getLogger(__name__)

DURABLE = "traffic-ingest"
# A transaction takes messages up to about this many bytes (some 60,000 readings, a couple
# of seconds of work): large enough to amortise each statement, small enough to commit well
# within JetStream's ack wait and to keep the live map fresh.
MAX_FLUSH_BYTES = 8_000_000


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


Waiting = list[tuple[StreamMessage, "asyncio.Future[None]"]]
"""Messages held for the next transaction, each with what its handler awaits."""


def _take(pending: Waiting, max_bytes: int) -> tuple[Waiting, Waiting]:
    """The first messages up to `max_bytes` (at least one), and the rest."""
    size = 0
    for position, (message, _) in enumerate(pending):
        size += len(message.data)
        if size > max_bytes and position > 0:
            return pending[:position], pending[position:]
    return pending, []


class TrafficIngestConsumer:
    """A background part: binds the ingest handler to the sensor stream when started.

    It binds `concurrency` batch handlers to the one durable; each fetches up to
    `max_batch` messages at a time, and the messages they hold at the same moment go to the
    database in one batch (one transaction). A handler returns, and so lets its messages be
    acknowledged, only after that commit; a failed batch fails every message in it, and each
    is redelivered. While one batch commits, the other handlers fetch the next; a
    transaction takes at most `max_flush_bytes` of messages, the rest wait for the next.
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
        concurrency: int = 4,
        max_batch: int = 256,
        max_flush_bytes: int = MAX_FLUSH_BYTES,
        linger_s: float = 0.005,
    ) -> None:
        self._database = database
        self._clock = clock
        self._stream = stream
        self._city = city
        self._plate_secret = plate_secret
        self._durable = durable
        self._concurrency = concurrency
        self._max_batch = max_batch
        self._max_flush_bytes = max_flush_bytes
        self._linger_s = linger_s
        self._pending: Waiting = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._bound = False

    async def handle(self, message: StreamMessage) -> None:
        """Queue the message for the next batch and wait until that batch is committed."""
        await self.handle_batch([message])

    async def handle_batch(self, messages: Sequence[StreamMessage]) -> None:
        """Queue the messages for the next batch and wait until that batch is committed."""
        loop = asyncio.get_running_loop()
        waiting = []
        for message in messages:
            done: asyncio.Future[None] = loop.create_future()
            self._pending.append((message, done))
            waiting.append(done)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # gather retrieves every outcome, so a failed batch leaves no unretrieved error.
        await asyncio.gather(*waiting)

    async def _flush(self) -> None:
        # One transaction at a time per worker: what arrives meanwhile waits for the next
        # batch, so batches grow with the load (and SQLite's single writer is not raced).
        if self._lock is None:
            self._lock = asyncio.Lock()
        if len(self._pending) < self._concurrency:
            await asyncio.sleep(self._linger_s)
        async with self._lock:
            batch, self._pending = _take(self._pending, self._max_flush_bytes)
            # Messages from now on wait for the next batch, as do any left over.
            self._flusher = asyncio.create_task(self._flush()) if self._pending else None
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
            await self._stream.subscribe_batch(
                traffic_filter(self._city),
                durable=self._durable,
                handler=self.handle_batch,
                max_batch=self._max_batch,
                max_deliver=20,
            )
        self._bound = True

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
