"""The path an outside evaluator takes: a congested scenario's readings and passages written
to a JSON Lines file, fed with `shahr import readings`, and the states read back from
`GET /api/v1/traffic/states?at=...`, give the same states as the twin's own minute-by-minute
ingest. The figures the accuracy tests assert therefore hold on that path too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from shahr.cli import app
from shahr.demo.twin import Span, measure_accuracy
from shahr.demo.twin.seed import load_into_platform
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.traffic.domain.readings import encode
from shahr.traffic.queries import segment_states

from .conftest import TwinRun, sqlite_copy

pytestmark = [pytest.mark.sumo, pytest.mark.timeout(900)]

SCENARIO = "arterials"
MINUTES = 25  # under the half hour after which detectors learn their vehicle length
Key = tuple[str, datetime]


def _first_minutes(run: TwinRun) -> tuple[Span, list[datetime]]:
    scenario, spans, day_start = run
    until = day_start + timedelta(seconds=spans[0].begin_s + MINUTES * 60)
    readings = [r for s in spans for r in s.readings if r.observed_at <= until]
    passages = [p for s in spans for p in s.passages if p.observed_at < until]
    span = Span(spans[0].begin_s, spans[0].begin_s + MINUTES * 60, readings, passages, [], None)
    period = timedelta(seconds=scenario.period_s)
    return span, sorted({r.observed_at - period for r in readings})


def _view(state: Any) -> tuple[Any, ...]:
    values = state if isinstance(state, dict) else state.__dict__
    return (
        round(values["speed_kmh"], 6),
        round(values["flow_veh_h"], 6),
        values["los"],
        values["estimated"],
        values["source"],
    )


async def _through_the_twin(
    url: str, run: TwinRun, span: Span, minutes: list[datetime]
) -> dict[Key, tuple[Any, ...]]:
    scenario, _, day_start = run
    database = Database(Settings(database_url=url).sqlalchemy_url)
    try:
        await measure_accuracy(
            database, FixedClock(day_start), scenario, [span], day_start=day_start, finalise=False
        )
        return {
            (s.segment_id, minute): _view(s)
            for minute in minutes
            for s in await segment_states(database, at=minute)
        }
    finally:
        await database.dispose()


async def _through_the_api(url: str, minutes: list[datetime]) -> dict[Key, tuple[Any, ...]]:
    from shahr import bootstrap
    from shahr.web import create_app

    settings = Settings(database_url=url, run_jobs=False, run_simulators=False)
    container = bootstrap.build(settings)
    await container.start()
    try:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            found = {}
            for minute in minutes:
                response = await http.get(
                    "/api/v1/traffic/states", params={"at": minute.isoformat()}
                )
                assert response.status_code == 200, response.text
                for state in response.json():
                    found[(state["segment_id"], minute)] = _view(state)
            return found
    finally:
        await container.stop()


def test_shahr_import_readings_and_the_states_api_give_the_twin_s_states(
    twin_runs: Callable[[str], TwinRun], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run = twin_runs(SCENARIO)
    scenario, _, day_start = run
    span, minutes = _first_minutes(run)
    expected = asyncio.run(
        _through_the_twin(sqlite_copy(request, tmp_path, "twin"), run, span, minutes)
    )

    url = sqlite_copy(request, tmp_path, "imported")

    async def load_network() -> None:
        database = Database(Settings(database_url=url).sqlalchemy_url)
        try:
            await load_into_platform(database, scenario, clock=FixedClock(day_start))
        finally:
            await database.dispose()

    asyncio.run(load_network())
    lines = [encode(r.to_payload()) for r in span.readings]
    lines += [encode(p.to_payload()) for p in span.passages]
    feed = tmp_path / "readings.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(
        app, ["import", "readings", str(feed)], env={"SHAHR_DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    assert f"{len(span.readings)} readings added, 0 already there, 0 refused" in result.output

    imported = asyncio.run(_through_the_api(url, minutes))

    assert len(expected) == len(scenario.edges) * len(minutes)
    assert imported == expected
