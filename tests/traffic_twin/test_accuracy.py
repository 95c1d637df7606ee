"""Accuracy against ground truth: the platform's segment states next to SUMO's edgeData.

The issue's targets: speed within 10 % MAPE on monitored segments and 25 % on estimated
ones, flow within 10 %, and the identities flow = count x 3600 / period and
flow = density x speed. The figures are printed at the end of the run and kept in
`var/twin-accuracy*.json`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import nats
import nats.js.errors
import pytest

from shahr import bootstrap
from shahr.demo.twin import Scenario, Span, measure_accuracy, messages_of, publish
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.kernel.stream import JetStreamStream
from shahr.traffic.ingest import TrafficIngestConsumer

from .conftest import DAY_START, service_url, sqlite_copy

pytestmark = pytest.mark.sumo

PROJECT_DIR = Path(__file__).resolve().parents[2]
SPEED_MONITORED_PCT = 10.0
SPEED_ESTIMATED_PCT = 25.0
FLOW_PCT = 10.0
IDENTITY_TOLERANCE = 1e-6
# One message per reading or passage, as devices send: a few minutes show the path.
STREAMED_MINUTES = 5


async def test_estimates_are_within_the_targets_of_sumo_ground_truth(
    accuracy_run: tuple[Scenario, list[Span]],
    database_url: str,
    request: pytest.FixtureRequest,
    show_figures: Callable[[str], None],
) -> None:
    scenario, spans = accuracy_run
    database = Database(Settings(database_url=database_url).sqlalchemy_url)
    try:
        report = await measure_accuracy(
            database, FixedClock(DAY_START), scenario, spans, day_start=DAY_START
        )
    finally:
        await database.dispose()
    backend = request.node.callspec.id
    show_figures(f"[{backend}] {report.table()}")
    name = "twin-accuracy.json" if backend == "sqlite" else f"twin-accuracy-{backend}.json"
    report.write(PROJECT_DIR / "var" / name)

    assert report.intervals == 60
    assert report.monitored_segments == len(scenario.monitored_edges)
    # Compared over 5-minute means: over one minute a mid-block loop and the whole edge
    # see different vehicles, which is the comparison's noise, not the estimate's error
    # (both figures are printed; docs/decisions/0013-sumo-digital-twin.md).
    assert report.speed_monitored_5min.mape_pct is not None
    assert report.speed_monitored_5min.mape_pct < SPEED_MONITORED_PCT
    assert report.speed_unmonitored_5min.mape_pct is not None
    assert report.speed_unmonitored_5min.mape_pct < SPEED_ESTIMATED_PCT
    assert report.flow_monitored_5min.mape_pct is not None
    assert report.flow_monitored_5min.mape_pct < FLOW_PCT
    assert report.flow_from_counts_max_error < IDENTITY_TOLERANCE
    assert report.flow_density_speed_max_error < IDENTITY_TOLERANCE


@pytest.mark.parametrize("shape", ["embedded", pytest.param("nats", marks=pytest.mark.nats)])
async def test_readings_sent_through_the_stream_give_the_same_states_as_direct_ingest(
    accuracy_run: tuple[Scenario, list[Span]],
    shape: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    scenario, spans = accuracy_run
    first_minutes = [_first_minutes(spans[0], STREAMED_MINUTES)]
    direct_database = Database(
        Settings(database_url=sqlite_copy(request, tmp_path, "direct")).sqlalchemy_url
    )
    try:
        direct = await measure_accuracy(
            direct_database,
            FixedClock(DAY_START),
            scenario,
            first_minutes,
            day_start=DAY_START,
            finalise=False,  # the interval job is the same code either way; ingest is not
        )
    finally:
        await direct_database.dispose()

    nats_url = service_url(request, "nats") if shape == "nats" else None
    city = f"twin{uuid.uuid4().hex[:8]}"  # its own JetStream streams and consumers
    settings = Settings(
        database_url=sqlite_copy(request, tmp_path, "streamed"),
        nats_url=nats_url,
        city=city,
        var_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        run_jobs=False,
    )
    clock = FixedClock(DAY_START)
    container = bootstrap.build(settings, clock=clock)
    if nats_url is not None:
        # This process stands in for a `shahr worker`: web replicas do not consume.
        container.background.append(
            TrafficIngestConsumer(
                container.database, clock, container.stream, city=city, plate_secret=lambda: ""
            )
        )
    await container.start()

    async def through_the_stream(minute: Span) -> None:
        # Each reading and passage on its own device subject, as the field devices send.
        await publish(container.stream, messages_of(minute, city=city))
        await container.stream.drain()

    try:
        streamed = await measure_accuracy(
            container.database,
            clock,
            scenario,
            first_minutes,
            day_start=DAY_START,
            send=through_the_stream,
            finalise=False,
        )
    finally:
        await container.stop()
        if nats_url is not None:
            await _delete_streams(nats_url, city)

    assert streamed.intervals == STREAMED_MINUTES
    assert streamed.to_json() == direct.to_json()


def _first_minutes(span: Span, minutes: int) -> Span:
    end_s = span.begin_s + minutes * 60
    until = DAY_START + timedelta(seconds=end_s)
    return Span(
        begin_s=span.begin_s,
        end_s=end_s,
        readings=[r for r in span.readings if r.observed_at <= until],
        passages=[p for p in span.passages if p.observed_at < until],
        truth=[t for t in span.truth if t.begin_s < end_s],
        state=None,
    )


async def _delete_streams(url: str, city: str) -> None:
    client = await nats.connect(url)
    try:
        jsm = client.jsm()
        for name in JetStreamStream(url, city=city).stream_names.values():
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await jsm.delete_stream(name)
    finally:
        await client.close()
