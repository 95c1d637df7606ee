"""Scheduled jobs: run an async function every so often for the lifetime of the process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shahr.kernel.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Every:
    """A background part (see `bootstrap.Container.background`) that repeats one job.

    A failed run is logged and the next one still comes: one bad minute must not stop
    reconciliation or expiry for good. Jobs must be safe to run in several processes.
    """

    def __init__(self, name: str, every_s: float, job: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.every_s = every_s
        self.job = job
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"job:{self.name}")

    async def stop(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        await cancel_and_wait([task])

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.job()
            except Exception:
                log.exception("job %s failed; it runs again in %s s", self.name, self.every_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.every_s)
