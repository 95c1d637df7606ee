"""Link speed: the rules a jam must never slip through, as properties over any readings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import osmium
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.traffic import queries, services
from shahr.traffic.domain.link_speed import (
    STANDSTILL_OCCUPANCY,
    source_text,
)
from shahr.traffic.domain.signals import (
    DEFAULT_CYCLE_S,
    DEFAULT_GREEN_SHARE,
    control_delay_s,
    with_signal_delay,
)
from shahr.traffic.domain.state import (
    DetectorTable,
    ReadingArrays,
    SegmentStates,
    SegmentTable,
    aggregate,
)
from shahr.traffic.gateways.osm import read_osm
from shahr.traffic.gateways.sumo import read_sumo, signal_timings
from shahr.traffic.persistence import TrafficUnitOfWork

from .network import minute_of_readings

LOS_D = 3
FREE_FLOW = 60.0

counts = st.integers(1, 40)
speeds = st.floats(5.0, 110.0)
occupancies = st.floats(0.0, 100.0)


def _segment(lanes: int, *, cycle: float | None = None, green: float | None = None) -> SegmentTable:
    return SegmentTable(
        lanes=np.array([float(lanes)]),
        free_flow_kmh=np.array([FREE_FLOW]),
        capacity_veh_h=np.array([900.0 * lanes]),
        length_m=np.array([300.0]),
        counting_detectors=np.array([float(lanes)]),
        signal_cycle_s=np.array([np.nan if cycle is None else cycle]),
        green_share=np.array([np.nan if green is None else green]),
    )


def _state(
    count: list[float],
    occupancy: list[float],
    speed: list[float],
    segment: SegmentTable | None = None,
) -> SegmentStates:
    """One minute of one reading per lane of one segment."""
    lanes = len(count)
    readings = ReadingArrays(
        detector=np.arange(lanes, dtype=np.int64),
        interval=np.full(lanes, 100, dtype=np.int64),
        count=np.array(count, dtype=np.float64),
        period_s=np.full(lanes, 60.0),
        occupancy_pct=np.array(occupancy, dtype=np.float64),
        speed_kmh=np.array(speed, dtype=np.float64),
    )
    detectors = DetectorTable(
        segment=np.zeros(lanes, dtype=np.int64),
        lane=np.arange(1, lanes + 1, dtype=np.int64),
        usable=np.ones(lanes, dtype=np.bool_),
    )
    states = aggregate(readings, detectors, segment or _segment(lanes))
    assert len(states) == 1
    return states


@given(
    st.lists(st.floats(STANDSTILL_OCCUPANCY * 100, 100.0), min_size=1, max_size=4),
    st.sampled_from([np.nan, 0.0, 40.0]),
)
def test_a_standstill_is_never_shown_above_los_d(occupancy: list[float], speed: float) -> None:
    # No vehicle counted on any lane while the loops stay covered: the road stands still.
    states = _state([0.0] * len(occupancy), occupancy, [speed] * len(occupancy))

    assert states.los[0] >= LOS_D
    assert states.speed_kmh[0] < 0.5 * FREE_FLOW
    assert "occupancy" in source_text(states.source_flags)[0]


@given(
    st.lists(st.tuples(counts, speeds, st.floats(0.0, 30.0)), min_size=1, max_size=3),
    st.floats(STANDSTILL_OCCUPANCY * 100, 100.0),
)
def test_one_blocked_lane_among_moving_ones_is_congestion(
    moving: list[tuple[int, float, float]], blocked_occupancy: float
) -> None:
    count = [float(c) for c, _, _ in moving] + [0.0]
    speed = [v for _, v, _ in moving] + [np.nan]
    occupancy = [o for _, _, o in moving] + [blocked_occupancy]

    states = _state(count, occupancy, speed)

    assert states.los[0] >= LOS_D


@given(
    st.lists(st.tuples(counts, st.one_of(st.just(np.nan), speeds)), min_size=1, max_size=3),
    st.lists(occupancies, min_size=3, max_size=3),
    st.integers(0, 2),
    st.floats(0.0, 100.0),
)
def test_more_occupancy_at_the_same_flow_never_gives_a_higher_speed(
    lanes: list[tuple[int, float]], occupancy: list[float], which: int, more: float
) -> None:
    count = [float(c) for c, _ in lanes]
    speed = [v for _, v in lanes]
    occupancy = occupancy[: len(lanes)]
    higher = list(occupancy)
    higher[which % len(lanes)] = min(100.0, higher[which % len(lanes)] + more)

    before = _state(count, occupancy, speed)
    after = _state(count, higher, speed)

    assert after.speed_kmh[0] <= before.speed_kmh[0] + 1e-9


@given(st.integers(1, 4), st.sampled_from([np.nan, 50.0]))
def test_an_empty_road_is_free_flow_with_a_lower_confidence(lanes: int, speed: float) -> None:
    # No count and no occupancy (a speed without a count says nothing either).
    empty = _state([0.0] * lanes, [0.0] * lanes, [speed] * lanes)
    measured = _state([10.0] * lanes, [8.0] * lanes, [50.0] * lanes)

    assert empty.speed_kmh[0] == pytest.approx(FREE_FLOW)
    assert empty.los[0] == 0
    assert empty.confidence[0] < measured.confidence[0]
    assert source_text(empty.source_flags) == ["loops+free_flow"]


def test_bad_inputs_say_what_they_could_not_use_and_never_crash() -> None:
    counts_no_occupancy = _state([10.0, 10.0], [0.0, 0.0], [45.0, 45.0])
    counts_only = _state([10.0], [0.0], [np.nan])
    speed_no_count = _state([0.0, 0.0], [0.0, 0.0], [50.0, 50.0])
    normal = _state([10.0, 10.0], [8.0, 8.0], [45.0, 45.0])

    assert counts_no_occupancy.speed_kmh[0] == pytest.approx(45.0)
    assert source_text(counts_no_occupancy.source_flags) == ["loops"]
    assert counts_no_occupancy.confidence[0] < normal.confidence[0]
    # Counts with neither speed nor occupancy: the speed is assumed, and says so.
    assert source_text(counts_only.source_flags) == ["loops+free_flow"]
    assert counts_only.confidence[0] < counts_no_occupancy.confidence[0]
    assert source_text(speed_no_count.source_flags) == ["loops+free_flow"]
    for states in (counts_no_occupancy, counts_only, speed_no_count, normal):
        assert np.isfinite(states.speed_kmh).all()
        assert np.isfinite(states.density_veh_km).all()


def test_a_few_fast_vehicles_over_a_covered_loop_are_slow() -> None:
    # Two vehicles at 50 km/h counted, the loop covered half the minute: a queue.
    states = _state([2.0], [50.0], [50.0])

    assert states.speed_kmh[0] < 10.0
    assert states.los[0] == 5
    assert source_text(states.source_flags) == ["loops+occupancy"]


@given(st.floats(0.0, 3000.0), st.floats(0.0, 3000.0), st.floats(0.1, 0.9))
def test_signal_delay_rises_with_volume_to_capacity(a: float, b: float, green: float) -> None:
    low, high = sorted((a, b))
    delay = control_delay_s(
        np.array([low, high]), np.full(2, 2.0), np.full(2, 90.0), np.full(2, green)
    )
    assert delay[0] <= delay[1] + 1e-9
    assert delay[0] > 0


@given(st.floats(0.0, 1500.0), st.floats(0.1, 0.9), st.floats(0.1, 0.9))
def test_signal_delay_falls_with_green_share(flow: float, a: float, b: float) -> None:
    short, long = sorted((a, b))
    delay = control_delay_s(
        np.full(2, flow), np.full(2, 2.0), np.full(2, 90.0), np.array([short, long])
    )
    assert delay[1] <= delay[0] + 1e-9


def test_a_signal_adds_its_delay_to_the_link_travel_time() -> None:
    plain = _state([10.0, 10.0], [8.0, 8.0], [50.0, 50.0])
    signalised = _state([10.0, 10.0], [8.0, 8.0], [50.0, 50.0], _segment(2, cycle=90.0, green=0.45))
    unknown = control_delay_s(
        np.array([600.0]), np.array([2.0]), np.array([np.nan]), np.array([np.nan])
    )

    assert signalised.speed_kmh[0] < plain.speed_kmh[0]
    assert "signal_delay" in source_text(signalised.source_flags)[0]
    assert unknown[0] == 0.0
    # Travel time = running time + delay, exactly.
    delay = control_delay_s(np.array([1200.0]), np.array([2.0]), np.array([90.0]), np.array([0.45]))
    speed = with_signal_delay(np.array([50.0]), np.array([300.0]), delay)
    assert 300 / (speed[0] / 3.6) == pytest.approx(300 / (50 / 3.6) + delay[0])


NET = """<net version="1.16">
  <location netOffset="0,0" convBoundary="0,0,400,0" projParameter="!"/>
  <edge id="a" from="n0" to="n1">
    <lane id="a_0" speed="13.89" length="200" shape="0,0 200,0"/>
  </edge>
  <edge id="b" from="n1" to="n2">
    <lane id="b_0" speed="13.89" length="200" shape="200,0 400,0"/>
  </edge>
  <edge id="c" from="n3" to="n1">
    <lane id="c_0" speed="13.89" length="200" shape="200,200 200,0"/>
  </edge>
  <tlLogic id="n1" type="static" programID="0" offset="0">
    <phase duration="40" state="Gr"/>
    <phase duration="5" state="yr"/>
    <phase duration="40" state="rG"/>
    <phase duration="5" state="ry"/>
  </tlLogic>
  <connection from="a" to="b" fromLane="0" toLane="0" tl="n1" linkIndex="0" dir="s" state="o"/>
  <connection from="c" to="b" fromLane="0" toLane="0" tl="n1" linkIndex="1" dir="r" state="o"/>
</net>
"""


def test_sumo_signal_timings_give_cycle_and_green_share(tmp_path: Path) -> None:
    net = tmp_path / "grid.net.xml"
    net.write_text(NET)

    timings = signal_timings(net)
    specs = {spec.id: spec for spec in read_sumo(net)}

    assert timings == {
        "a": (90.0, pytest.approx(40 / 90, abs=1e-4)),
        "c": (90.0, pytest.approx(40 / 90, abs=1e-4)),
    }
    assert specs["a"].signal_cycle_s == 90.0
    assert specs["a"].green_share == pytest.approx(0.4444)
    assert specs["b"].signal_cycle_s is None
    assert specs["b"].green_share is None


async def test_detectors_learn_their_vehicle_length_from_free_flow_minutes(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(hours=2)
    # 1,200 veh/h a lane at 50 km/h is 24 veh/km: 12 % occupancy for 5 m vehicles.
    hour = [
        minute_of_readings(
            start + timedelta(minutes=m), count=10, speed_kmh=50.0, occupancy_pct=12.0
        )
        for m in range(60)
    ]

    await services.ingest_batch(network.database, clock, hour, backfill=True)

    async with TrafficUnitOfWork(network.database) as uow:
        lengths = await uow.detectors.vehicle_lengths()
    loops = {"d-01-11-1", "d-01-11-2", "d-11-21-1", "d-11-21-2"}
    assert loops <= set(lengths)
    assert all(length == pytest.approx(5.0) for length in lengths.values())
    states = {
        s.segment_id: s
        for s in await queries.segment_states(network.database, at=start + timedelta(minutes=59))
    }
    assert states["s01-11"].source == "loops+occupancy"
    assert states["s01-11"].speed_kmh == pytest.approx(50.0, rel=0.02)


OSM = """<osm version="0.6">
  <node id="1" lat="35.70" lon="51.40"/>
  <node id="2" lat="35.70" lon="51.41"><tag k="highway" v="traffic_signals"/></node>
  <node id="3" lat="35.70" lon="51.42"/>
  <node id="4" lat="35.71" lon="51.41"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>
  <way id="11"><nd ref="4"/><nd ref="2"/><tag k="highway" v="residential"/></way>
</osm>
"""


def test_an_osm_signal_at_a_segment_end_is_a_signal_of_unknown_timing(tmp_path: Path) -> None:
    path = tmp_path / "streets.osm"
    path.write_text(OSM)
    specs = {spec.id: spec for spec in read_osm(path)}
    pbf = tmp_path / "streets.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for item in osmium.FileProcessor(str(path)):
            writer.add(item)

    # Way 10 is cut at node 2 (shared with way 11): into it, a signal; out of it, none.
    assert specs["w10-0f"].signal_cycle_s == DEFAULT_CYCLE_S
    assert specs["w10-0f"].green_share == DEFAULT_GREEN_SHARE
    assert specs["w10-1b"].green_share == DEFAULT_GREEN_SHARE
    assert specs["w10-0b"].signal_cycle_s is None
    assert specs["w10-1f"].green_share is None
    assert specs["w11-0f"].green_share == DEFAULT_GREEN_SHARE
    from_pbf = {spec.id: (spec.signal_cycle_s, spec.green_share) for spec in read_osm(pbf)}
    assert from_pbf == {s.id: (s.signal_cycle_s, s.green_share) for s in specs.values()}


def test_a_side_street_giving_way_to_a_busy_major_road_is_slowed_by_its_wait() -> None:
    import numpy as np

    from shahr.traffic.domain.signals import conflicting_flow, give_way_delay_s, give_way_of

    # 0: side street into J; 1, 2: the major road into J; 3: the major road out of J (to 2's start).
    give_way = give_way_of([True, False, False, False], ["S", "W", "E", "J"], ["J", "J", "J", "E"])
    segment = np.array([0, 3])
    interval = np.array([7, 7])
    conflicting = conflicting_flow(give_way, segment, interval, np.array([120.0, 900.0]))
    assert conflicting[0] == 1800.0  # the major road's one measured direction, times two
    assert np.isnan(conflicting[1])  # the major road gives way to nobody
    busy, quiet = give_way_delay_s(np.array([120.0, 120.0]), np.array([1800.0, 100.0]))
    assert busy > 40.0 > 15.0 > quiet
