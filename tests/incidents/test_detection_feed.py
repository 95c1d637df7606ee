"""The detector feed over traffic's tables (`bridges.DetectorFeedForIncidents`): each loop
paired with the next one downstream, and the loops' minutes as occupancy 0..1, flow and
speed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shahr.bootstrap import Container
from shahr.bridges import DetectorFeedForIncidents
from shahr.kernel.clock import FixedClock
from shahr.traffic import services
from shahr.traffic.domain import DetectorSpec, RoadClass, SegmentSpec
from shahr.traffic.domain.readings import DetectorReading, batch_payload

# Enghelab street eastbound in three blocks, a side street leaving it northwards.
LON, LAT, STEP = 51.40, 35.70, 0.004


def _street() -> list[SegmentSpec]:
    points = [(round(LON + i * STEP, 6), LAT) for i in range(4)]
    segments = [
        SegmentSpec(
            id=f"e{i}",
            geometry=[points[i], points[i + 1]],
            road_class=RoadClass.major_arterial,
            lanes=2,
            from_node=f"n{i}",
            to_node=f"n{i + 1}",
            name="Enghelab",
        )
        for i in range(3)
    ]
    segments.append(
        SegmentSpec(
            id="side",
            geometry=[points[1], (points[1][0], LAT + STEP)],
            road_class=RoadClass.local,
            lanes=1,
            from_node="n1",
            to_node="north",
        )
    )
    return segments


DETECTORS = [
    DetectorSpec(id="e0-a-1", segment_id="e0", lane=1, position_m=50.0),
    DetectorSpec(id="e0-a-2", segment_id="e0", lane=2, position_m=50.0),
    DetectorSpec(id="e0-b-1", segment_id="e0", lane=1, position_m=300.0),
    DetectorSpec(id="e1-1", segment_id="e1", lane=1),
    DetectorSpec(id="e2-1", segment_id="e2", lane=1),
    DetectorSpec(id="side-1", segment_id="side", lane=1),
    DetectorSpec(id="e1-cam", segment_id="e1", kind="plate_camera"),
]


@pytest.fixture
async def street(container: Container) -> Container:
    await services.import_road_network(
        container.database, segments=_street(), source="test street", clock=container.clock
    )
    await services.register_detectors(
        container.database, detectors=DETECTORS, clock=container.clock
    )
    return container


async def test_each_loop_is_paired_with_the_next_one_downstream(street: Container) -> None:
    pairs = await DetectorFeedForIncidents(street).station_pairs()

    found = {(p.upstream_detector_id, p.downstream_detector_id, p.segment_id) for p in pairs}
    assert found == {
        # Two stations on e0: the first (both lanes) to the second (lane 1 there only).
        ("e0-a-1", "e0-b-1", "e0"),
        ("e0-a-2", "e0-b-1", "e0"),
        # The last station of a segment to the first on the segment straight on.
        ("e0-b-1", "e1-1", "e0"),
        ("e1-1", "e2-1", "e1"),
    }
    # The side street leads nowhere monitored; cameras are not loops.
    place = next(p for p in pairs if p.upstream_detector_id == "e0-a-1")
    assert place.lon == pytest.approx(LON, abs=0.001)
    assert place.lat == pytest.approx(LAT, abs=0.0005)


async def test_the_loops_minutes_are_read_as_occupancy_flow_and_speed(
    street: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    readings = [
        DetectorReading(
            detector_id="e1-1",  # type: ignore[arg-type]
            observed_at=start + timedelta(seconds=s),
            period_s=30,
            count=10,
            occupancy_pct=20.0,
            speed_kmh=40.0,
        )
        for s in (30, 60)
    ]
    await services.ingest_batch(street.database, clock, [batch_payload(readings)])

    minutes = await DetectorFeedForIncidents(street).station_minutes(
        start, start + timedelta(minutes=2)
    )

    assert len(minutes) == 1
    minute = minutes[0]
    assert (minute.detector_id, minute.segment_id, minute.lane) == ("e1-1", "e1", 1)
    assert minute.interval_start == start
    assert minute.occupancy == pytest.approx(0.20)
    assert minute.flow_veh_h == pytest.approx(20 * 60)
    assert minute.speed_kmh == pytest.approx(40.0)
