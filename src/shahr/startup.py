"""Before a process starts: the settings it was given, checked, or one line saying why not."""

from __future__ import annotations

from typing import NoReturn

import typer

from shahr.kernel.settings import Settings


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
