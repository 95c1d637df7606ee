"""Parking's scheduled job: lapse unpaid holds, end stays that ran out, remind, retry refunds.

Runs beside the app for the process's lifetime (`Container.background`), in `shahr serve`
on a laptop and in every `shahr worker` at city scale; each pass locks the rows it takes,
so several processes share the work without doing it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shahr.parking.services import ParkingPorts, UpkeepReport, run_upkeep

log = logging.getLogger(__name__)

UPKEEP_EVERY_S = 30.0


class ParkingJobs:
    """Runs `run_upkeep` every `every_s` seconds; the first pass comes one period after start."""

    def __init__(self, ports: ParkingPorts, *, every_s: float = UPKEEP_EVERY_S) -> None:
        self._ports = ports
        self._every_s = every_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="parking-upkeep")

    async def stop(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> UpkeepReport:
        return await run_upkeep(self._ports)

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._every_s)
                return
            try:
                await self.run_once()
            except Exception:  # one bad pass must not stop the next
                log.exception("parking: upkeep pass failed")
