"""The `shahr` command line: serve, worker, db, demo and import subcommands."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from shahr.kernel.settings import Settings
from shahr.startup import settings_fit_to_start, upgrade_schema

app = typer.Typer(help="Shahr (شهر): the smart-city platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)
import_app = typer.Typer(help="Load a city's data from files.", no_args_is_help=True)
simulate_app = typer.Typer(help="Digital twins that feed the platform.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(import_app, name="import")
app.add_typer(simulate_app, name="simulate")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or update the tables to the newest schema."""
    settings = Settings()
    upgrade_schema(settings)
    typer.echo(f"database is up to date: {settings.sqlalchemy_url.split('@')[-1]}")


@demo_app.command("seed")
def demo_seed() -> None:
    """Load the demo city (idempotent) and print the demo accounts."""
    settings = Settings(demo=True)
    upgrade_schema(settings)
    _seed_demo(settings)


def _seed_demo(settings: Settings) -> None:
    from shahr import bootstrap  # wiring loads every area
    from shahr.demo.services import seed_demo_city

    async def seed() -> None:
        container = bootstrap.build(settings)
        try:
            report = await seed_demo_city(container)
        finally:
            await container.database.dispose()
        for line in report:
            typer.echo(line)

    asyncio.run(seed())


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


@simulate_app.command("traffic")
def simulate_traffic(
    hours: Annotated[float, typer.Option(min=0.0, help="Simulated hours to run.")] = 1.0,
    speed: Annotated[
        float, typer.Option(min=0.0, help="Simulated seconds per second; 0: as fast as possible.")
    ] = 1.0,
    replay: Annotated[bool, typer.Option(help="Replay the recorded day, not SUMO.")] = False,
    start: Annotated[
        str | None, typer.Option(help="ISO date-time to start at (Tehran time without a zone).")
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="Record the run into this directory as a replay.")
    ] = None,
) -> None:
    """Run the SUMO digital twin: its detectors and cameras publish onto the sensor stream."""
    from shahr.demo.twin.command import simulate_traffic as run_twin

    settings = Settings()
    if record is None:
        upgrade_schema(settings)
    run_twin(settings, hours=hours, speed=speed, replay=replay, start=start, record=record)


@app.command()
def serve(
    demo: bool = typer.Option(False, "--demo", help="Migrate, seed the demo city and run it."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Server processes (city scale: one per core)."),
) -> None:
    """Serve the web app and API."""
    import uvicorn  # the server is loaded only by the command that serves

    if demo:
        os.environ["SHAHR_DEMO"] = "1"
        # The demo runs on plain http on the laptop; Secure cookies would never be sent back.
        os.environ.setdefault("SHAHR_COOKIE_SECURE", "0")
    settings = settings_fit_to_start()
    if demo:
        upgrade_schema(settings)
        _seed_demo(settings)
        typer.echo(f"Shahr demo: http://{host}:{port}/")
    # The client's address (sign-in limits key on it) comes from X-Forwarded-For only when
    # the connection is from one of these proxies; from anyone else the header is ignored.
    trusted_proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    uvicorn.run(
        "shahr.cli:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=trusted_proxies or None,
        log_level="info",
        log_config=None,  # our JSON logs (configured in the factory, in every worker process)
        access_log=False,  # one JSON line per request comes from the metrics middleware
    )


def create_app_from_environment():  # type: ignore[no-untyped-def]  # uvicorn factory
    """Build the app from `SHAHR_*` variables (what `uvicorn --factory` calls)."""
    from shahr import bootstrap
    from shahr.kernel.logs import configure_logging
    from shahr.kernel.memory import settle_in_this_process
    from shahr.web import create_app

    configure_logging()
    settle_in_this_process()
    return create_app(bootstrap.build(Settings()))


@app.command()
def worker() -> None:
    """Run stream consumers and scheduled jobs (city scale)."""
    from shahr import bootstrap
    from shahr.kernel.logs import configure_logging
    from shahr.kernel.memory import settle_in_this_process, settle_long_lived

    settings = settings_fit_to_start()
    configure_logging()
    settle_in_this_process()

    async def run() -> None:
        container = bootstrap.build(settings)
        await container.start()
        settle_long_lived()
        typer.echo("shahr worker: consuming; Ctrl-C to stop")
        try:
            await asyncio.Event().wait()
        finally:
            await container.stop()

    asyncio.run(run())


def main() -> None:
    app()
