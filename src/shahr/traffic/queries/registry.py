"""The network and registry as arrays, cached per process and reloaded when they change.

Every batch checks one row (the registry version); only a change reloads the rest. A read
model: the queries read it, and so do the services that ingest and roll up.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import numpy as np

from shahr.kernel.db import Database
from shahr.traffic.domain.detectors import Detector, DetectorHealth, DetectorKind
from shahr.traffic.domain.link_speed import EFFECTIVE_VEHICLE_LENGTH_M
from shahr.traffic.domain.network import Adjacency, Segment, adjacency_of, bearing_deg
from shahr.traffic.domain.propagation import DirectedNetwork
from shahr.traffic.domain.signals import give_way_of
from shahr.traffic.domain.state import (
    WHOLE_ROAD,
    DetectorIntervalSums,
    DetectorTable,
    SegmentTable,
)
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.persistence.readings import IntervalTotals


@dataclass(frozen=True)
class Registry:
    version: int
    segments: list[Segment]
    segment_index: dict[str, int]
    detectors: list[Detector]
    detector_index: dict[str, int]
    detector_table: DetectorTable
    segment_table: SegmentTable
    adjacency: Adjacency
    edge_a: np.ndarray  # per movement: the segment traffic leaves
    edge_b: np.ndarray  # per movement: the segment it enters (downstream of edge_a)
    directed: DirectedNetwork  # the same movements, with their turns, for the estimates
    is_camera: np.ndarray  # per detector: a plate camera (passages, no readings)
    detector_ids: np.ndarray  # per detector: its id (object array, for fancy indexing)
    segment_ids: np.ndarray  # per segment: its id (object array, for fancy indexing)
    # Counting detectors by segment, as CSR: those of segment s are
    # counting_detectors[counting_start[s]:counting_start[s + 1]].
    counting_start: np.ndarray
    counting_detectors: np.ndarray

    def detector(self, detector_id: str) -> Detector | None:
        index = self.detector_index.get(detector_id)
        return None if index is None else self.detectors[index]

    def sums_of(self, totals: IntervalTotals) -> DetectorIntervalSums:
        """Interval totals as arrays indexed by this registry (unregistered detectors left out)."""
        index_of = self.detector_index.get
        detector = np.array([index_of(d, -1) for d in totals.detector_id], dtype=np.int64)
        known = detector >= 0
        return DetectorIntervalSums(
            detector=detector[known],
            interval=totals.interval[known],
            readings=totals.readings[known],
            count=totals.count[known],
            period_s=totals.period_s[known],
            occupancy_s=totals.occupancy_s[known],
            speed_count=totals.speed_count[known],
            inv_speed=totals.inv_speed[known],
        )


def build_registry(
    version: int,
    segments: list[Segment],
    detectors: list[Detector],
    vehicle_lengths: dict[str, float] | None = None,
) -> Registry:
    segment_index: dict[str, int] = {s.id: i for i, s in enumerate(segments)}
    placed = [d for d in detectors if d.segment_id in segment_index]
    detector_index: dict[str, int] = {d.id: i for i, d in enumerate(placed)}
    usable = np.array([d.counts and d.health is DetectorHealth.ok for d in placed], dtype=np.bool_)
    segment_of = np.array([segment_index[d.segment_id] for d in placed], dtype=np.int64)
    # Every counting detector a segment should have, failed ones too: a lane filled in from
    # its neighbour lowers the confidence.
    counts = np.array([d.counts for d in placed], dtype=np.bool_)
    counting = np.bincount(
        segment_of[counts] if len(placed) else np.zeros(0, dtype=np.int64),
        minlength=len(segments),
    ).astype(np.float64)
    adjacency = adjacency_of(segments)
    pairs = [
        (segment_index[a], segment_index[b])
        for a, following in adjacency.downstream.items()
        for b in following
    ]
    edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    counting_index = np.flatnonzero(counts)
    by_segment = counting_index[np.argsort(segment_of[counting_index], kind="stable")]
    counting_start = np.zeros(len(segments) + 1, dtype=np.int64)
    np.cumsum(counting.astype(np.int64), out=counting_start[1:])
    return Registry(
        version=version,
        segments=segments,
        segment_index=segment_index,
        detectors=placed,
        detector_index=detector_index,
        detector_table=DetectorTable(
            segment=segment_of,
            lane=np.array(
                [d.lane if d.lane is not None else WHOLE_ROAD for d in placed], dtype=np.int64
            ),
            usable=usable,
            vehicle_length_m=_vehicle_lengths(placed, vehicle_lengths or {}),
        ),
        segment_table=_segment_table(segments, counting),
        adjacency=adjacency,
        edge_a=edges[:, 0],
        edge_b=edges[:, 1],
        directed=directed_network(segments, edges),
        is_camera=np.array([d.kind is DetectorKind.plate_camera for d in placed], dtype=np.bool_),
        detector_ids=np.array([d.id for d in placed], dtype=object),
        segment_ids=np.array([s.id for s in segments], dtype=object),
        counting_start=counting_start,
        counting_detectors=by_segment.astype(np.int64),
    )


def _segment_table(segments: list[Segment], counting: np.ndarray) -> SegmentTable:
    return SegmentTable(
        lanes=np.array([s.lanes for s in segments], dtype=np.float64),
        free_flow_kmh=np.array([s.free_flow_kmh for s in segments], dtype=np.float64),
        capacity_veh_h=np.array([s.capacity_veh_h for s in segments], dtype=np.float64),
        length_m=np.array([s.length_m for s in segments], dtype=np.float64),
        counting_detectors=counting,
        signal_cycle_s=_or_nan([s.signal_cycle_s for s in segments]),
        green_share=_or_nan([s.green_share for s in segments]),
        give_way=give_way_of(
            [s.yields for s in segments],
            [s.from_node for s in segments],
            [s.to_node for s in segments],
        ),
    )


def directed_network(segments: list[Segment], edges: np.ndarray) -> DirectedNetwork:
    """The movements with their turns: from the bearing leaving one segment to the next's."""
    exits = [bearing_deg(s.geometry[-2], s.geometry[-1]) for s in segments]
    entries = [bearing_deg(s.geometry[0], s.geometry[1]) for s in segments]
    turn = np.array(
        [(entries[b] - exits[a] + 180.0) % 360.0 - 180.0 for a, b in edges.tolist()],
        dtype=np.float64,
    )
    return DirectedNetwork(
        n_segments=len(segments),
        upstream=edges[:, 0].copy(),
        downstream=edges[:, 1].copy(),
        turn_deg=turn,
    )


def _vehicle_lengths(placed: list[Detector], learnt: dict[str, float]) -> np.ndarray:
    return np.array(
        [learnt.get(d.id, EFFECTIVE_VEHICLE_LENGTH_M) for d in placed], dtype=np.float64
    )


def _or_nan(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


_cache: weakref.WeakKeyDictionary[Database, Registry] = weakref.WeakKeyDictionary()
_locks: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


async def current_registry(database: Database) -> Registry:
    """The registry as it stands in the database, reloaded only when its version moved."""
    lock = _locks.setdefault(database, asyncio.Lock())
    async with lock:
        async with TrafficUnitOfWork(database) as uow:
            version = await uow.network.version()
            cached = _cache.get(database)
            if cached is not None and cached.version == version:
                return cached
            segments = await uow.network.all()
            detectors = await uow.detectors.all()
            lengths = await uow.detectors.vehicle_lengths()
        registry = build_registry(version, segments, detectors, lengths)
        _cache[database] = registry
        return registry


def is_plate_camera(detector: Detector) -> bool:
    return detector.kind is DetectorKind.plate_camera
