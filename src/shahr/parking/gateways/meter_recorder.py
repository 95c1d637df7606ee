"""What meters say, recorded: their presence (status and will) and the lights they report."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.tasks import cancel_and_wait
from shahr.parking.domain.lights import BayLightKey, LightReport, StatusChange, apply_status
from shahr.parking.gateways.meter_codec import MeterStatus
from shahr.parking.persistence.lights import LightUnitOfWork, retry_conflicts

log = logging.getLogger(__name__)

# The most statuses, and the most reports, written in one transaction.
_BATCH = 500
# How long stopping waits for the last writes before it cancels them.
STOP_WITHIN_S = 10.0

ReportObserver = Callable[[BayLightKey, LightReport], None]


class MeterRecorder:
    """Meters' messages, queued as they arrive and written in batches by one task:
    presence first, then reported lights. Repeating a message changes nothing.

    Two consequences go back to the gateway: meters that came back are sent their
    commands again (`resend`), and bays whose meter is ahead of the platform are decided
    again (`redecide`).
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        resend: Callable[[list[str]], Awaitable[int]],
        redecide: Callable[[list[BayLightKey]], Awaitable[None]],
    ) -> None:
        self._database = database
        self._clock = clock
        self._resend = resend
        self._redecide = redecide
        self._observers: list[ReportObserver] = []
        self._reports: asyncio.Queue[tuple[BayLightKey, LightReport]] = asyncio.Queue()
        self._statuses: asyncio.Queue[tuple[str, MeterStatus]] = asyncio.Queue()
        self._said = asyncio.Event()
        self._stopping = False
        self._running: asyncio.Task[None] | None = None

    def observe_reports(self, observer: ReportObserver) -> None:
        self._observers.append(observer)

    def backlog(self) -> dict[str, int]:
        return {"reports": self._reports.qsize(), "statuses": self._statuses.qsize()}

    def take_status(self, meter_device_id: str, status: MeterStatus) -> None:
        self._statuses.put_nowait((meter_device_id, status))
        self._said.set()

    def take_report(self, key: BayLightKey, report: LightReport) -> None:
        self._reports.put_nowait((key, report))
        self._said.set()

    async def run(self) -> None:
        """Write what meters say, batch by batch, until `stop`; then what is still waiting."""
        while not self._stopping:
            if self._statuses.empty() and self._reports.empty():
                self._said.clear()
                await self._said.wait()
                continue
            await self._record_waiting()
        # What arrived before the stop is written while the database is still there; the
        # bound keeps meters that go on talking from holding the process up.
        batches = math.ceil(max(self._statuses.qsize(), self._reports.qsize()) / _BATCH)
        for _ in range(batches):
            await self._record_waiting()

    def start(self) -> None:
        self._stopping = False
        self._running = asyncio.create_task(self.run(), name="meter-gateway-recorder")

    async def stop(self) -> None:
        """Finish the batch in hand and write what waits, then end.

        Cancelled half-way, a batch would leave its transaction open while the process
        closes the database under it; one that does not end in time is cancelled anyway.
        """
        running, self._running = self._running, None
        if running is None:
            return
        self._stopping = True
        self._said.set()
        try:
            await asyncio.wait_for(asyncio.shield(running), timeout=STOP_WITHIN_S)
        except TimeoutError:
            log.warning("meter messages still being recorded after %s s; stopping", STOP_WITHIN_S)
            await cancel_and_wait([running])

    async def _record_waiting(self) -> None:
        statuses = _drain(self._statuses)
        reports = _drain(self._reports)
        try:
            if statuses:
                await self.record_statuses(statuses)
            if reports:
                await self.record_reports(reports)
        except Exception:
            # Statuses and reports are retained: the next reconnection brings them back.
            log.exception(
                "could not record %d statuses and %d reports", len(statuses), len(reports)
            )

    async def record_statuses(self, statuses: list[tuple[str, MeterStatus]]) -> list[StatusChange]:
        """Record statuses and wills in order, in one transaction; meters that came back
        (online with a new session) get their bays' commands again."""
        now = self._clock.now()
        devices = list(dict.fromkeys(device for device, _ in statuses))
        changes: list[StatusChange] = []

        async def record() -> None:
            changes.clear()
            async with LightUnitOfWork(self._database) as uow:
                before = await uow.presence.presences(devices)
                current = dict(before)
                for device, status in statuses:
                    change = apply_status(
                        current.get(device),
                        meter_device_id=device,
                        online=status.online,
                        session=status.session,
                        firmware=status.firmware,
                        received_at=now,
                    )
                    current[device] = change.presence
                    changes.append(change)
                unnamed = [d for d, p in current.items() if p.meter_id is None]
                meter_ids = await uow.lights.meter_ids_of_devices(unnamed)
                for device, presence in current.items():
                    if presence.meter_id is None and device in meter_ids:
                        presence = dataclasses.replace(presence, meter_id=meter_ids[device])
                    if presence != before.get(device):
                        await uow.presence.save_presence(presence)
                await uow.commit()

        await retry_conflicts(record)
        back = [c.presence.meter_device_id for c in changes if c.came_online]
        if back:
            await self._resend(list(dict.fromkeys(back)))
        return changes

    async def record_reports(self, reports: list[tuple[BayLightKey, LightReport]]) -> None:
        """Record what meters say bays show, in one transaction; old or repeated ones change
        nothing."""
        newest: dict[BayLightKey, LightReport] = {}
        for key, report in reports:
            if report.is_newer_than(newest.get(key)):
                newest[key] = report
        now = self._clock.now()
        ahead: list[BayLightKey] = []

        async def record() -> None:
            async with LightUnitOfWork(self._database) as uow:
                lights = await uow.lights.bay_lights(list(newest), now)
                ahead.clear()
                for key, report in newest.items():
                    light = lights[key]
                    reported = light.report(report)
                    if reported != light:
                        await uow.lights.save_bay_light(reported, received_at=now)
                    if reported.meter_is_ahead:
                        ahead.append(key)
                await uow.commit()

        await retry_conflicts(record)
        for key, report in reports:
            for observer in self._observers:
                observer(key, report)
        await self._redecide(ahead)


T = TypeVar("T")


def _drain(queue: asyncio.Queue[T], limit: int = _BATCH) -> list[T]:
    """Take what is waiting in a queue, up to `limit`, without waiting."""
    taken: list[T] = []
    while not queue.empty() and len(taken) < limit:
        taken.append(queue.get_nowait())
    return taken
