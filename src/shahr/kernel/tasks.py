"""Stopping background tasks so that stopping never hangs and never hides a failure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any] | None], *, recancel_every_s: float = 1.0
) -> None:
    """Cancel `tasks` and return once every one has ended.

    Why not `task.cancel()` then `with suppress(CancelledError): await task`: a task that
    is itself awaiting another under such a suppress (as closing a connection does) can
    lose its own cancel and then never end, and the suppress also swallows a cancel aimed
    at the caller. Here a task still running is cancelled again every `recancel_every_s`,
    and the caller's own cancel goes through. A task that ended with an error is logged:
    stopping goes on with the others.
    """
    current = asyncio.current_task()
    todo = [task for task in tasks if task is not None and task is not current]
    pending = {task for task in todo if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_every_s)
    for task in todo:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "task %s failed before it was stopped", task.get_name(), exc_info=task.exception()
            )
