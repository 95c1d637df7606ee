"""Estimates for unmonitored segments: along the directed network, by conservation, history."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shahr.traffic.domain.estimates import History, Observed, estimate, modelled_share
from shahr.traffic.domain.propagation import DirectedNetwork
from shahr.traffic.domain.state import SegmentTable

FREE_FLOW = 50.0


def table(lanes: list[int], lane_capacity: float = 800.0) -> SegmentTable:
    """A segment table; columns this test does not set (signal timings, ...) unknown (NaN)."""
    n = len(lanes)
    given_columns = {
        "lanes": np.array(lanes, dtype=np.float64),
        "free_flow_kmh": np.full(n, FREE_FLOW),
        "capacity_veh_h": np.array(lanes, dtype=np.float64) * lane_capacity,
        "length_m": np.full(n, 500.0),
        "counting_detectors": np.zeros(n),
    }
    columns = {
        f.name: given_columns.get(f.name, np.full(n, np.nan))
        for f in dataclasses.fields(SegmentTable)
    }
    return SegmentTable(**columns)


def network(n: int, movements: list[tuple[int, int, float]]) -> DirectedNetwork:
    """Movements as (from segment, onto segment, turn in degrees)."""
    return DirectedNetwork(
        n_segments=n,
        upstream=np.array([m[0] for m in movements], dtype=np.int64),
        downstream=np.array([m[1] for m in movements], dtype=np.int64),
        turn_deg=np.array([m[2] for m in movements], dtype=np.float64),
    )


def no_history(n: int) -> History:
    return History(np.full(n, np.nan), np.full(n, np.nan))


def observed(n: int, measured: dict[int, tuple[float, float]]) -> Observed:
    """Measured segments as {segment: (speed share, flow)}."""
    mask = np.zeros(n, dtype=np.bool_)
    share = np.zeros(n)
    flow = np.zeros(n)
    for segment, (s, f) in measured.items():
        mask[segment], share[segment], flow[segment] = True, s, f
    return Observed(mask, share, flow)


def test_a_jam_downstream_shows_congestion_on_the_street_feeding_it() -> None:
    # One street 0 -> 1 -> 2 -> 3: 0 flows freely, 3 is jammed; 1 and 2 are not measured.
    n = 4
    result = estimate(
        unknown=np.array([False, True, True, False]),
        observed=observed(n, {0: (0.9, 600.0), 3: (0.1, 300.0)}),
        network=network(n, [(0, 1, 0.0), (1, 2, 0.0), (2, 3, 0.0)]),
        history=no_history(n),
        segments=table([2] * n),
    )
    assert result.segment.tolist() == [1, 2]
    # The queue grows back from 3: the segment next to it is shown congested (LOS D-F).
    assert result.speed_kmh[1] / FREE_FLOW <= 0.5
    assert result.los[1] >= 3
    assert "downstream" in result.source[1]


def test_free_traffic_downstream_of_a_jam_flows() -> None:
    # 0 is jammed, 3 flows freely: 1 and 2 are downstream of the bottleneck and flow.
    n = 4
    result = estimate(
        unknown=np.array([False, True, True, False]),
        observed=observed(n, {0: (0.1, 300.0), 3: (0.9, 600.0)}),
        network=network(n, [(0, 1, 0.0), (1, 2, 0.0), (2, 3, 0.0)]),
        history=no_history(n),
        segments=table([2] * n),
    )
    assert (result.speed_kmh / FREE_FLOW > 0.5).all()


def test_a_side_street_carries_what_the_arterial_does_not_carry_on() -> None:
    # A 3-lane arterial 0 -> 1 (straight on) with a 1-lane side street 2 turning off it.
    # The arterial runs at v/c 0.9; 1 is measured too.
    n = 3
    arterial_capacity = 3 * 800.0
    result = estimate(
        unknown=np.array([False, False, True]),
        observed=observed(n, {0: (0.8, 0.9 * arterial_capacity), 1: (0.8, 2000.0)}),
        network=network(n, [(0, 1, 0.0), (0, 2, 90.0)]),
        history=no_history(n),
        segments=table([3, 3, 1]),
    )
    side_capacity = 800.0
    flow = float(result.flow_veh_h[0])
    assert flow != pytest.approx(0.9 * side_capacity, rel=0.05)
    # The junction keeps its vehicles: what enters on 0 and does not go on along 1 turns off.
    assert flow == pytest.approx(0.9 * arterial_capacity - 2000.0)


def test_an_isolated_segment_falls_back_to_history_then_free_flow_with_low_confidence() -> None:
    # 0 and 1 are connected and measured; 2 and 3 stand alone, 2 with history.
    n = 4
    history = History(
        np.array([np.nan, np.nan, 0.6, np.nan]), np.array([np.nan] * 2 + [0.5, np.nan])
    )
    result = estimate(
        unknown=np.array([False, False, True, True]),
        observed=observed(n, {0: (0.9, 600.0), 1: (0.9, 600.0)}),
        network=network(n, [(0, 1, 0.0)]),
        history=history,
        segments=table([1] * n),
    )
    # Without a measured neighbour: history, steadied by the network's residual (here the
    # measured links' 0.9: no signals, so their model is free flow).
    assert result.source == ["neighbours+history", "neighbours"]
    assert result.speed_kmh.tolist() == pytest.approx([0.75 * FREE_FLOW, 0.9 * FREE_FLOW])
    assert result.flow_veh_h[0] == pytest.approx(0.5 * 800.0)
    assert result.confidence[0] <= 0.3
    assert result.confidence[1] < result.confidence[0]


def test_confidence_falls_with_every_hop_from_a_measurement() -> None:
    n = 5
    result = estimate(
        unknown=np.array([False, True, True, True, True]),
        observed=observed(n, {0: (0.7, 900.0)}),
        network=network(n, [(0, 1, 0.0), (1, 2, 0.0), (2, 3, 0.0), (3, 4, 0.0)]),
        history=no_history(n),
        segments=table([2] * n),
    )
    assert result.speed_kmh[:3].tolist() == pytest.approx([0.7 * FREE_FLOW] * 3)
    assert list(result.confidence) == sorted(result.confidence, reverse=True)
    assert result.confidence[0] > result.confidence[-1]
    # Beyond the hops a measurement reaches: only the network's residual, least trusted.
    assert result.source[-1] == "neighbours"


def test_earlier_intervals_steady_a_neighbours_one_minute_reading() -> None:
    n = 2
    now = observed(n, {1: (0.2, 400.0)})
    steadied = dataclasses.replace(now, recent_share=np.array([[np.nan, 0.9], [np.nan, 0.9]]))
    movements = network(n, [(0, 1, 0.0)])
    alone = estimate(
        unknown=np.array([True, False]),
        observed=now,
        network=movements,
        history=no_history(n),
        segments=table([2, 2]),
    )
    with_recent = estimate(
        unknown=np.array([True, False]),
        observed=steadied,
        network=movements,
        history=no_history(n),
        segments=table([2, 2]),
    )
    assert alone.speed_kmh[0] < with_recent.speed_kmh[0] < 0.9 * FREE_FLOW


def test_each_link_keeps_its_own_signal_delay_and_the_neighbours_say_how_far_off_it_runs() -> None:
    # One street 0 -> 1 -> 2, all with a 90 s signal at their end: 0 is measured at 80 %
    # of its model; 1 (short, 20 % green) and 2 (long, 60 % green) are not measured.
    n = 3
    segments = dataclasses.replace(
        table([2] * n),
        length_m=np.array([500.0, 150.0, 800.0]),
        signal_cycle_s=np.full(n, 90.0),
        green_share=np.array([0.5, 0.2, 0.6]),
    )
    flow = np.full(n, 600.0)
    model = modelled_share(segments, flow)
    assert model[1] < model[2] < 1.0
    result = estimate(
        unknown=np.array([False, True, True]),
        observed=observed(n, {0: (0.8 * model[0], 600.0)}),
        network=network(n, [(0, 1, 0.0), (1, 2, 0.0)]),
        history=no_history(n),
        segments=segments,
    )
    shares = result.speed_kmh / FREE_FLOW
    # Under the model by about what the measured link is, each by its own delay.
    assert shares[0] < shares[1]
    assert shares == pytest.approx(0.8 * model[1:], rel=0.1)
    assert all("signal_delay" in source for source in result.source)


def test_a_junction_keeps_its_vehicles_when_the_flows_around_it_are_known() -> None:
    # Two ways in (0, 1) and two ways out (2, 3) of one junction; 3 is not measured.
    n = 4
    result = estimate(
        unknown=np.array([False, False, False, True]),
        observed=observed(n, {0: (0.9, 900.0), 1: (0.9, 500.0), 2: (0.9, 1000.0)}),
        network=network(n, [(0, 2, 0.0), (0, 3, 90.0), (1, 2, -90.0), (1, 3, 0.0)]),
        history=no_history(n),
        segments=table([2] * n),
    )
    assert result.flow_veh_h[0] == pytest.approx(400.0)


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, Observed, DirectedNetwork, History, SegmentTable]:
    n = draw(st.integers(1, 12))
    pairs = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.sampled_from([0.0, 90.0, -90.0, 170.0]),
            ),
            max_size=3 * n,
        )
    )
    movements = [(a, b, t) for a, b, t in pairs if a != b]
    measured = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    shares = st.floats(0.0, 1.5, allow_nan=False)
    share = np.array(draw(st.lists(shares, min_size=n, max_size=n)))
    flow = np.array(draw(st.lists(st.floats(0.0, 5000.0), min_size=n, max_size=n)))
    hist = np.array(draw(st.lists(st.one_of(st.just(np.nan), shares), min_size=n, max_size=n)))
    lanes = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    unknown = ~measured | np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return (
        unknown,
        Observed(measured, share, flow),
        network(n, movements),
        History(hist, hist),
        table(lanes),
    )


@settings(max_examples=200, deadline=None)
@given(cases())
def test_estimates_stay_within_physical_bounds(
    case: tuple[np.ndarray, Observed, DirectedNetwork, History, SegmentTable],
) -> None:
    unknown, seen, movements, history, segments = case
    result = estimate(
        unknown=unknown, observed=seen, network=movements, history=history, segments=segments
    )
    idx = result.segment
    assert idx.tolist() == np.flatnonzero(unknown).tolist()
    assert np.isfinite(result.speed_kmh).all()
    assert np.isfinite(result.flow_veh_h).all()
    assert (result.speed_kmh > 0).all()
    assert (result.speed_kmh <= 1.1 * segments.free_flow_kmh[idx] + 1e-9).all()
    assert (result.flow_veh_h >= 0).all()
    assert (result.flow_veh_h <= segments.capacity_veh_h[idx] + 1e-9).all()
    assert result.density_veh_km * result.speed_kmh == pytest.approx(result.flow_veh_h)
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
    assert all(
        set(source.split("+"))
        <= {"upstream", "downstream", "neighbours", "history", "signal_delay", "free_flow"}
        for source in result.source
    )


def test_a_measured_flow_is_averaged_with_the_earlier_intervals_before_it_is_spread() -> None:
    now = dataclasses.replace(
        observed(3, {0: (0.9, 1200.0), 2: (0.9, 300.0)}),
        recent_flow=np.array([[600.0, np.nan, np.nan], [np.nan, np.nan, 300.0]]),
    )
    assert now.smoothed_flow()[[0, 2]].tolist() == pytest.approx([900.0, 300.0])
    # Not measured now: an earlier interval's flow does not make it measured.
    assert now.smoothed_flow()[1] == now.flow_veh_h[1]
