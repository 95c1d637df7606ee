"""History: rollups, indices by area and time, this week against last year, back-fill, pruning."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shahr.bootstrap import Container
from shahr.cli import app
from shahr.kernel.clock import FixedClock
from shahr.traffic import services
from shahr.traffic.domain import DetectorKind
from shahr.traffic.domain.readings import batch_payload
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.indices import Scope, index_profile, indices, week_comparison
from shahr.traffic.services.history import tehran_day_bounds

from .network import DETECTORS, grid_segments, reading

WHOLE_GRID = {
    "type": "Polygon",
    "coordinates": [
        [[51.40, 35.70], [51.42, 35.70], [51.42, 35.72], [51.40, 35.72], [51.40, 35.70]]
    ],
}
COUNTERS = [d.id for d in DETECTORS if d.kind is not DetectorKind.plate_camera]


@pytest.fixture
async def district_grid(container: Container) -> Container:
    await services.import_road_network(
        container.database,
        segments=grid_segments(),
        source="test grid",
        districts=[(6, WHOLE_GRID)],
        clock=container.clock,
    )
    await services.register_detectors(
        container.database, detectors=DETECTORS, clock=container.clock
    )
    return container


def an_hour(start: datetime, speed_kmh: float) -> bytes:
    """Six ten-minute readings from every counting detector.

    Occupancy agrees with the flow (300 veh/h) and speed at 6.5 m a vehicle, so the speed
    from occupancy does not pull the link speed below the loops' spot speed.
    """
    occupancy = 300 / speed_kmh * 6.5 / 10
    return batch_payload(
        reading(
            d,
            start + timedelta(minutes=10 * (k + 1)),
            count=50,
            period_s=600,
            speed_kmh=speed_kmh,
            occupancy_pct=occupancy,
        )
        for d in COUNTERS
        for k in range(6)
    )


async def test_an_hour_rolls_up_into_indices_for_segment_corridor_district_and_city(
    district_grid: Container, clock: FixedClock
) -> None:
    database = district_grid.database
    hour = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # 08:30 in Tehran, a Friday
    await services.ingest_batch(database, clock, [an_hour(hour, 20.0)], backfill=True)

    report = await services.roll_up(database, clock, since=hour, until=hour + timedelta(hours=1))

    assert report.hours == [hour]
    period = {"since": hour, "until": hour + timedelta(hours=1)}
    segment = await indices(database, scope=Scope.segment, scope_id="s01-11", **period)
    district = await indices(database, scope=Scope.district, scope_id="6", **period)
    corridor = await indices(database, scope=Scope.corridor, scope_id="Enghelab", **period)
    city = await indices(database, scope=Scope.city, scope_id=None, **period)
    assert segment is not None
    # 20 km/h on a 60 km/h arterial: three times the free-flow travel time.
    assert segment.travel_time_index == pytest.approx(3.0)
    assert segment.congestion_pct == pytest.approx(200.0)
    assert segment.mean_speed_kmh == pytest.approx(20.0)
    assert district is not None
    assert corridor is not None
    assert city is not None
    assert city.vkt == pytest.approx(district.vkt)
    assert city.travel_time_index > 1.0
    profile = await index_profile(database, scope=Scope.city, scope_id=None, **period)
    assert [(c.weekday, c.hour) for c in profile] == [(6, 8)]  # Friday, 08:00 in Tehran


async def test_this_week_is_compared_with_the_same_week_last_year_by_district(
    district_grid: Container, clock: FixedClock
) -> None:
    database = district_grid.database
    week = date(2026, 11, 14)  # a Saturday
    for start, speed in ((week, 20.0), (week - timedelta(weeks=52), 40.0)):
        first, _ = tehran_day_bounds(start)
        _, last = tehran_day_bounds(start + timedelta(days=6))
        payloads = [
            an_hour(tehran_day_bounds(start + timedelta(days=d))[0] + timedelta(hours=8), speed)
            for d in range(7)
        ]
        await services.ingest_batch(database, clock, payloads, backfill=True)
        await services.roll_up(database, clock, since=first, until=last)

    compared = {c.scope_id: c for c in await week_comparison(database, week_start=week)}

    assert compared["6"].this_week is not None
    assert compared["6"].last_year is not None
    assert compared["6"].tti_change_pct is not None
    assert compared["6"].tti_change_pct > 50
    assert compared["6"].vkt_change_pct == pytest.approx(0.0)


async def test_pruning_keeps_history_and_drops_raw_readings_past_the_policy(
    district_grid: Container, clock: FixedClock
) -> None:
    database = district_grid.database
    old = clock.now() - timedelta(days=20)
    await services.ingest_batch(database, clock, [an_hour(old, 30.0)], backfill=True)
    await services.roll_up(database, clock, since=old, until=old + timedelta(hours=1))

    removed = await services.prune(database, clock)

    assert removed > 0
    async with TrafficUnitOfWork(database) as uow:
        assert await uow.readings.sums_between(old, old + timedelta(hours=1)) == []
        assert await uow.states.between(old, old + timedelta(hours=1)) == []
        assert await uow.history.segment_hours(old, old + timedelta(hours=1))
        assert await uow.history.area_hours("city", old, old + timedelta(hours=1))


def test_shahr_import_readings_back_fills_csv_and_json_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    env = {"SHAHR_DATABASE_URL": url}
    roads = tmp_path / "roads.osm"
    roads.write_text((Path(__file__).parent / "payloads" / "test_streets.osm").read_text())
    runner = CliRunner()
    assert runner.invoke(app, ["import", "roads", str(roads)], env=env).exit_code == 0

    async def register() -> None:
        from shahr.kernel.db import Database
        from shahr.kernel.settings import Settings
        from shahr.traffic.domain import DetectorSpec

        database = Database(Settings(database_url=url).sqlalchemy_url)
        try:
            await services.register_detectors(
                database, detectors=[DetectorSpec(id="loop-1", segment_id="w100-0f", lane=1)]
            )
        finally:
            await database.dispose()

    import asyncio

    asyncio.run(register())
    csv_file = tmp_path / "readings.csv"
    csv_file.write_text(
        "detector_id,observed_at,period_s,count,occupancy_pct,speed_kmh\n"
        "loop-1,2025-03-01T05:01:00Z,60,12,9.5,38\n"
        "loop-1,2025-03-01T05:02:00Z,60,14,11,\n"
        "ghost,2025-03-01T05:02:00Z,60,14,11,30\n"
    )
    lines = tmp_path / "readings.jsonl"
    lines.write_text(
        json.dumps(
            {
                "detector_id": "loop-1",
                "observed_at": "2025-03-01T05:01:00Z",
                "period_s": 60,
                "count": 12,
                "occupancy_pct": 9.5,
                "speed_kmh": 38,
            }
        )
        + "\nnot json\n"
    )

    result = runner.invoke(app, ["import", "readings", str(csv_file), str(lines)], env=env)

    assert result.exit_code == 0, result.output
    assert "readings.csv: 2 readings added, 0 already there, 1 refused" in result.output
    assert "readings.jsonl: 0 readings added, 1 already there, 1 refused" in result.output
    assert "rolled up 1 hours" in result.output
