"""The twin's devices: SUMO's recorded output read and turned into Shahr payloads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shahr.demo.twin.devices import passages_of, readings_of, synthetic_plate
from shahr.demo.twin.outputs import read_edge_truth, read_loops, read_passages
from shahr.kernel.plates import parse_plate
from shahr.traffic.domain.readings import (
    DetectorReading,
    PlatePassage,
    check_passage,
    check_reading,
)

from .conftest import DAY_START, PAYLOADS


def test_a_twin_vehicle_carries_one_valid_plate_wherever_it_is_seen() -> None:
    plate = synthetic_plate("v1234", seed=7)

    assert synthetic_plate("v1234", seed=7) == plate
    assert parse_plate(plate.canonical) == plate
    assert len({synthetic_plate(f"v{n}", seed=7).canonical for n in range(2000)}) > 1990


def test_loop_intervals_become_readings_sent_at_the_end_of_their_period() -> None:
    intervals = read_loops(PAYLOADS / "loops.xml", period_s=60)

    readings = readings_of(intervals, day_start=DAY_START, period_s=60)

    # The one-second stub SUMO writes when a run stops past its end is not a reading.
    assert [(r.detector_id, r.observed_at, r.count) for r in readings] == [
        ("L-B1C1-1", DAY_START + timedelta(seconds=1740), 4),
        ("L-B1C1-1", DAY_START + timedelta(seconds=1800), 2),
        ("L-B1C1-2", DAY_START + timedelta(seconds=1800), 0),
    ]
    # The harmonic mean of spot speeds (space-mean speed), not the arithmetic 13.83 m/s.
    assert readings[0].speed_kmh == pytest.approx(13.74 * 3.6, abs=0.01)
    assert readings[0].occupancy_pct == 2.43
    assert readings[2].speed_kmh is None


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_reading_is_one_the_platform_accepts(index: int) -> None:
    readings = readings_of(
        read_loops(PAYLOADS / "loops.xml", period_s=60), day_start=DAY_START, period_s=60
    )
    reading = readings[index]

    checked = check_reading(reading.to_payload(), reading.observed_at + timedelta(seconds=2))

    assert isinstance(checked, DetectorReading)
    assert checked == reading


def test_a_camera_reports_each_vehicle_once_with_its_lane_and_plate() -> None:
    passages = passages_of(
        read_passages(PAYLOADS / "cameras.xml", until_s=3600), day_start=DAY_START, seed=7
    )

    assert [(p.camera_id, p.lane, p.observed_at) for p in passages] == [
        ("C-A1B1", 1, DAY_START + timedelta(seconds=109.12)),
        ("C-A1B1", 2, DAY_START + timedelta(seconds=113.02)),
    ]
    assert passages[0].plate == synthetic_plate("v29", seed=7).canonical
    for passage in passages:
        checked = check_passage(passage.to_payload(), passage.observed_at)
        assert isinstance(checked, PlatePassage)


def test_edge_data_is_ground_truth_with_flow_as_density_times_speed() -> None:
    truth = read_edge_truth(PAYLOADS / "edges.xml", period_s=60)

    # Empty edges say nothing about speed, and the stub interval is not a period.
    assert len(truth) == 1
    edge = truth[0]
    assert (edge.edge_id, edge.begin_s, edge.entered) == ("A0A1", 0.0, 3)
    assert edge.speed_kmh == pytest.approx(13.95 * 3.6)
    assert edge.flow_veh_h == pytest.approx(1.80 * 13.95 * 3.6)
    assert edge.traveltime_s == 34.35
