"""Traffic's scheduled jobs (wired in bootstrap; each is safe to run in several workers)."""

from __future__ import annotations

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.traffic.services.history import prune, roll_up
from shahr.traffic.services.intervals import finalise_intervals

FINALISE_EVERY_S = 20.0
ROLLUP_EVERY_S = 300.0
PRUNE_EVERY_S = 3600.0


async def finalise(database: Database, clock: Clock, bus: EventBus) -> None:
    """Close finished intervals: estimates, detector health, SegmentStatesUpdated."""
    await finalise_intervals(database, clock, bus=bus)


async def roll_up_history(database: Database, clock: Clock) -> None:
    await roll_up(database, clock)


async def prune_history(database: Database, clock: Clock) -> None:
    await prune(database, clock)
