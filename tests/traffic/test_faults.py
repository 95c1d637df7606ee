"""Faults that are faults: a loop standing at full occupancy is failed only when its
neighbours contradict it or it outlasts any queue; a standing queue is data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.traffic import services
from shahr.traffic.domain.detectors import (
    Fault,
    IntervalSample,
    Neighbours,
    NeighbourSamples,
    diagnose,
)
from shahr.traffic.domain.readings import batch_payload

from .network import reading

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)
ARTERIAL_KMH = 60.0


def _minutes(
    minutes: int, *, count: int, occupancy: float, speed: float | None = None
) -> list[IntervalSample]:
    """A lane's minutes up to T0 + `minutes`: `count` vehicles a minute at `speed`."""
    return [
        IntervalSample(T0 + timedelta(minutes=i), count, 60.0, occupancy, speed)
        for i in range(minutes)
    ]


def _stuck(minutes: int) -> list[IntervalSample]:
    return _minutes(minutes, count=0, occupancy=100.0)


def _flowing(minutes: int) -> NeighbourSamples:
    # 15 vehicles a minute (900 veh/h) at 45 km/h, 12 % occupied: a lane that moves.
    return NeighbourSamples(_minutes(minutes, count=15, occupancy=12.0, speed=45.0), ARTERIAL_KMH)


def _queued(minutes: int) -> NeighbourSamples:
    return NeighbourSamples(_stuck(minutes), ARTERIAL_KMH)


def _creeping(minutes: int) -> NeighbourSamples:
    # A jam that creeps: 2 vehicles a minute at 4 km/h, 85 % occupied.
    return NeighbourSamples(_minutes(minutes, count=2, occupancy=85.0, speed=4.0), ARTERIAL_KMH)


def test_a_queue_over_three_lanes_is_data_not_a_fault() -> None:
    now = T0 + timedelta(minutes=20)
    lanes = Neighbours(lanes=[_queued(20), _queued(20)], downstream=[_creeping(20)])
    assert diagnose(_stuck(20), now=now, neighbours=lanes) is None
    # Nothing but the loop itself says otherwise: a queue too, for up to 45 minutes.
    assert diagnose(_stuck(20), now=now) is None


def test_one_lane_stuck_while_two_lanes_flow_at_45_kmh_is_a_fault() -> None:
    now = T0 + timedelta(minutes=6)
    lanes = Neighbours(lanes=[_flowing(6), _flowing(6)])
    assert diagnose(_stuck(6), now=now, neighbours=lanes) is Fault.occupancy_stuck
    # Four minutes are not yet five: a long red or a turning lorry.
    assert diagnose(_stuck(4), now=T0 + timedelta(minutes=4), neighbours=lanes) is None


def test_a_two_hour_lock_on_is_a_fault_whatever_the_neighbours_say() -> None:
    now = T0 + timedelta(minutes=120)
    queue = Neighbours(lanes=[_queued(120)], downstream=[_creeping(120)])
    assert diagnose(_stuck(120), now=now, neighbours=queue) is Fault.occupancy_stuck
    assert diagnose(_stuck(120), now=now) is Fault.occupancy_stuck
    assert diagnose(_stuck(44), now=T0 + timedelta(minutes=44), neighbours=queue) is None


def test_the_roads_either_side_tell_a_spill_back_from_a_lock_on() -> None:
    now = T0 + timedelta(minutes=10)
    # A one-lane street: the street it feeds is jammed, so the queue reaches back over it.
    spill_back = Neighbours(upstream=[_flowing(10)], downstream=[_creeping(10)])
    assert diagnose(_stuck(10), now=now, neighbours=spill_back) is None
    # Both sides move freely: nothing holds a vehicle over this loop for ten minutes.
    free = Neighbours(upstream=[_flowing(10)], downstream=[_flowing(10)])
    assert diagnose(_stuck(10), now=now, neighbours=free) is Fault.occupancy_stuck
    # Only the upstream road is known: not enough to overrule the loop.
    assert diagnose(_stuck(10), now=now, neighbours=Neighbours(upstream=[_flowing(10)])) is None


def test_no_count_at_a_queues_occupancy_is_judged_like_a_stuck_loop() -> None:
    now = T0 + timedelta(minutes=10)
    parked = _minutes(10, count=0, occupancy=80.0)
    assert diagnose(parked, now=now) is None
    lanes = Neighbours(lanes=[_flowing(10), _flowing(10)])
    assert diagnose(parked, now=now, neighbours=lanes) is Fault.no_vehicles


async def _minutes_of(
    container: Container, clock: FixedClock, lane_1: dict[str, float], lane_2: dict[str, float]
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=8)
    readings = [
        reading(detector, start + timedelta(minutes=m, seconds=60), period_s=60, **values)  # type: ignore[arg-type]
        for m in range(8)
        for detector, values in (("d-01-11-1", lane_1), ("d-01-11-2", lane_2))
    ]
    await services.ingest_batch(container.database, clock, [batch_payload(readings)])


async def test_the_health_job_fails_a_stuck_lane_beside_a_moving_one(
    network: Container, clock: FixedClock
) -> None:
    stuck = {"count": 0, "occupancy_pct": 100.0, "speed_kmh": None}
    moving = {"count": 15, "occupancy_pct": 12.0, "speed_kmh": 45.0}
    await _minutes_of(network, clock, stuck, moving)

    changes = await services.judge_health(network.database, clock)

    assert ("d-01-11-1", "failed") in changes
    assert not any(detector == "d-01-11-2" for detector, _ in changes)


async def test_the_health_job_keeps_loops_under_a_queue(
    network: Container, clock: FixedClock
) -> None:
    stuck = {"count": 0, "occupancy_pct": 100.0, "speed_kmh": None}
    await _minutes_of(network, clock, stuck, stuck)

    changes = await services.judge_health(network.database, clock)

    assert not any(detector.startswith("d-01-11") for detector, _ in changes)
