"""The `shahr` command line: serve, worker, db, demo and import subcommands."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from shahr.cli_import import import_app
from shahr.kernel.settings import Settings
from shahr.startup import settings_fit_to_start, upgrade_schema

app = typer.Typer(help="Shahr (شهر): the smart-city platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)
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
