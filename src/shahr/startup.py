"""Before a process starts: its settings checked (or one line saying why not), its schema."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import typer

from shahr.kernel.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def upgrade_database(settings: Settings) -> None:
    """Apply every area's migrations up to its newest (idempotent; one branch per area)."""
    from alembic import command  # only the commands that migrate load Alembic
    from alembic.config import Config

    config = Config(str(PROJECT_DIR / "alembic.ini"))
    config.attributes["url"] = settings.sqlalchemy_url
    # Alembic's env.py runs its own event loop; a thread keeps it apart from any running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, config, "heads").result()


def upgrade_schema(settings: Settings) -> None:
    """`upgrade_database` for a command: a database that does not answer is one line on
    stderr and exit 1, not a traceback."""
    from shahr.kernel.outages import outage_of

    try:
        upgrade_database(settings)
    except Exception as error:
        if outage_of(error) is None:
            raise
        where = settings.sqlalchemy_url.split("@")[-1]
        typer.echo(f"the database at {where} is not answering ({type(error).__name__})", err=True)
        raise typer.Exit(1) from None


def settings_fit_to_start() -> Settings:
    """The settings, once the wiring they pick has been checked; else one line on stderr
    saying what to change (no traceback: the operator needs the reason, not our stack)."""
    from pydantic import ValidationError

    from shahr import bootstrap
    from shahr.kernel.container import StartupRefusedError

    try:
        settings = Settings()
        # Wiring connects to nothing; it is where a production process refuses a sandbox.
        bootstrap.build(settings)
    except ValidationError as error:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        _refuse(f"the settings are not valid: {reasons}")
    except StartupRefusedError as error:
        _refuse(str(error))
    return settings


def _refuse(reason: str) -> NoReturn:
    typer.echo(f"shahr: {reason}", err=True)
    raise typer.Exit(2)
