"""The arithmetic of traffic: LOS, congestion, the aggregation kernel, faults, journeys, indices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shahr.traffic.domain import RoadClass, SegmentSpec, capacity_veh_h, segment_from_spec
from shahr.traffic.domain.detectors import Fault, IntervalSample, diagnose
from shahr.traffic.domain.errors import InvalidNetworkError
from shahr.traffic.domain.indices import indices_from, match_journeys, robust_travel_time
from shahr.traffic.domain.readings import plate_key
from shahr.traffic.domain.state import (
    WHOLE_ROAD,
    DetectorTable,
    ReadingArrays,
    SegmentTable,
    aggregate,
    congestion_level,
    interval_start_of,
    level_of_service,
)

T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("share", "vc", "letter"),
    [
        (0.81, 0.5, "A"),
        (0.80, 0.5, "B"),
        (0.68, 0.5, "B"),
        (0.67, 0.5, "C"),
        (0.51, 0.5, "C"),
        (0.45, 0.5, "D"),
        (0.35, 0.5, "E"),
        (0.30, 0.5, "F"),
        (0.95, 1.01, "F"),
    ],
)
def test_level_of_service_follows_the_hcm_speed_shares_and_vc_forces_f(
    share: float, vc: float, letter: str
) -> None:
    code = level_of_service(np.array([share * 50.0]), np.array([50.0]), np.array([vc]))
    assert "ABCDEF"[int(code[0])] == letter


def test_congestion_level_counts_extra_travel_time_over_free_flow() -> None:
    # Extra travel time: 0 %, 20 %, 33 %, 58 %, 114 %, 216 %, 500 %.
    speeds = np.array([60.0, 50.0, 45.0, 38.0, 28.0, 19.0, 10.0])
    assert congestion_level(speeds, np.full(7, 60.0)).tolist() == [0, 1, 2, 3, 4, 5, 5]


def test_capacity_comes_from_class_and_lanes_unless_overridden() -> None:
    spec = SegmentSpec(
        id="a",
        geometry=[(51.4, 35.7), (51.41, 35.7)],
        road_class="expressway",
        lanes=3,
        from_node="n1",
        to_node="n2",
    )
    assert segment_from_spec(spec, source="t").capacity_veh_h == capacity_veh_h(
        RoadClass.expressway, 3
    )
    overridden = segment_from_spec(
        SegmentSpec(**{**spec.__dict__, "capacity_veh_h": 4000}), source="t"
    )
    assert (overridden.capacity_veh_h, overridden.capacity_overridden) == (4000, True)
    with pytest.raises(InvalidNetworkError):
        segment_from_spec(SegmentSpec(**{**spec.__dict__, "lanes": 0}), source="t")


def test_a_reading_belongs_to_the_interval_holding_the_middle_of_its_period() -> None:
    assert interval_start_of(T0 + timedelta(seconds=60), 60) == T0
    assert interval_start_of(T0 + timedelta(seconds=30), 30) == T0
    assert interval_start_of(T0 + timedelta(seconds=90), 30) == T0 + timedelta(minutes=1)


def _one_segment(lanes: int = 2) -> SegmentTable:
    return SegmentTable(
        lanes=np.array([float(lanes)]),
        free_flow_kmh=np.array([60.0]),
        capacity_veh_h=np.array([1800.0]),
        length_m=np.array([500.0]),
        counting_detectors=np.array([2.0]),
    )


def test_the_kernel_keeps_the_identities_and_takes_the_harmonic_speed() -> None:
    readings = ReadingArrays(
        detector=np.array([0, 0, 1, 1]),
        interval=np.array([100, 100, 100, 100]),
        count=np.array([10.0, 10.0, 5.0, 15.0]),
        period_s=np.array([30.0, 30.0, 30.0, 30.0]),
        occupancy_pct=np.array([10.0, 12.0, 8.0, 20.0]),
        speed_kmh=np.array([40.0, 40.0, 60.0, 20.0]),
    )
    detectors = DetectorTable(
        segment=np.array([0, 0]), lane=np.array([1, 2]), usable=np.array([True, True])
    )

    states = aggregate(readings, detectors, _one_segment())

    # Lane 1: 20 vehicles / 60 s, lane 2: 20 vehicles / 60 s -> 2,400 veh/h.
    assert states.flow_veh_h[0] == pytest.approx(20 * 3600 / 60 * 2)
    # Harmonic: 40 vehicles over Σ n/v = 20/40 + 5/60 + 15/20.
    assert states.speed_kmh[0] == pytest.approx(40 / (20 / 40 + 5 / 60 + 15 / 20))
    assert states.density_veh_km[0] * states.speed_kmh[0] == pytest.approx(states.flow_veh_h[0])
    assert states.occupancy_pct[0] == pytest.approx(((10 + 12) / 2 + (8 + 20) / 2) / 2)
    assert states.confidence[0] == pytest.approx(1.0)


def test_a_failed_lane_is_filled_from_the_lanes_that_report() -> None:
    readings = ReadingArrays(
        detector=np.array([0, 1]),
        interval=np.array([7, 7]),
        count=np.array([10.0, 90.0]),
        period_s=np.array([60.0, 60.0]),
        occupancy_pct=np.array([10.0, 100.0]),
        speed_kmh=np.array([50.0, 1.0]),
    )
    detectors = DetectorTable(
        segment=np.array([0, 0]), lane=np.array([1, 2]), usable=np.array([True, False])
    )

    states = aggregate(readings, detectors, _one_segment())

    assert states.flow_veh_h[0] == pytest.approx(600.0 * 2)
    assert states.speed_kmh[0] == pytest.approx(50.0)
    assert states.confidence[0] == pytest.approx(0.5)


def test_without_measured_speed_it_comes_from_flow_and_occupancy() -> None:
    readings = ReadingArrays(
        detector=np.array([0]),
        interval=np.array([1]),
        count=np.array([10.0]),
        period_s=np.array([60.0]),
        occupancy_pct=np.array([10.0]),
        speed_kmh=np.array([np.nan]),
    )
    detectors = DetectorTable(
        segment=np.array([0]), lane=np.array([WHOLE_ROAD]), usable=np.array([True])
    )

    states = aggregate(readings, detectors, _one_segment(lanes=1))

    # 600 veh/h at 10 % occupancy: density 0.1 x 1000 / 6.5 = 15.4 veh/km -> 39 km/h.
    assert states.speed_kmh[0] == pytest.approx(600 / (0.1 * 1000 / 6.5))
    assert not states.speed_measured[0]


def _samples(counts: list[int], occupancy: float = 10.0) -> list[IntervalSample]:
    return [
        IntervalSample(T0 + timedelta(minutes=i), count, 60.0, occupancy)
        for i, count in enumerate(counts)
    ]


def test_fault_checks_find_chatter_lock_on_silence_and_jumps() -> None:
    end = T0 + timedelta(minutes=60)
    assert diagnose(_samples([10] * 60), now=end) is None
    assert diagnose(_samples([10] * 59 + [80]), now=end) is Fault.too_many_vehicles
    assert diagnose(_samples([0] * 60, occupancy=100.0), now=end) is Fault.occupancy_stuck
    assert diagnose(_samples([0] * 250), now=T0 + timedelta(minutes=250)) is Fault.no_vehicles
    assert diagnose(_samples([2, 40] * 10), now=T0 + timedelta(minutes=20)) is Fault.sudden_jumps


def test_journeys_pair_sightings_of_one_plate_and_outliers_are_dropped() -> None:
    sightings = [
        ("p1", "cam-a", T0),
        ("p1", "cam-b", T0 + timedelta(seconds=100)),
        ("p2", "cam-a", T0),
        ("p2", "cam-a", T0 + timedelta(seconds=5)),  # the same camera twice: no journey
        ("p3", "cam-b", T0),
        ("p3", "cam-a", T0 + timedelta(hours=2)),  # too long apart
    ]
    journeys = match_journeys(sightings)
    assert [(j.from_camera, j.to_camera, j.travel_time_s) for j in journeys] == [
        ("cam-a", "cam-b", 100.0)
    ]
    median, kept = robust_travel_time([100, 105, 98, 110, 102, 900])  # type: ignore[misc]
    assert kept == 5
    assert median == pytest.approx(102, abs=1)


def test_indices_follow_their_definitions() -> None:
    # Two hours: free flow, then twice as slow with three times the traffic.
    found = indices_from(np.array([1.0, 6.0]), np.array([1.0, 3.0]), np.array([50.0, 150.0]))
    assert found is not None
    assert found.travel_time_index == pytest.approx(7 / 4)
    assert found.planning_time_index == pytest.approx(2.0)
    assert found.buffer_index == pytest.approx((2.0 - 1.75) / 1.75, abs=1e-3)
    assert found.congestion_pct == pytest.approx(75.0)
    assert found.vkt == pytest.approx(200.0)


def test_plate_keys_match_within_a_day_but_not_across_days_or_secrets() -> None:
    same_day = plate_key("12ب34567", T0, "s")
    assert plate_key("12ب34567", T0 + timedelta(hours=1), "s") == same_day
    assert plate_key("12ب34567", T0 + timedelta(days=1), "s") != same_day
    assert plate_key("12ب34567", T0, "other") != same_day
    assert "34567" not in same_day
