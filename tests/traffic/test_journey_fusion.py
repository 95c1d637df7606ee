"""Journey times from plate cameras fused with the loops: chains, skew, the weighting, and
both ingest paths (live batches with the interval job, and the back-fill)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.traffic import queries, services
from shahr.traffic.domain import DetectorKind, DetectorSpec
from shahr.traffic.domain.journeys import (
    CameraSpot,
    ChainTime,
    LinkSpeed,
    PairVerdict,
    chain_between,
    chain_time,
    fuse,
    split_chain,
)
from shahr.traffic.domain.network import adjacency_of, segment_from_spec
from shahr.traffic.domain.readings import PlatePassage, batch_payload

from .network import grid_segments, reading

# Whether ingest calls the fusion after saving loop states (the lead adds that line).

SEGMENTS = [segment_from_spec(s, source="test") for s in grid_segments()]
INDEX = {s.id: i for i, s in enumerate(SEGMENTS)}
DOWNSTREAM = {
    INDEX[a]: [INDEX[b] for b in following]
    for a, following in adjacency_of(SEGMENTS).downstream.items()
}


def _spot(segment_id: str, position_m: float | None = None) -> CameraSpot:
    return CameraSpot(INDEX[segment_id], position_m)


def test_a_camera_pair_maps_to_the_shortest_chain_between_their_spots() -> None:
    chain = chain_between(SEGMENTS, DOWNSTREAM, _spot("s01-11"), _spot("s11-21"))
    assert chain is not None
    assert [SEGMENTS[s].id for s in chain.segments] == ["s01-11", "s11-21"]
    assert chain.shares == pytest.approx((0.5, 0.5))
    a, b = SEGMENTS[INDEX["s01-11"]], SEGMENTS[INDEX["s11-21"]]
    assert chain.free_flow_s == pytest.approx(
        (a.free_flow_travel_time_s + b.free_flow_travel_time_s) / 2
    )
    # Two cameras on one segment, and a detour of three links to reach the one behind.
    same = chain_between(SEGMENTS, DOWNSTREAM, _spot("s01-11", 50.0), _spot("s01-11", 150.0))
    assert same is not None
    assert same.segments == (INDEX["s01-11"],)
    around = chain_between(SEGMENTS, DOWNSTREAM, _spot("s01-11"), _spot("s00-01"))
    assert around is not None
    assert len(around.segments) > 2
    assert (
        chain_between(SEGMENTS, DOWNSTREAM, _spot("s01-11"), _spot("s00-01"), max_free_flow_s=60)
        is None
    )


def test_an_interval_s_chain_time_is_a_robust_median_and_a_skewed_pair_is_refused() -> None:
    found = chain_time([60, 62, 58, 61, 400], [60, 62, 58, 61, 400], 21.6)
    assert isinstance(found, ChainTime)
    assert found.travel_time_s == pytest.approx(60.5, abs=1)
    assert found.journeys == 4
    assert chain_time([60, 61], [60, 61], 21.6) is PairVerdict.too_few
    # Clocks 20 s apart: times of 2-5 s over a chain that takes 21.6 s at the limit.
    assert chain_time([3, 4, 2, 5, 4], [3, 4, 2, 5, 4], 21.6) is PairVerdict.clock_skew
    assert chain_time([30, 31, 29], [-5, 30, 31, 29], 21.6) is PairVerdict.clock_skew
    # Fast but possible (1.3 times the limit) is not a skew.
    assert isinstance(chain_time([17, 17, 18], [17, 17, 18, 16, 17], 21.6), ChainTime)


def test_the_chain_time_is_split_as_the_links_current_times_and_fused_by_variance() -> None:
    chain = chain_between(SEGMENTS, DOWNSTREAM, _spot("s01-11"), _spot("s11-21"))
    assert chain is not None
    lengths = [SEGMENTS[s].length_m for s in chain.segments]
    # Link 1 runs at 60, link 2 at 20 km/h by their loops; the journeys take twice as long.
    current = [60.0, 20.0]
    at_current = sum(
        share * length / 1000 / v * 3600
        for share, length, v in zip(chain.shares, lengths, current, strict=True)
    )
    links = split_chain(chain, ChainTime(2 * at_current, 10, 0.02), lengths, current)
    assert [link.speed_kmh for link in links] == pytest.approx([30.0, 10.0])
    # The slow link holds most of the chain's time, so its share is the surer.
    assert links[1].relative_variance < links[0].relative_variance

    equal = fuse(40.0, 1.0, [LinkSpeed(0, 10.0, 0.0625)])
    assert equal.speed_kmh == pytest.approx(20.0)  # the geometric mean of equals
    assert equal.confidence == pytest.approx(math.sqrt(2), rel=0.01) or equal.confidence == 1.0
    lone_loop = fuse(40.0, 0.5, [LinkSpeed(0, 10.0, 0.01)])
    assert lone_loop.speed_kmh < 12.0  # a half-sure loop counts for little
    assert lone_loop.confidence > 0.5
    only = fuse(None, 0.0, [LinkSpeed(0, 25.0, 0.02)])
    assert only.speed_kmh == pytest.approx(25.0)
    assert 0 < only.confidence <= 0.8


def _passages(
    start: datetime, seconds: list[float], *, first: str = "cam-a", second: str = "cam-b"
) -> list[PlatePassage]:
    passages = []
    for n, duration in enumerate(seconds):
        plate = f"1{n % 10}ب34{n // 10}{n % 10}6"
        leave = start + timedelta(seconds=5 + n)
        passages.append(PlatePassage(first, leave, plate))  # type: ignore[arg-type]
        passages.append(PlatePassage(second, leave + timedelta(seconds=duration), plate))  # type: ignore[arg-type]
    return passages


def _loops(start: datetime, speed_kmh: float = 50.0) -> list:  # type: ignore[type-arg]
    """A minute at `speed_kmh` from the loops of the camera chain's two segments."""
    return [
        reading(d, start + timedelta(seconds=60), period_s=60, count=12, speed_kmh=speed_kmh)
        for d in ("d-01-11-1", "d-01-11-2", "d-11-21-1", "d-11-21-2")
    ]


# Journeys of 60-66 s over a chain of 21.6 s at 60 km/h: about 21 km/h, against loops at 50.
SLOW = [60, 61, 62, 63, 64, 65, 66, 61, 62, 63]


async def _states(container: Container, at: datetime) -> dict[str, queries.SegmentStateView]:
    return {s.segment_id: s for s in await queries.segment_states(container.database, at=at)}


async def test_journeys_slow_the_loops_speed_on_the_chain_and_say_so(
    network: Container, clock: FixedClock
) -> None:
    # Journeys arriving in the minute of `start`: they leave 50-60 s before it.
    start = clock.now().replace(second=0) - timedelta(minutes=5)
    payload = batch_payload(_loops(start), passages=_passages(start - timedelta(seconds=70), SLOW))
    loops_only = batch_payload(_loops(start + timedelta(minutes=1)))
    await services.ingest_batch(network.database, clock, [payload, loops_only], plate_secret="s")

    fused = (await _states(network, start))["s01-11"]
    plain = (await _states(network, start + timedelta(minutes=1)))["s01-11"]

    assert plain.speed_kmh == pytest.approx(50.0, rel=0.05)  # spot speed, occupancy blended in
    assert "journeys" not in plain.source
    assert fused.source.endswith("+journeys")
    assert not fused.estimated
    assert 20.0 < fused.speed_kmh < 30.0  # mostly the journeys: the surer source
    assert fused.confidence >= plain.confidence
    assert fused.density_veh_km * fused.speed_kmh == pytest.approx(fused.flow_veh_h)
    assert fused.los in "DEF"


async def test_the_order_of_readings_and_passages_does_not_matter(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=5)
    passages = batch_payload(passages=_passages(start - timedelta(seconds=70), SLOW))
    await services.ingest_batch(network.database, clock, [passages], plate_secret="s")
    # Readings after their journeys: the interval job fuses them again once it closes.
    await services.ingest_batch(network.database, clock, [batch_payload(_loops(start))])
    await services.finalise_intervals(network.database, clock)

    state = (await _states(network, start))["s01-11"]
    assert state.source.endswith("+journeys")
    assert 20.0 < state.speed_kmh < 30.0


@pytest.mark.parametrize("passages_first", [False, True])
async def test_the_back_fill_fuses_journeys_too(
    network: Container, clock: FixedClock, passages_first: bool
) -> None:
    start = clock.now().replace(second=0) - timedelta(days=1)
    payloads = [
        batch_payload(_loops(start)),
        batch_payload(passages=_passages(start - timedelta(seconds=70), SLOW)),
    ]
    if passages_first:
        payloads.reverse()
    report = await services.backfill_readings(network.database, clock, payloads=payloads, chunk=1)

    assert report.ingest.journeys == len(SLOW)
    state = (await _states(network, start))["s01-11"]
    assert state.source.endswith("+journeys")


async def test_a_link_with_no_loop_on_a_camera_chain_is_measured_by_journeys(
    network: Container, clock: FixedClock
) -> None:
    await services.register_detectors(
        network.database,
        detectors=[DetectorSpec("cam-c", "s21-22", kind=DetectorKind.plate_camera)],
        clock=clock,
    )
    start = clock.now().replace(second=0) - timedelta(minutes=5)
    passages = _passages(start - timedelta(seconds=70), SLOW, first="cam-b", second="cam-c")
    await services.ingest_batch(
        network.database, clock, [batch_payload(_loops(start), passages=passages)], plate_secret="s"
    )

    state = (await _states(network, start))["s21-22"]
    assert (state.estimated, state.source) == (False, "journeys")
    assert state.speed_kmh < 20.0  # a 30 km/h street, its half of the chain slowed alike
    assert state.flow_veh_h == pytest.approx(1440.0)  # carried from the chain's loops
    assert state.confidence <= 0.8


async def test_a_camera_pair_with_a_clock_skew_is_refused_and_said_so(
    network: Container, clock: FixedClock
) -> None:
    start = clock.now().replace(second=0) - timedelta(minutes=5)
    # cam-b runs 58 s slow: the journeys of about 62 s arrive as 2-8 s.
    skewed = [t - 58 for t in SLOW]
    payload = batch_payload(
        _loops(start), passages=_passages(start - timedelta(seconds=12), skewed)
    )
    report = await services.ingest_batch(network.database, clock, [payload], plate_secret="s")

    assert report.journeys_unused == len(SLOW)
    assert report.journey_pairs_refused == {"cam-a>cam-b": "clock_skew"}
    state = (await _states(network, start))["s01-11"]
    assert state.speed_kmh == pytest.approx(50.0, rel=0.05)  # the loops alone
    assert state.source.endswith("+journeys_skewed")
    assert state.confidence == pytest.approx(0.9)
    changes = await services.judge_health(network.database, clock)
    assert {("cam-a", "failed"), ("cam-b", "failed")} <= set(changes)
