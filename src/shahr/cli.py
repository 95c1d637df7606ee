"""The `shahr` command line: serve, worker, db, demo and import subcommands."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer

from shahr.kernel.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[2]

app = typer.Typer(help="Shahr (شهر): the smart-city platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)
import_app = typer.Typer(help="Load a city's data from files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(import_app, name="import")


def upgrade_database(settings: Settings) -> None:
    """Apply every area's migrations up to its newest (idempotent; one branch per area)."""
    from alembic import command  # only the commands that migrate load Alembic
    from alembic.config import Config

    config = Config(str(PROJECT_DIR / "alembic.ini"))
    config.attributes["url"] = settings.sqlalchemy_url
    # Alembic's env.py runs its own event loop; a thread keeps it apart from any running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, config, "heads").result()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or update the tables to the newest schema."""
    settings = Settings()
    upgrade_database(settings)
    typer.echo(f"database is up to date: {settings.sqlalchemy_url.split('@')[-1]}")


@demo_app.command("seed")
def demo_seed() -> None:
    """Load the demo city (idempotent) and print the demo accounts."""
    settings = Settings(demo=True)
    upgrade_database(settings)
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
    upgrade_database(settings)
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
        settings = Settings()
        upgrade_database(settings)
        _seed_demo(settings)
        typer.echo(f"Shahr demo: http://{host}:{port}/")
    uvicorn.run(
        "shahr.cli:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        log_config=None,  # our JSON logs (configured in the factory, in every worker process)
        access_log=False,  # one JSON line per request comes from the metrics middleware
    )


def create_app_from_environment():  # type: ignore[no-untyped-def]  # uvicorn factory
    """Build the app from `SHAHR_*` variables (what `uvicorn --factory` calls)."""
    from shahr import bootstrap
    from shahr.kernel.logs import configure_logging
    from shahr.web import create_app

    configure_logging()
    return create_app(bootstrap.build(Settings()))


@app.command()
def worker() -> None:
    """Run stream consumers and scheduled jobs (city scale)."""
    from shahr import bootstrap
    from shahr.kernel.logs import configure_logging

    configure_logging()

    async def run() -> None:
        container = bootstrap.build(Settings())
        await container.start()
        typer.echo("shahr worker: consuming; Ctrl-C to stop")
        try:
            await asyncio.Event().wait()
        finally:
            await container.stop()

    asyncio.run(run())


def main() -> None:
    app()
