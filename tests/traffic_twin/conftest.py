"""Twin fixtures: SUMO (required under CI), and one simulated hour shared by the suite.

A test that needs SUMO asks for `accuracy_run` (or `twin_runs`, the congestion scenarios);
without SUMO it is skipped with the reason, unless `SHAHR_TEST_REQUIRE_SERVICES=1` (CI),
which makes it a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from shahr.demo.twin import ACCURACY_SCENARIO, Scenario, Span, build_scenario, simulate
from shahr.demo.twin.engine import sumo_available

# Saturday 7 Azar 1405, 07:00 in Tehran: the scenario's hour is a working day's morning peak.
DAY_START = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads"
TWIN_CACHE = Path(__file__).resolve().parents[2] / "var" / "twin-cache"


def require_sumo() -> None:
    if sumo_available():
        return
    reason = "sumo suite not run: Eclipse SUMO is not installed (pip install 'shahr[sumo]')"
    if os.environ.get("SHAHR_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " and SHAHR_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def accuracy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, list[Span]]:
    """The accuracy scenario built and simulated once per run (SUMO, about 15 s)."""
    require_sumo()
    scenario = build_scenario(ACCURACY_SCENARIO, tmp_path_factory.mktemp("twin") / "accuracy")
    # Two spans, so the state hand-over between SUMO runs is part of what is measured.
    return scenario, list(simulate(scenario, day_start=DAY_START, span_s=1800))


def sqlite_copy(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    """A fresh copy of the migrated SQLite template (`sqlite_template` in tests/conftest.py)."""
    import shutil

    template = cast(Path, request.getfixturevalue("sqlite_template"))
    path = tmp_path / f"{name}.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def service_url(request: pytest.FixtureRequest, service: str) -> str:
    """`service_url` from tests/conftest.py, which is a pytest plugin rather than a package."""
    root = request.config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py was not loaded"
    return cast(str, root.service_url(service))


TwinRun = tuple[Scenario, list[Span], datetime]


@pytest.fixture(scope="session")
def twin_runs() -> Callable[[str], TwinRun]:
    """Each named scenario's SUMO run, once per session (and kept in `var/twin-cache/` by
    the scenario's digest, so a rerun with the same specs does not run SUMO again)."""
    from shahr.demo.twin.accuracy_cli import scenario_run

    require_sumo()
    runs: dict[str, TwinRun] = {}

    def run(name: str) -> TwinRun:
        if name not in runs:
            runs[name] = scenario_run(name, TWIN_CACHE)
        return runs[name]

    return run
