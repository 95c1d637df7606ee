"""Segment state beyond one batch: estimates, closing intervals, detector health."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recording import RecordingBus
from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.traffic import queries, services
from shahr.traffic.domain.readings import batch_payload
from shahr.traffic.events import DetectorHealthChanged, SegmentStatesUpdated
from shahr.traffic.persistence import TrafficUnitOfWork

from .network import MONITORED, grid_segments, minute_of_readings, reading


async def test_every_unmonitored_segment_is_estimated_and_says_so(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=1)
    # Slow traffic on the measured segments: 20 km/h on a 60 km/h arterial.
    await services.ingest_batch(
        network.database, clock, [minute_of_readings(start, count=8, speed_kmh=20.0)]
    )

    states = await queries.segment_states(network.database)

    assert len(states) == len(grid_segments())
    estimated = [s for s in states if s.estimated]
    assert {s.segment_id for s in states if not s.estimated} == set(MONITORED)
    sources = {"upstream", "downstream", "neighbours", "history", "signal_delay", "free_flow"}
    assert all(s.occupancy_pct is None and set(s.source.split("+")) <= sources for s in estimated)
    neighbour = next(s for s in estimated if s.segment_id == "s21-22")
    # It leaves the slow arterial: the arterial's share of free flow (1/3), on a 30 km/h street.
    assert "upstream" in neighbour.source
    assert neighbour.speed_kmh == pytest.approx(10.0, rel=0.05)
    assert all(s.density_veh_km * s.speed_kmh == pytest.approx(s.flow_veh_h) for s in states)


async def test_closing_an_interval_stores_its_estimates_and_publishes_one_event(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=3)
    await services.ingest_batch(network.database, clock, [minute_of_readings(start)])
    events = RecordingBus()

    report = await services.finalise_intervals(network.database, clock, bus=events)
    again = await services.finalise_intervals(network.database, clock, bus=events)

    assert start in report.intervals
    assert report.estimated == len(grid_segments()) - len(MONITORED)
    updates = events.of(SegmentStatesUpdated)
    assert [u.interval_start for u in updates].count(start) == 1
    assert updates[0].measured == len(MONITORED)
    assert start not in again.intervals
    async with TrafficUnitOfWork(network.database) as uow:
        stored = await uow.states.at_interval(start)
    assert sum(1 for row in stored if row.estimated) == report.estimated


async def test_a_late_measurement_replaces_a_stored_estimate(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=4)
    await services.ingest_batch(network.database, clock, [minute_of_readings(start)])
    await services.finalise_intervals(network.database, clock)
    await services.register_detectors(
        network.database,
        detectors=[services_spec("d-late", "s00-10")],
        clock=clock,
    )

    late = reading("d-late", start + timedelta(seconds=30), count=5, speed_kmh=25.0)
    await services.ingest_batch(network.database, clock, [batch_payload([late])])

    states = {s.segment_id: s for s in await queries.segment_states(network.database, at=start)}
    assert not states["s00-10"].estimated
    assert states["s00-10"].speed_kmh == pytest.approx(25.0)


def services_spec(detector_id: str, segment_id: str):  # type: ignore[no-untyped-def]
    from shahr.traffic.domain import DetectorSpec

    return DetectorSpec(id=detector_id, segment_id=segment_id)


async def test_a_chattering_detector_is_marked_failed_and_its_lane_filled_from_the_other(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=2)
    chatter = [
        reading("d-01-11-1", start + timedelta(seconds=60), count=90, period_s=60),
        reading("d-01-11-2", start + timedelta(seconds=60), count=10, period_s=60),
    ]
    await services.ingest_batch(network.database, clock, [batch_payload(chatter)])
    events = RecordingBus()

    changes = await services.judge_health(network.database, clock, bus=events)

    assert ("d-01-11-1", "failed") in changes
    assert any(e.fault == "too_many_vehicles" for e in events.of(DetectorHealthChanged))
    nxt = start + timedelta(minutes=1)
    await services.ingest_batch(
        network.database,
        clock,
        [
            batch_payload(
                [
                    reading("d-01-11-1", nxt + timedelta(seconds=60), count=90, period_s=60),
                    reading("d-01-11-2", nxt + timedelta(seconds=60), count=10, period_s=60),
                ]
            )
        ],
    )
    states = {s.segment_id: s for s in await queries.segment_states(network.database, at=nxt)}
    # Only lane 2 counts now: 600 veh/h, doubled for the road's two lanes.
    assert states["s01-11"].flow_veh_h == pytest.approx(1200.0)
    assert states["s01-11"].confidence == pytest.approx(0.5)
