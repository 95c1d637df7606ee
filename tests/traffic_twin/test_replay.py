"""The recorded day: small, whole, and enough for the demo's live map without SUMO."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shahr import bootstrap
from shahr.cli import app
from shahr.demo.twin import (
    DEMO_RECORDING,
    DEMO_SCENARIO,
    Pace,
    Recording,
    TwinFeed,
    read_recording,
)
from shahr.demo.twin.replay import DAY_S, write_recording
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.traffic.domain.readings import check_passage, check_reading
from shahr.traffic.queries import segment_states

from .conftest import DAY_START, sqlite_copy

# 08:00 on a Saturday in Tehran: the morning peak of the recorded day.
A_TEHRAN_PEAK = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
MAX_RECORDING_BYTES = 2_000_000


@pytest.fixture(scope="module")
def recording() -> Recording:
    return read_recording(DEMO_RECORDING)


def test_the_shipped_recording_is_small_and_covers_a_whole_day(recording: Recording) -> None:
    size = sum(path.stat().st_size for path in DEMO_RECORDING.iterdir() if path.is_file())

    assert size < MAX_RECORDING_BYTES
    # Recorded from the scenario the demo runs when SUMO is installed.
    assert recording.scenario.digest == DEMO_SCENARIO.digest
    detectors = {d.id for d in recording.scenario.detectors}
    cameras = {c.id for c in recording.scenario.cameras}
    assert {r.detector_id for r in recording.readings} == detectors
    assert {p.camera_id for p in recording.passages} == cameras
    ends = {r.end_s for r in recording.readings}
    assert min(ends) == recording.scenario.period_s
    assert max(ends) == DAY_S
    assert len(ends) == DAY_S // recording.scenario.period_s


def test_a_replayed_hour_is_what_field_devices_would_send(recording: Recording) -> None:
    span = recording.span(day_start=DAY_START, begin_s=8 * 3600, end_s=9 * 3600)

    assert len(span.readings) == 60 * len(recording.scenario.detectors)
    assert span.passages
    for reading in span.readings[:: len(span.readings) // 50]:
        assert check_reading(reading.to_payload(), reading.observed_at) == reading
    for passage in span.passages[:50]:
        assert check_passage(passage.to_payload(), passage.observed_at) == passage


def test_a_recording_reads_back_as_it_was_written(recording: Recording, tmp_path: Path) -> None:
    hour = recording.span(day_start=DAY_START, begin_s=3600, end_s=7200)

    write_recording(tmp_path, recording.scenario, [hour], day_start=DAY_START)
    again = read_recording(tmp_path).span(day_start=DAY_START, begin_s=3600, end_s=7200)

    assert again.readings == hour.readings
    assert again.passages == hour.passages


def test_pace_sends_a_message_when_its_simulated_time_comes() -> None:
    clock = FixedClock(A_TEHRAN_PEAK)
    real_time = Pace(clock)
    ten_times = Pace(clock, speed=10, sim_anchor=DAY_START)

    assert real_time.due_at(A_TEHRAN_PEAK + timedelta(seconds=60)) == A_TEHRAN_PEAK + timedelta(
        seconds=60
    )
    assert ten_times.due_at(DAY_START + timedelta(seconds=600)) == A_TEHRAN_PEAK + timedelta(
        seconds=60
    )


async def test_the_demo_feed_without_sumo_puts_live_traffic_on_the_map(
    recording: Recording, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=sqlite_copy(request, tmp_path, "demo"),
        var_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        run_jobs=False,
    )
    clock = FixedClock(A_TEHRAN_PEAK)
    container = bootstrap.build(settings, clock=clock)
    feed = TwinFeed(
        container.stream,
        container.database,
        clock,
        city=settings.city,
        var_dir=settings.var_dir,
        source="replay",
    )
    container.background.append(feed)
    await container.start()
    try:
        # It catches up on the last five minutes at once, then waits for the clock.
        for _ in range(300):
            if feed.published:
                break
            await asyncio.sleep(0.05)
        await container.stream.drain()
        states = await segment_states(container.database)
    finally:
        await container.stop()

    assert feed.published >= 4 * len(recording.scenario.detectors)
    assert len(states) == len(recording.scenario.edges)
    assert states[0].interval_start == A_TEHRAN_PEAK - timedelta(minutes=1)
    assert {s.estimated for s in states} == {True, False}


def test_simulate_traffic_replays_onto_the_platform_from_the_command_line(
    recording: Recording,
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database_path = tmp_path / "cli.db"
    database_path.write_bytes(sqlite_template.read_bytes())
    monkeypatch.setenv("SHAHR_DATABASE_URL", f"sqlite:///{database_path}")
    monkeypatch.setenv("SHAHR_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHAHR_SECRET_KEY", "test-secret-key-not-for-production")
    monkeypatch.setenv("SHAHR_RUN_JOBS", "0")
    # Five minutes ago, so every reading is inside the platform's late window.
    start = datetime.now(UTC) - timedelta(minutes=5)

    result = CliRunner().invoke(
        app,
        ["simulate", "traffic", "--replay", "--hours", "0.05", "--speed", "0",
         "--start", start.isoformat()],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "published" in result.output

    async def states() -> int:
        database = Database(Settings(database_url=f"sqlite:///{database_path}").sqlalchemy_url)
        try:
            return len(await segment_states(database))
        finally:
            await database.dispose()

    assert asyncio.run(states()) == len(recording.scenario.edges)


def test_simulate_traffic_records_a_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAHR_VAR_DIR", str(tmp_path / "var"))

    result = CliRunner().invoke(
        app,
        ["simulate", "traffic", "--replay", "--hours", "1", "--start", "2026-11-28T08:00",
         "--record", str(tmp_path / "recorded")],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    recorded = read_recording(tmp_path / "recorded")
    detectors = len(recorded.scenario.detectors)
    assert len(recorded.readings) == 60 * detectors
    assert min(r.end_s for r in recorded.readings) == 8 * 3600 + 60
