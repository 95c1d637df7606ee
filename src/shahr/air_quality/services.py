"""Air quality's use cases; so far loading the monitoring stations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from shahr.air_quality.domain import AqStation, StationDataError
from shahr.air_quality.persistence import AirQualityUnitOfWork
from shahr.kernel.db import Database


@dataclass(frozen=True)
class LoadSummary:
    """What loading a list did: new rows, changed rows, rows already as given."""

    created: int
    updated: int
    unchanged: int


async def load_stations(database: Database, *, stations: Sequence[AqStation]) -> LoadSummary:
    """Add or update stations by published name; loading the same list twice changes nothing."""
    counts = Counter(station.source_name for station in stations)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise StationDataError("Station {name} appears more than once.", name=", ".join(duplicates))
    async with AirQualityUnitOfWork(database) as uow:
        existing = await uow.stations.by_source_name()
        created = updated = 0
        for station in stations:
            current = existing.get(station.source_name)
            if current == station:
                continue
            if current is None:
                created += 1
            else:
                updated += 1
            await uow.stations.save(station)
        await uow.commit()
    return LoadSummary(
        created=created, updated=updated, unchanged=len(stations) - created - updated
    )
