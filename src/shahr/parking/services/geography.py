"""Parking geography's use cases: districts and metro stations."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shahr.kernel.db import Database
from shahr.parking.domain import (
    TEHRAN_DISTRICT_COUNT,
    DistrictCentroid,
    GeoFileError,
    MetroStation,
    approximate_district_shapes,
    district_from_shape,
    parse_district_shapes,
)
from shahr.parking.persistence import ParkingUnitOfWork


@dataclass(frozen=True)
class LoadSummary:
    """What loading a list did: new rows, changed rows, rows already as given."""

    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class AreaImportSummary:
    """Which districts an area file replaced or added, and which it left as they were."""

    source: str
    replaced: tuple[int, ...]
    created: tuple[int, ...]
    untouched: tuple[int, ...]


async def seed_approximate_districts(
    database: Database, *, centroids: Sequence[DistrictCentroid], source: str
) -> tuple[int, ...]:
    """Add approximate districts (Voronoi cells) for numbers the database lacks.

    A district already present is never overwritten, so official polygons imported with
    `shahr import areas` survive every later seed. Returns the numbers added.
    """
    shapes = approximate_district_shapes(centroids)
    async with ParkingUnitOfWork(database) as uow:
        existing = await uow.geography.districts()
        added = []
        for shape in shapes:
            if shape.number in existing:
                continue
            await uow.geography.save_district(
                district_from_shape(shape, approximate=True, source=source)
            )
            added.append(shape.number)
        await uow.commit()
    return tuple(added)


async def import_district_areas(
    database: Database,
    *,
    geojson: str | bytes,
    source: str,
    district_count: int = TEHRAN_DISTRICT_COUNT,
    on_progress: Callable[[int, int], None] | None = None,
) -> AreaImportSummary:
    """Replace districts' outlines with a file's official polygons, all in one transaction.

    The whole file is checked before anything is written; a bad file raises
    `GeoFileError` and changes nothing. `on_progress(done, total)` follows the staging.
    """
    shapes = parse_district_shapes(geojson, district_count=district_count)
    async with ParkingUnitOfWork(database) as uow:
        existing = await uow.geography.districts()
        replaced, created = [], []
        for done, shape in enumerate(shapes, start=1):
            official = district_from_shape(shape, approximate=False, source=source)
            current = existing.get(shape.number)
            if current is None:
                created.append(shape.number)
            else:
                replaced.append(shape.number)
                # The names stay as the city knows them; only the outline and its source change.
                official = dataclasses.replace(
                    official, name_fa=current.name_fa, name_en=current.name_en
                )
            await uow.geography.save_district(official)
            if on_progress is not None:
                on_progress(done, len(shapes))
        await uow.commit()
    named = {shape.number for shape in shapes}
    return AreaImportSummary(
        source=source,
        replaced=tuple(sorted(replaced)),
        created=tuple(sorted(created)),
        untouched=tuple(sorted(set(existing) - named)),
    )


async def load_metro_stations(
    database: Database, *, stations: Sequence[MetroStation]
) -> LoadSummary:
    """Add or update metro stations by English name; loading the same list twice changes nothing."""
    counts = Counter(station.name_en for station in stations)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise GeoFileError(
            "Metro station {name} appears more than once.", name=", ".join(duplicates)
        )
    async with ParkingUnitOfWork(database) as uow:
        existing = await uow.geography.metro_stations()
        created = updated = 0
        for station in stations:
            current = existing.get(station.name_en)
            if current == station:
                continue
            if current is None:
                created += 1
            else:
                updated += 1
            await uow.geography.save_metro_station(station)
        await uow.commit()
    return LoadSummary(
        created=created, updated=updated, unchanged=len(stations) - created - updated
    )
