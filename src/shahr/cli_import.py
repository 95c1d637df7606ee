"""`shahr import ...`: load a city's data from files, each command all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer

from shahr.kernel.settings import Settings
from shahr.startup import upgrade_schema

import_app = typer.Typer(help="Load a city's data from files.", no_args_is_help=True)


@import_app.command("areas")
def import_areas(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="GeoJSON FeatureCollection of district polygons, each with its district number.",
        ),
    ],
) -> None:
    """Replace the districts' outlines with official polygons (all or nothing)."""
    from rich.progress import Progress  # only this command draws a progress bar

    from shahr import bootstrap
    from shahr.kernel.errors import DomainError
    from shahr.parking.services import AreaImportSummary, import_district_areas

    settings = Settings()
    upgrade_schema(settings)
    geojson = file.read_bytes()

    async def run() -> AreaImportSummary:
        container = bootstrap.build(settings)
        try:
            with Progress() as progress:
                task = progress.add_task(f"Importing {file.name}", total=None)
                return await import_district_areas(
                    container.database,
                    geojson=geojson,
                    source=file.name,
                    on_progress=lambda done, total: progress.update(
                        task, completed=done, total=total
                    ),
                )
        finally:
            await container.database.dispose()

    try:
        summary = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"{file.name}: nothing was imported. {error}", err=True)
        raise typer.Exit(1) from error

    def numbers(found: tuple[int, ...]) -> str:
        return ", ".join(map(str, found)) or "none"

    typer.echo(f"Imported official district outlines from {summary.source}:")
    typer.echo(f"  replaced: {numbers(summary.replaced)}")
    typer.echo(f"  added: {numbers(summary.created)}")
    typer.echo(f"  not in the file, left as they were: {numbers(summary.untouched)}")


@import_app.command("meters")
def import_meters(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="UTF-8 CSV, one parking meter per row; columns in src/shahr/parking/data/README.md"
            " (device_id, zone_code, district, street_fa, street_class, lon, lat, and optional"
            " street_en, zone_name_fa, zone_name_en, bays, bay_kinds, opens, closes,"
            " min_stay_min, max_stay_min).",
        ),
    ],
) -> None:
    """Add or update parking meters, their zones and bays from a CSV file (all or nothing)."""
    from rich.progress import Progress  # only the import commands draw a progress bar

    from shahr import bootstrap
    from shahr.kernel.errors import DomainError
    from shahr.parking.services import MeterImportSummary
    from shahr.parking.services import import_meters as import_meter_file

    settings = Settings()
    upgrade_schema(settings)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        typer.echo(f"{file.name}: nothing was imported. The file is not UTF-8 text.", err=True)
        raise typer.Exit(1) from None

    async def run() -> MeterImportSummary:
        container = bootstrap.build(settings)
        try:
            with Progress() as progress:
                task = progress.add_task(f"Importing {file.name}", total=None)
                return await import_meter_file(
                    container.database,
                    container.clock,
                    None,
                    csv_text=text,
                    source=file.name,
                    on_progress=lambda done, total: progress.update(
                        task, completed=done, total=total
                    ),
                )
        finally:
            await container.database.dispose()

    try:
        summary = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"{file.name}: nothing was imported. {error}", err=True)
        raise typer.Exit(1) from error
    counts = summary.counts
    typer.echo(f"Imported {summary.meters} meters ({summary.bays} bays) from {summary.source}:")
    typer.echo(f"  meters added: {counts.created}, updated: {counts.updated},")
    typer.echo(f"  already as in the file: {counts.unchanged}")
    typer.echo(f"  zones added: {counts.zones_created}, updated: {counts.zones_updated}")


@import_app.command("roads")
def import_roads(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="OpenStreetMap extract (.osm, .osm.pbf) or SUMO network (.net.xml).",
        ),
    ],
    origin: Annotated[
        str,
        typer.Option(help="lon,lat of the centre of a SUMO network made without a projection."),
    ] = "51.389,35.6892",
) -> None:
    """Add or update road segments from a road network file (all or nothing)."""
    from shahr import bootstrap
    from shahr.kernel.errors import DomainError
    from shahr.parking import queries as parking_queries
    from shahr.traffic.gateways import read_road_file
    from shahr.traffic.services import NetworkImportReport, import_road_network

    settings = Settings()
    upgrade_schema(settings)
    lon, lat = (float(part) for part in origin.split(","))

    async def run() -> NetworkImportReport:
        container = bootstrap.build(settings)
        try:
            specs = await asyncio.to_thread(read_road_file, file, origin=(lon, lat))
            # Each segment is placed in the district holding its middle.
            districts = await parking_queries.districts(container.database)
            return await import_road_network(
                container.database,
                segments=specs,
                source=file.name,
                districts=[(d.number, d.geometry) for d in districts],
                clock=container.clock,
            )
        finally:
            await container.database.dispose()

    try:
        report = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"{file.name}: nothing was imported. {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"Imported {report.segments} road segments ({report.nodes} nodes) from {report.source};"
        f" {report.with_district} placed in a district"
    )


@import_app.command("readings")
def import_readings(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Detector readings: JSON Lines of stream payloads, or CSV"
            " (docs/traffic-feeds.md).",
        ),
    ],
) -> None:
    """Back-fill traffic history from readings files, then roll the hours and days up."""
    from rich.progress import Progress

    from shahr import bootstrap
    from shahr.traffic.gateways import TimeBounds, read_payloads
    from shahr.traffic.services import BackfillReport, backfill_readings, roll_up

    settings = Settings()
    upgrade_schema(settings)

    async def run(path: Path) -> BackfillReport:
        container = bootstrap.build(settings)
        bounds = TimeBounds()
        try:
            with Progress() as progress:
                task = progress.add_task(f"Reading {path.name}", total=None)
                report = await backfill_readings(
                    container.database,
                    container.clock,
                    payloads=read_payloads(path, bounds),
                    on_progress=lambda done: progress.update(task, completed=done),
                )
                if bounds.first and bounds.last:
                    report.rollup = await roll_up(
                        container.database, container.clock, since=bounds.first, until=bounds.last
                    )
                    report.first, report.last = bounds.first, bounds.last
                return report
        finally:
            await container.database.dispose()

    for path in files:
        report = asyncio.run(run(path))
        ingest = report.ingest
        typer.echo(
            f"{path.name}: {ingest.accepted} readings added, {ingest.duplicates} already there,"
            f" {ingest.rejected_total} refused {dict(ingest.rejected) or ''}".rstrip()
        )
        if report.rollup is not None:
            typer.echo(
                f"  rolled up {len(report.rollup.hours)} hours and {len(report.rollup.days)} days"
            )


T = TypeVar("T")
InventoryFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        help="UTF-8 CSV with a header, or GeoJSON points (.geojson); columns in"
        " docs/traffic-feeds.md.",
    ),
]
Language = Annotated[str, typer.Option("--lang", help="Language of the refused rows: fa or en.")]
By = Annotated[str, typer.Option("--by", help="Who loads the file, kept with each change.")]


def _run_with_database(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    """Run `work(database, clock)` against the configured database, then close it."""
    from shahr import bootstrap

    async def run() -> T:
        container = bootstrap.build(settings)
        try:
            return await work(container.database, container.clock)
        finally:
            await container.database.dispose()

    return asyncio.run(run())


def _refused(name: str, error: Exception, language: str) -> typer.Exit:
    """Print why a file was refused, every bad row with it, in the language asked."""
    from shahr.kernel.errors import DomainError
    from shahr.kernel.web import i18n
    from shahr.traffic.domain.inventory import InventoryFileError

    chosen: Literal["fa", "en"] = "fa" if language == "fa" else "en"
    token = i18n.current_language.set(chosen)
    try:
        if isinstance(error, DomainError):
            typer.echo(f"{name}: {i18n.gettext(error.message, **error.params)}", err=True)
        if isinstance(error, InventoryFileError):
            for problem in error.problems:
                row = i18n.gettext("Row {row}", row=problem.row)
                typer.echo(f"  {row}: {i18n.gettext(problem.message, **problem.params)}", err=True)
    finally:
        i18n.current_language.reset(token)
    return typer.Exit(1)


@import_app.command("detectors")
def import_detectors(
    file: InventoryFile,
    lang: Language = "en",
    by: By = "cli",
    within_m: Annotated[
        float,
        typer.Option(min=1.0, max=500.0, help="How far a position may be from its road (m)."),
    ] = 30.0,
) -> None:
    """Add, move or restore loops and plate cameras from a file (all or nothing)."""
    from shahr.kernel.errors import DomainError
    from shahr.traffic.gateways.inventory_files import read_inventory_file
    from shahr.traffic.services.inventory import import_detectors as load

    settings = Settings()
    upgrade_schema(settings)
    try:
        rows = read_inventory_file(file, required=("id",))
        report = _run_with_database(
            settings,
            lambda database, clock: load(
                database,
                clock,
                rows=rows,
                source=file.name,
                by=f"{by}:{file.name}",
                max_snap_m=within_m,
            ),
        )
    except DomainError as error:
        raise _refused(file.name, error, lang) from error
    counts = ", ".join(f"{kind.value} {n}" for kind, n in sorted(report.counts.items())) or "none"
    typer.echo(
        f"{file.name}: {report.rows} detectors; changes: {counts}; unchanged: {report.unchanged}"
    )


@import_app.command("cameras")
def import_cameras(file: InventoryFile, lang: Language = "en", by: By = "cli") -> None:
    """Add or update the command centre's cameras from a file (all or nothing)."""
    from shahr.kernel.errors import DomainError
    from shahr.traffic.gateways.inventory_files import read_inventory_file
    from shahr.traffic.services.cameras import import_cameras as load

    settings = Settings()
    upgrade_schema(settings)
    try:
        rows = read_inventory_file(file, required=("id", "name_fa", "lon", "lat"))
        report = _run_with_database(
            settings,
            lambda database, clock: load(
                database, clock, rows=rows, source=file.name, by=f"{by}:{file.name}"
            ),
        )
    except DomainError as error:
        raise _refused(file.name, error, lang) from error
    typer.echo(
        f"{file.name}: {report.rows} cameras; added {report.added}, updated {report.updated},"
        f" unchanged {report.unchanged}"
    )
