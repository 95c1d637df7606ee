"""Ingest: readings become segment state once, however often they are delivered."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.traffic import queries, services
from shahr.traffic.domain.readings import batch_payload, encode
from shahr.traffic.persistence import TrafficUnitOfWork

from .network import MONITORED, minute_of_readings, reading


def by_id(states: list[queries.SegmentStateView]) -> dict[str, queries.SegmentStateView]:
    return {s.segment_id: s for s in states}


async def test_a_minute_of_readings_gives_flow_speed_and_level_of_service(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=1)

    report = await services.ingest_batch(
        network.database, clock, [minute_of_readings(start, count=10, speed_kmh=40.0)]
    )

    assert report.accepted == 10
    assert report.rejected_total == 0
    states = by_id(await queries.segment_states(network.database))
    arterial = states["s01-11"]
    # Two lanes, each 20 vehicles a minute: 1,200 veh/h per lane.
    assert arterial.flow_veh_h == pytest.approx(2400.0)
    assert arterial.speed_kmh == pytest.approx(40.0)
    assert arterial.density_veh_km == pytest.approx(60.0)
    assert arterial.vc_ratio == pytest.approx(2400 / 1800)
    assert arterial.los == "F"  # v/c above 1 forces F
    assert not arterial.estimated
    assert arterial.confidence == pytest.approx(1.0)
    assert set(MONITORED) <= {s for s, v in states.items() if not v.estimated}


async def test_replaying_the_same_payloads_counts_nothing_twice(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=1)
    payloads = [minute_of_readings(start)]
    await services.ingest_batch(network.database, clock, payloads)
    before = by_id(await queries.segment_states(network.database))

    again = await services.ingest_batch(network.database, clock, payloads)

    assert again.accepted == 0
    assert again.duplicates == 10
    assert by_id(await queries.segment_states(network.database)) == before


async def test_the_live_version_moves_with_each_batch_that_changes_state_and_not_on_a_replay(
    network: Container, clock: FixedClock
) -> None:
    # The live map checks one version row, not max(updated_at) over an index every state
    # update had to change (docs/decisions/0015).
    start = clock.now().replace(second=0) - timedelta(minutes=2)
    first = [minute_of_readings(start)]
    await services.ingest_batch(network.database, clock, first)
    after_first = await _last_update(network)
    clock.advance(timedelta(seconds=1))

    await services.ingest_batch(network.database, clock, first)  # a redelivery
    assert await _last_update(network) == after_first

    await services.ingest_batch(
        network.database, clock, [minute_of_readings(start + timedelta(minutes=1))]
    )
    after_second = await _last_update(network)
    assert after_first is not None
    assert after_second is not None
    assert after_second > after_first


async def _last_update(network: Container) -> datetime | None:
    async with TrafficUnitOfWork(network.database) as uow:
        return await uow.states.last_update()


async def test_a_late_reading_inside_the_window_is_added_to_its_interval(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=5)
    first = reading("d-01-11-1", start + timedelta(seconds=30), count=10)
    late = reading("d-01-11-1", start + timedelta(seconds=60), count=20)
    await services.ingest_batch(network.database, clock, [encode(first.to_payload())])
    report = await services.ingest_batch(network.database, clock, [encode(late.to_payload())])

    assert report.accepted == 1
    states = by_id(await queries.segment_states(network.database, at=start))
    # 30 vehicles in 60 s on one lane, filled in for the other lane: 3,600 veh/h.
    assert states["s01-11"].flow_veh_h == pytest.approx(3600.0)
    assert states["s01-11"].confidence == pytest.approx(0.5)


async def test_two_workers_each_with_one_lane_of_a_segment_count_both_lanes(
    network: Container, clock: FixedClock
) -> None:
    """Workers sharing the stream may each get one lane's readings of the same segment and
    minute, and store them at the same moment: the segment's state still has both."""
    first = clock.now().replace(second=0) - timedelta(minutes=8)
    minutes = [first + timedelta(minutes=m) for m in range(6)]

    def lane(detector_id: str, start: datetime, count: int) -> bytes:
        return batch_payload(
            [reading(detector_id, start + timedelta(seconds=s), count=count) for s in (30, 60)]
        )

    for start in minutes:
        await asyncio.gather(
            services.ingest_batch(network.database, clock, [lane("d-01-11-1", start, 10)]),
            services.ingest_batch(network.database, clock, [lane("d-01-11-2", start, 20)]),
        )

    for start in minutes:
        state = by_id(await queries.segment_states(network.database, at=start))["s01-11"]
        # Lane 1: 20 vehicles a minute, lane 2: 40: 3,600 veh/h, both lanes measured.
        assert (state.flow_veh_h, state.confidence) == (pytest.approx(3600.0), 1.0), start


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"detector_id": "nobody", "count": 1}, "malformed"),
        (
            {
                "detector_id": "ghost",
                "observed_at": "T",
                "period_s": 30,
                "count": 1,
                "occupancy_pct": 1,
                "speed_kmh": None,
            },
            "malformed",
        ),
    ],
)
async def test_malformed_items_are_counted_by_reason(
    network: Container, clock: FixedClock, item: dict[str, object], reason: str
) -> None:
    report = await services.ingest_batch(network.database, clock, [json.dumps(item).encode()])
    assert report.rejected == {reason: 1}


async def test_bad_readings_are_refused_with_their_reason_and_the_good_ones_kept(
    network: Container, clock: FixedClock
) -> None:
    now = clock.now()
    good = reading("d-01-11-1", now - timedelta(seconds=5))
    payloads = [
        b"not json",
        b"[1, 2]",
        encode({**good.to_payload(), "detector_id": "d-unknown"}),
        encode({**good.to_payload(), "count": -3}),
        encode({**good.to_payload(), "occupancy_pct": 140.0}),
        encode({**good.to_payload(), "count": 500}),
        encode({**good.to_payload(), "observed_at": "2030-01-01T00:00:00Z"}),
        encode({**good.to_payload(), "observed_at": (now - timedelta(hours=3)).isoformat()}),
        encode({**good.to_payload(), "detector_id": "cam-a"}),
        batch_payload([good]),
    ]

    report = await services.ingest_batch(network.database, clock, payloads)

    assert report.accepted == 1
    assert dict(report.rejected) == {
        "malformed": 2,
        "unknown_detector": 1,
        "negative_value": 1,
        "impossible_value": 2,
        "future": 1,
        "too_late": 1,
        "wrong_kind": 1,
    }
