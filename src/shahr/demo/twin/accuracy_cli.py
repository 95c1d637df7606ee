"""The accuracy figures of one twin scenario, for iterating on the traffic state:

    PYTHONPATH=src .venv/bin/python -m shahr.demo.twin.accuracy_cli grid [--database-url URL]

Builds and runs the scenario in SUMO once (kept under `--cache`, by the scenario's digest),
feeds its readings minute by minute to a fresh SQLite database (or the one named, whose
traffic tables are emptied first), prints the table and writes the JSON to
`var/twin-accuracy-<scenario>[-<backend>].json`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from shahr.demo.twin.accuracy import AccuracyReport, measure_accuracy
from shahr.demo.twin.cache import simulated
from shahr.demo.twin.run import Span
from shahr.demo.twin.scenario import Scenario
from shahr.demo.twin.scenario_specs import (
    ACCURACY_SCENARIO,
    CONGESTION_SCENARIOS,
    DEMO_SCENARIO,
    ScenarioSpec,
)
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings

# Saturday 7 Azar 1405, 07:00 in Tehran: a working day's morning.
DAY_START = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)
# The demo's day from Tehran's midnight, measured over its evening peak (18:00-19:00).
DEMO_DAY_START = datetime(2026, 11, 27, 20, 30, tzinfo=UTC)
DEMO_PEAK_S = (18 * 3600, 19 * 3600)
SCENARIO_NAMES = (*CONGESTION_SCENARIOS, ACCURACY_SCENARIO.name, DEMO_SCENARIO.name)
DEFAULT_CACHE = Path("var") / "twin-cache"


def scenario_run(name: str, cache: Path) -> tuple[Scenario, list[Span], datetime]:
    """The named scenario's SUMO run (from the cache when there), and its day's start."""
    if name == DEMO_SCENARIO.name:
        scenario, spans = simulated(
            DEMO_SCENARIO, cache, day_start=DEMO_DAY_START, window=DEMO_PEAK_S
        )
        return scenario, spans, DEMO_DAY_START
    spec: ScenarioSpec = (
        ACCURACY_SCENARIO if name == ACCURACY_SCENARIO.name else CONGESTION_SCENARIOS[name]
    )
    scenario, spans = simulated(spec, cache, day_start=DAY_START)
    return scenario, spans, DAY_START


def fresh_sqlite() -> str:
    directory = Path(tempfile.mkdtemp(prefix="shahr-accuracy-"))
    return f"sqlite:///{directory / 'shahr.db'}"


async def _empty_traffic_tables(url: str) -> None:
    from sqlalchemy import delete

    from shahr.bootstrap import load_all_tables

    tables = [t for t in load_all_tables().sorted_tables if t.name.startswith("traffic_")]
    database = Database(Settings(database_url=url).sqlalchemy_url)
    try:
        async with database.engine.begin() as connection:
            for table in reversed(tables):
                await connection.execute(delete(table))
    finally:
        await database.dispose()


async def measure(
    url: str, scenario: Scenario, spans: Sequence[Span], day_start: datetime
) -> AccuracyReport:
    database = Database(Settings(database_url=url).sqlalchemy_url)
    try:
        return await measure_accuracy(
            database, FixedClock(day_start), scenario, spans, day_start=day_start
        )
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shahr.demo.twin.accuracy_cli")
    parser.add_argument("scenario", choices=SCENARIO_NAMES)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="default: var/twin-accuracy-<scenario>.json")
    arguments = parser.parse_args(argv)

    from shahr.startup import upgrade_database

    started = time.monotonic()
    scenario, spans, day_start = scenario_run(arguments.scenario, arguments.cache)
    simulated_s = time.monotonic() - started
    url = arguments.database_url or fresh_sqlite()
    upgrade_database(Settings(database_url=url))
    if arguments.database_url:
        asyncio.run(_empty_traffic_tables(url))
    report = asyncio.run(measure(url, scenario, spans, day_start))
    backend = url.split(":", 1)[0].split("+", 1)[0]
    print(report.table())
    print(
        f"SUMO (or cache) {simulated_s:.1f} s; platform ({backend})"
        f" {time.monotonic() - started - simulated_s:.1f} s"
    )
    suffix = "" if backend == "sqlite" else f"-{backend}"
    path = arguments.json or Path("var") / f"twin-accuracy-{arguments.scenario}{suffix}.json"
    report.write(path)
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
