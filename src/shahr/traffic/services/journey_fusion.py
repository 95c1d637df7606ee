"""Journey times fused into segment states (the method: `domain.journeys`).

Runs wherever journeys or loop sums change, in the same transaction: when passages complete
journeys (`store_passages`, in the live and back-fill ingest alike), when an interval closes
(`finalise_intervals`, after late readings), and after ingest saves loop states.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from shahr.traffic.domain.journeys import (
    JOURNEYS,
    JOURNEYS_SKEWED,
    SKEWED_CONFIDENCE,
    CameraSpot,
    Chain,
    ChainTime,
    LinkSpeed,
    PairVerdict,
    chain_between,
    chain_time,
    fuse,
    split_chain,
    with_source,
)
from shahr.traffic.domain.state import (
    INTERVAL_S,
    SegmentStates,
    congestion_level,
    interval_at,
    interval_index,
    level_of_service,
    segment_states_from,
)
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import Registry

# Journeys of a pair over this long judge its clocks (the skew check).
SKEW_WINDOW = timedelta(minutes=30)


@dataclass
class FusionReport:
    """What a fusion run did: states rewritten, and the pairs it could not use (and why)."""

    fused: int = 0
    skewed_pairs: set[tuple[str, str]] = field(default_factory=set)
    no_route: set[tuple[str, str]] = field(default_factory=set)
    unused_journeys: int = 0  # journeys of refused pairs in the fused intervals


class _Chains:
    """Each camera pair's chain, found once per registry (the network and cameras)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = weakref.ref(registry)
        index = registry.segment_index
        self.downstream = {
            index[a]: [index[b] for b in following]
            for a, following in registry.adjacency.downstream.items()
        }
        self.found: dict[tuple[str, str], Chain | None] = {}

    def get(self, registry: Registry, pair: tuple[str, str]) -> Chain | None:
        if pair not in self.found:
            spots = [_spot(registry, camera) for camera in pair]
            self.found[pair] = (
                chain_between(registry.segments, self.downstream, spots[0], spots[1])
                if spots[0] is not None and spots[1] is not None
                else None
            )
        return self.found[pair]


_chains: dict[int, _Chains] = {}


def chains_of(registry: Registry) -> _Chains:
    cached = _chains.get(id(registry))
    if cached is None or cached.registry() is not registry:
        if len(_chains) > 16:
            _chains.clear()
        cached = _chains[id(registry)] = _Chains(registry)
    return cached


def _spot(registry: Registry, camera_id: str) -> CameraSpot | None:
    camera = registry.detector(camera_id)
    if camera is None or camera.segment_id not in registry.segment_index:
        return None
    return CameraSpot(registry.segment_index[camera.segment_id], camera.position_m)


@dataclass
class _Plan:
    """One fusion run's inputs: the links each chain time reaches, the refused pairs' links."""

    times: list[tuple[Chain, int, ChainTime]] = field(default_factory=list)
    skewed: set[tuple[int, int]] = field(default_factory=set)

    def keys(self) -> set[tuple[int, int]]:
        found = set(self.skewed)
        for chain, interval, _ in self.times:
            found.update((s, interval) for s in chain.segments)
        return found


def _plan(
    registry: Registry, journeys: Sequence[Any], wanted: Sequence[int], report: FusionReport
) -> _Plan:
    by_pair: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for journey in journeys:
        arrived = interval_index(journey.arrived_at)
        by_pair.setdefault((journey.from_camera, journey.to_camera), []).append(
            (arrived, journey.travel_time_s)
        )
    chains = chains_of(registry)
    window = int(SKEW_WINDOW.total_seconds()) // INTERVAL_S
    plan = _Plan()
    for pair, items in by_pair.items():
        chain = chains.get(registry, pair)
        for interval in wanted:
            times = [t for i, t in items if i == interval]
            if not times:
                continue
            if chain is None:
                report.no_route.add(pair)
                report.unused_journeys += len(times)
                continue
            recent = [t for i, t in items if interval - window < i <= interval]
            verdict = chain_time(times, recent, chain.free_flow_s)
            if isinstance(verdict, ChainTime):
                plan.times.append((chain, interval, verdict))
            elif verdict is PairVerdict.clock_skew:
                report.skewed_pairs.add(pair)
                report.unused_journeys += len(times)
                plan.skewed.update((s, interval) for s in chain.segments)
    return plan


async def fuse_journeys(
    uow: TrafficUnitOfWork, registry: Registry, intervals: Sequence[int], now: datetime
) -> FusionReport:
    """Fuse the camera pairs' journey times into the states of their chains' links.

    `intervals` are interval indices whose journeys or loop sums may have changed. Each run
    starts again from the loops' sums and the stored journeys, so it can run as often as
    either changes (ingest of readings or passages, the interval job) and in any order.
    """
    report = FusionReport()
    if not intervals or not registry.is_camera.any():
        return report
    wanted = sorted(set(intervals))
    journeys = await uow.readings.journeys_between(
        interval_at(wanted[0]) - SKEW_WINDOW, interval_at(wanted[-1] + 1)
    )
    plan = _plan(registry, journeys, wanted, report)
    keys = plan.keys()
    if not keys:
        return report
    loops = await _loop_states(uow, registry, keys)
    stored = {
        (registry.segment_index[row[0]], interval_index(row[1])): row
        for row in await uow.states.of_segments(
            sorted({registry.segments[s].id for s, _ in keys}),
            interval_at(wanted[0]),
            interval_at(wanted[-1] + 1),
        )
        if row[0] in registry.segment_index
    }
    rows = fused_rows(registry, plan, loops, stored, now)
    await uow.states.save_measured(rows)
    report.fused = len(rows)
    return report


async def _loop_states(
    uow: TrafficUnitOfWork, registry: Registry, keys: set[tuple[int, int]]
) -> dict[tuple[int, int], tuple[SegmentStates, int]]:
    """The loops' own states of these (segment, interval) pairs, from their stored sums."""
    detector_id: list[str] = []
    interval: list[int] = []
    for segment, at in sorted(keys):
        start, end = registry.counting_start[segment], registry.counting_start[segment + 1]
        for detector in registry.counting_detectors[start:end].tolist():
            detector_id.append(str(registry.detector_ids[detector]))
            interval.append(at)
    if not detector_id:
        return {}
    totals = await uow.readings.totals_of(detector_id, np.array(interval, dtype=np.int64))
    states = segment_states_from(
        registry.sums_of(totals), registry.detector_table, registry.segment_table
    )
    return {
        (segment, at): (states, row)
        for row, (segment, at) in enumerate(
            zip(states.segment.tolist(), states.interval.tolist(), strict=True)
        )
    }


def fused_rows(
    registry: Registry,
    plan: _Plan,
    loops: dict[tuple[int, int], tuple[SegmentStates, int]],
    stored: dict[tuple[int, int], Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """The states to store: loops and journeys fused, journeys alone, or a pair refused."""
    table = registry.segment_table
    links: dict[tuple[int, int], list[LinkSpeed]] = {}
    chain_flows: dict[tuple[int, int], list[float]] = {}
    for chain, at, time in plan.times:
        current, flows = [], []
        for segment in chain.segments:
            loop = loops.get((segment, at))
            current.append(
                float(loop[0].speed_kmh[loop[1]]) if loop else float(table.free_flow_kmh[segment])
            )
            if loop:
                flows.append(float(loop[0].flow_veh_h[loop[1]]))
        lengths = table.length_m[list(chain.segments)].tolist()
        for link in split_chain(chain, time, lengths, current):
            links.setdefault((link.segment, at), []).append(link)
            chain_flows.setdefault((link.segment, at), []).extend(flows)
    rows = []
    for key in sorted(plan.keys()):
        loop = loops.get(key)
        row = stored.get(key)
        base = row[4] if row is not None and loop is not None else ""
        found = links.get(key)
        if found:
            flows = chain_flows.get(key) or [0.0]
            speed, confidence = _fused(loop, found)
            flow = float(loop[0].flow_veh_h[loop[1]]) if loop else float(np.mean(flows))
            source = with_source(base or ("loops" if loop else ""), JOURNEYS)
        elif loop is not None:  # only refused pairs reach it: the loops, less sure
            speed = float(loop[0].speed_kmh[loop[1]])
            confidence = round(float(loop[0].confidence[loop[1]]) * SKEWED_CONFIDENCE, 3)
            flow = float(loop[0].flow_veh_h[loop[1]])
            source = with_source(base or "loops", JOURNEYS_SKEWED)
        else:  # a refused pair over a link with no loop: left to the estimator
            continue
        occupancy = float(loop[0].occupancy_pct[loop[1]]) if loop else None
        rows.append(_row(registry, key, flow, speed, occupancy, confidence, source, now))
    return rows


def _fused(loop: tuple[SegmentStates, int] | None, links: list[LinkSpeed]) -> tuple[float, float]:
    if loop is None:
        result = fuse(None, 0.0, links)
    else:
        states, row = loop
        result = fuse(float(states.speed_kmh[row]), float(states.confidence[row]), links)
    return result.speed_kmh, result.confidence


def _row(
    registry: Registry,
    key: tuple[int, int],
    flow: float,
    speed: float,
    occupancy: float | None,
    confidence: float,
    source: str,
    now: datetime,
) -> dict[str, Any]:
    segment, at = key
    table = registry.segment_table
    free_flow = table.free_flow_kmh[segment : segment + 1]
    vc = flow / float(table.capacity_veh_h[segment])
    speeds = np.array([speed])
    return {
        "segment_id": registry.segments[segment].id,
        "interval_start": interval_at(at),
        "flow_veh_h": flow,
        "speed_kmh": speed,
        "occupancy_pct": occupancy,
        "density_veh_km": flow / speed,
        "vc_ratio": vc,
        "los": int(level_of_service(speeds, free_flow, np.array([vc]))[0]),
        "congestion_level": int(congestion_level(speeds, free_flow)[0]),
        "confidence": confidence,
        "estimated": False,
        "source": source,
        "updated_at": now,
    }
