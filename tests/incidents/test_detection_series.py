"""Station series and pairs: lanes summed into stations, the station straight on, and the
live path raising an alarm once, at the minute it starts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shahr.incidents.domain.detection.anomaly import TUNED
from shahr.incidents.domain.detection.live import new_alarms
from shahr.incidents.domain.detection.pairs import SegmentShape, straight_on
from shahr.incidents.domain.detection.series import LaneMinute, stations_of

# A junction J at (51.40, 35.70) with roads in the four directions; ~0.001 deg is ~90 m.
J = (51.40, 35.70)
WEST, EAST = (51.39, 35.70), (51.41, 35.70)
SOUTH, NORTH = (51.40, 35.69), (51.40, 35.71)


def _segment(segment_id: str, a: str, b: str, *points: tuple[float, float]) -> SegmentShape:
    return SegmentShape(segment_id, a, b, tuple(points))


def test_the_station_downstream_is_the_segment_straight_on() -> None:
    segments = [
        _segment("w-j", "w", "j", WEST, J),
        _segment("j-e", "j", "e", J, EAST),
        _segment("j-n", "j", "n", J, NORTH),
        _segment("j-s", "j", "s", J, SOUTH),
        _segment("j-w", "j", "w", J, WEST),
        _segment("s-j", "s", "j", SOUTH, J),
    ]

    successors = straight_on(segments)

    assert successors["w-j"] == "j-e"
    assert successors["s-j"] == "j-n"
    # Nothing leaves the far ends: no downstream station, no pair.
    assert "j-e" not in successors


def test_a_segment_that_can_only_turn_or_go_back_has_no_downstream_station() -> None:
    segments = [
        _segment("w-j", "w", "j", WEST, J),
        _segment("j-n", "j", "n", J, NORTH),
        _segment("j-w", "j", "w", J, WEST),
    ]

    assert straight_on(segments) == {}


def test_lanes_are_summed_into_their_station() -> None:
    lanes = [
        LaneMinute("a", 1, 0, occupancy=0.10, flow_veh_h=600.0, speed_kmh=40.0),
        LaneMinute("a", 2, 0, occupancy=0.30, flow_veh_h=200.0, speed_kmh=60.0),
        # A lane with no data is left out of the mean, not taken for an empty lane.
        LaneMinute("a", 3, 0, occupancy=None, flow_veh_h=None, speed_kmh=None),
        LaneMinute("b", 1, 1, occupancy=0.05, flow_veh_h=0.0, speed_kmh=None),
        LaneMinute("unknown", 1, 0, occupancy=0.9, flow_veh_h=900.0, speed_kmh=5.0),
    ]

    stations = stations_of(lanes, ["a", "b"], minutes=2)

    assert stations.occupancy[0, 0] == pytest.approx(0.20)
    assert stations.flow_veh_h[0, 0] == pytest.approx(800.0)
    assert stations.speed_kmh[0, 0] == pytest.approx((40 * 600 + 60 * 200) / 800)
    assert stations.lane_flow_veh_h[0, :, 0].tolist()[:2] == [600.0, 200.0]
    assert math.isnan(stations.lane_flow_veh_h[0, 2, 0])
    assert stations.lane_occupancy is not None
    assert stations.lane_occupancy[0, :2, 0].tolist() == [0.10, 0.30]
    assert math.isnan(stations.lane_occupancy[0, 2, 0])
    # Minutes nobody reported are NaN; a minute with no vehicle has no speed.
    assert math.isnan(stations.occupancy[0, 1])
    assert math.isnan(stations.occupancy[1, 0])
    assert stations.flow_veh_h[1, 1] == 0.0
    assert math.isnan(stations.speed_kmh[1, 1])


def _minutes(minutes: int, incident_from: int | None) -> list[LaneMinute]:
    """Two stations of two lanes: 'up' then 'down'; from `incident_from` a queue at 'up'."""
    noise = np.random.default_rng(3).uniform(-0.04, 0.04, (4, minutes))
    rows = []
    for m in range(minutes):
        jammed = incident_from is not None and m >= incident_from
        for index, (station, lane) in enumerate((("up", 1), ("up", 2), ("down", 1), ("down", 2))):
            occupancy = 0.10 * (1 + noise[index, m])
            speed, flow = 45.0 * (1 + noise[index, m]), 600.0
            if jammed:  # the road past the incident empties
                occupancy, speed, flow = (
                    (0.50, 10.0, 300.0) if station == "up" else (0.03, 55.0, 250.0)
                )
            rows.append(LaneMinute(station, lane, m, occupancy, flow, speed))
    return rows


def test_the_live_path_raises_an_alarm_once_at_the_minute_it_starts() -> None:
    start = 25
    first = start + TUNED.persistence_min - 1  # the minute the alarm starts

    before = new_alarms(_minutes(first, start), [("up", "down")], first)
    at = new_alarms(_minutes(first + 1, start), [("up", "down")], first + 1)
    after = new_alarms(_minutes(first + 2, start), [("up", "down")], first + 2)

    assert before == []
    assert [(a.pair, a.reason) for a in at] == [(0, "queue")]
    assert at[0].upstream_occupancy == pytest.approx(0.50)
    assert at[0].score >= TUNED.contrast_z
    assert after == []  # still on, already raised


def test_the_live_path_is_quiet_on_a_normal_day_and_without_pairs() -> None:
    assert new_alarms(_minutes(40, None), [("up", "down")], 40) == []
    assert new_alarms(_minutes(40, 20), [], 40) == []
