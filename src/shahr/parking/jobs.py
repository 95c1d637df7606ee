"""Parking's scheduled job: lapse unpaid holds, end stays that ran out, remind, retry refunds.

Wired in bootstrap as a `kernel.schedule.Every` in every process that runs jobs; each pass
locks the rows it takes, so several processes share the work without doing it twice.
"""

from __future__ import annotations

from shahr.parking.services import ParkingPorts, UpkeepReport, run_upkeep

# Holds last 15 minutes and reminders go 10 minutes before the end: half a minute is
# fine-grained enough for both.
UPKEEP_EVERY_S = 30.0


async def parking_upkeep(ports: ParkingPorts, *, public_url: str = "") -> UpkeepReport:
    """One pass of upkeep at the clock's time; `public_url` begins the links sent by SMS."""
    return await run_upkeep(ports, public_url=public_url)
