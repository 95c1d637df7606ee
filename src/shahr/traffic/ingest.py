"""The stream entry point: the durable consumer that feeds sensor messages to ingest.

Thin on purpose: it calls `services.ingest_batch` with one message and lets the stream
acknowledge after it returns, that is after the commit. A message that fails (the
database is down) is redelivered; a bad item inside it is counted and skipped, never raised.
"""

from __future__ import annotations

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
    """A background part: binds the ingest handler to the sensor stream when started."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        stream: Stream,
        *,
        city: str,
        plate_secret: Callable[[], str],
        durable: str = DURABLE,
    ) -> None:
        self._database = database
        self._clock = clock
        self._stream = stream
        self._city = city
        self._plate_secret = plate_secret
        self._durable = durable
        self._bound = False

    async def handle(self, message: StreamMessage) -> None:
        report = await ingest_batch(
            self._database, self._clock, [message.data], plate_secret=self._plate_secret()
        )
        if report.rejected_total:
            log.info(
                "traffic ingest refused %d item(s) from %s: %s",
                report.rejected_total,
                message.subject,
                dict(report.rejected),
            )

    async def start(self) -> None:
        # A stream keeps its consumers across its own restarts; bind once per process.
        if self._bound:
            return
        await self._stream.subscribe(
            traffic_filter(self._city), durable=self._durable, handler=self.handle, max_deliver=20
        )
        self._bound = True

    async def stop(self) -> None:
        return None
