"""Eclipse SUMO as installed from PyPI (`pip install 'shahr[sumo]'`): finding it, running it.

`import sumo` (the `eclipse-sumo` wheel) knows where its binaries and `tools/` live and sets
`SUMO_HOME`; every program and tool runs as a child process with that variable set, so
nothing in this process depends on SUMO's own Python modules.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

# SUMO never needs the network; a whole simulated day of the demo grid takes minutes.
PROGRAM_TIMEOUT_S = 30 * 60
# How much of a failing program's output to keep in the error.
ERROR_TAIL_CHARS = 2000


class SumoNotInstalledError(RuntimeError):
    """Eclipse SUMO is not importable here; install it with `pip install 'shahr[sumo]'`."""


class SumoFailedError(RuntimeError):
    """A SUMO program or tool exited with an error; the message ends with its output."""


@cache
def sumo_home() -> Path | None:
    """Where the `eclipse-sumo` wheel put SUMO, or None when it is not installed."""
    try:
        module = importlib.import_module("sumo")
    except ImportError:
        return None
    home = getattr(module, "SUMO_HOME", None) or os.environ.get("SUMO_HOME")
    if not home or not (Path(home) / "bin").is_dir():
        return None
    return Path(home)


def sumo_available() -> bool:
    return sumo_home() is not None


def require_sumo() -> Path:
    home = sumo_home()
    if home is None:
        raise SumoNotInstalledError(
            "Eclipse SUMO is not installed: `pip install 'shahr[sumo]'`"
            " (eclipse-sumo, sumolib, traci from PyPI)."
        )
    return home


def sumo_version() -> str:
    """The `eclipse-sumo` wheel's version, e.g. `1.28.0`."""
    from importlib.metadata import version

    require_sumo()
    return version("eclipse-sumo")


def run_program(name: str, arguments: Sequence[str], *, cwd: Path) -> str:
    """Run one of SUMO's programs (`sumo`, `netgenerate`, ...) in `cwd`; its output."""
    home = require_sumo()
    suffix = ".exe" if sys.platform == "win32" else ""
    return _run([str(home / "bin" / f"{name}{suffix}"), *arguments], cwd=cwd, home=home)


def run_tool(script: str, arguments: Sequence[str], *, cwd: Path) -> str:
    """Run one of SUMO's Python tools (`randomTrips.py`, ...) with this interpreter."""
    home = require_sumo()
    return _run([sys.executable, str(home / "tools" / script), *arguments], cwd=cwd, home=home)


def _run(command: list[str], *, cwd: Path, home: Path) -> str:
    environment = {**os.environ, "SUMO_HOME": str(home)}
    # The command is a fixed SUMO binary or tool with arguments this package builds.
    completed = subprocess.run(  # noqa: S603
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PROGRAM_TIMEOUT_S,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise SumoFailedError(
            f"{Path(command[0]).name if command[0] != sys.executable else command[1]}"
            f" exited with {completed.returncode}: {output[-ERROR_TAIL_CHARS:]}"
        )
    return output
