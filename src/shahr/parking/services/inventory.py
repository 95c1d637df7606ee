"""Loading the street parking inventory: a city's meter file, or the demo's meters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.parking.domain import MeterRecord, parse_meter_file
from shahr.parking.persistence import LoadCounts, ReservationUnitOfWork
from shahr.parking.queries import InventoryCache


@dataclass(frozen=True)
class MeterImportSummary:
    source: str
    meters: int
    bays: int
    counts: LoadCounts


async def load_meters(
    database: Database,
    clock: Clock,
    inventory: InventoryCache | None,
    *,
    records: Sequence[MeterRecord],
) -> LoadCounts:
    """Add or update meters by device id in one transaction; loading twice changes nothing."""
    async with ReservationUnitOfWork(database, write=True) as uow:
        counts = await uow.inventory.load(list(records), now=clock.now())
        await uow.commit()
    if inventory is not None:
        inventory.invalidate()
    return counts


async def import_meters(
    database: Database,
    clock: Clock,
    inventory: InventoryCache | None,
    *,
    csv_text: str,
    source: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> MeterImportSummary:
    """Import a meter file (columns in `parking/data/README.md`), whole or not at all.

    The file is checked first; a bad row raises `MeterFileError` with its line and nothing
    is written.
    """
    records = parse_meter_file(csv_text)
    if on_progress is not None:
        on_progress(0, len(records))
    counts = await load_meters(database, clock, inventory, records=records)
    if on_progress is not None:
        on_progress(len(records), len(records))
    return MeterImportSummary(
        source=source,
        meters=len(records),
        bays=sum(len(r.bay_kinds) for r in records),
        counts=counts,
    )
