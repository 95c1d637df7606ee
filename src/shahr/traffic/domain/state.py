"""Segment state per interval: the numpy aggregation kernel, level of service, congestion.

Two steps, both array group-bys with no Python loop over readings:

1. readings -> per (detector, interval) sums: count, counted seconds, occupancy-seconds,
   and for space-mean speed the harmonic sums Σn and Σn/v;
2. those sums (of the detectors that are healthy) -> per (segment, interval) state:
   flow = Σ over lanes of the lane's count x 3600 / period (a lane's detectors averaged,
   missing lanes filled from the lanes that report), speed = the link's space-mean speed
   from each lane's counts, occupancy and spot speeds (`link_speed`) with the downstream
   signal's control delay added (`signals`), occupancy the lanes' mean, density = flow /
   speed, v/c, LOS, congestion level, a confidence and what the state used.

Step 1's sums add up across batches, so ingest keeps them in the database and a late
reading only adds its own share (docs/decisions/0012-traffic-state.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from shahr.traffic.domain.link_speed import (
    EFFECTIVE_VEHICLE_LENGTH_M,
    GIVE_WAY_DELAY,
    SIGNAL_DELAY,
    STOPPED_SPEED_KMH,
    LaneInputs,
    link_speeds,
)
from shahr.traffic.domain.network import MAX_LANES
from shahr.traffic.domain.signals import (
    GiveWay,
    conflicting_flow,
    control_delay_s,
    give_way_delay_s,
    signal_capacity,
    with_signal_delay,
)

INTERVAL_S = 60
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LOS_LETTERS = "ABCDEF"
# HCM urban streets: LOS by travel speed as a share of free-flow speed (A > 80 %, ...).
LOS_SPEED_SHARES = np.array([0.80, 0.67, 0.50, 0.40, 0.30])
# Congestion level 0-5 by extra travel time over free flow, in % (TomTom's measure).
CONGESTION_EXTRA_PCT = np.array([10.0, 25.0, 50.0, 100.0, 200.0])
WHOLE_ROAD = 0  # the lane a detector covering every lane is given


def interval_start_of(observed_at: datetime, period_s: int) -> datetime:
    """The interval a reading belongs to: the one holding the middle of its count period."""
    middle = observed_at.timestamp() - period_s / 2
    return datetime.fromtimestamp(middle // INTERVAL_S * INTERVAL_S, UTC)


def interval_index(moment: datetime) -> int:
    return int(moment.timestamp() // INTERVAL_S)


def interval_at(index: int) -> datetime:
    return datetime.fromtimestamp(index * INTERVAL_S, UTC)


def los_letter(code: int) -> str:
    return LOS_LETTERS[code]


@dataclass(frozen=True)
class ReadingArrays:
    """Readings as columns; `detector` indexes the caller's detector table."""

    detector: IntArray
    interval: IntArray  # interval index (epoch seconds // INTERVAL_S)
    count: FloatArray
    period_s: FloatArray
    occupancy_pct: FloatArray
    speed_kmh: FloatArray  # NaN where the detector measures no speed

    def __len__(self) -> int:
        return len(self.detector)


@dataclass(frozen=True)
class DetectorIntervalSums:
    """Per (detector, interval) sums; each adds up across batches."""

    detector: IntArray
    interval: IntArray
    readings: FloatArray
    count: FloatArray
    period_s: FloatArray
    occupancy_s: FloatArray  # Σ occupancy % x period
    speed_count: FloatArray  # Σ vehicles in readings that carry a speed
    inv_speed: FloatArray  # Σ vehicles / speed (for the harmonic mean)

    def __len__(self) -> int:
        return len(self.detector)


def sum_by_detector_interval(readings: ReadingArrays) -> DetectorIntervalSums:
    """Step 1: one row of sums per (detector, interval) present in the readings."""
    if len(readings) == 0:
        empty_f = np.zeros(0)
        empty_i = np.zeros(0, dtype=np.int64)
        return DetectorIntervalSums(
            empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, empty_f, empty_f
        )
    first = int(readings.interval.min())
    span = int(readings.interval.max()) - first + 1
    n_detectors = int(readings.detector.max()) + 1
    key = readings.detector * span + (readings.interval - first)
    size = n_detectors * span
    if size <= 4 * len(readings) + 1024:
        # Dense keys: bincount straight into a table, no sort.
        group = key
        present = np.flatnonzero(np.bincount(group, minlength=size))
        keys = present
        index = np.full(size, -1, dtype=np.int64)
        index[present] = np.arange(len(present))
        group = index[group]
    else:
        keys, group = np.unique(key, return_inverse=True)
    n = len(keys)
    with_speed = ~np.isnan(readings.speed_kmh)
    counted = np.where(with_speed, readings.count, 0.0)
    inverse = np.divide(
        counted,
        readings.speed_kmh,
        out=np.zeros(len(readings)),
        where=with_speed & (readings.speed_kmh > 0),
    )
    # A counted vehicle at speed 0 would be an infinite time: treat it as stopped.
    inverse = np.where(with_speed & (readings.speed_kmh <= 0), counted / STOPPED_SPEED_KMH, inverse)
    return DetectorIntervalSums(
        detector=(keys // span).astype(np.int64),
        interval=(keys % span + first).astype(np.int64),
        readings=np.bincount(group, minlength=n).astype(np.float64),
        count=np.bincount(group, weights=readings.count, minlength=n).astype(np.float64),
        period_s=np.bincount(group, weights=readings.period_s, minlength=n).astype(np.float64),
        occupancy_s=np.bincount(
            group, weights=readings.occupancy_pct * readings.period_s, minlength=n
        ).astype(np.float64),
        speed_count=np.bincount(group, weights=counted, minlength=n).astype(np.float64),
        inv_speed=np.bincount(group, weights=inverse, minlength=n).astype(np.float64),
    )


@dataclass(frozen=True)
class DetectorTable:
    """The registry as columns, indexed like `ReadingArrays.detector`."""

    segment: IntArray  # index into the segment table
    lane: IntArray  # 1.. for a lane, WHOLE_ROAD for a detector over every lane
    usable: BoolArray  # healthy and counting
    # Effective vehicle length per detector (calibrated), None: the default for all.
    vehicle_length_m: FloatArray | None = None


@dataclass(frozen=True)
class SegmentTable:
    """The network as columns, indexed like `DetectorTable.segment`."""

    lanes: FloatArray
    free_flow_kmh: FloatArray
    capacity_veh_h: FloatArray
    length_m: FloatArray
    counting_detectors: FloatArray  # counting detectors registered on the segment, any health
    # The downstream signal (NaN where none or unknown); None: no signals known at all.
    signal_cycle_s: FloatArray | None = None
    green_share: FloatArray | None = None
    give_way: GiveWay | None = None  # None: no junction priorities known


@dataclass(frozen=True)
class SegmentStates:
    """Step 2's output: one row per (segment, interval) that had usable readings."""

    segment: IntArray
    interval: IntArray
    flow_veh_h: FloatArray
    speed_kmh: FloatArray
    occupancy_pct: FloatArray
    density_veh_km: FloatArray
    vc_ratio: FloatArray
    los: IntArray  # 0..5 for A..F
    congestion_level: IntArray
    confidence: FloatArray
    speed_measured: BoolArray  # some lane's loop measured spot speeds
    source_flags: IntArray  # what the state used (`link_speed.source_text` names it)

    def __len__(self) -> int:
        return len(self.segment)


def level_of_service(speed_kmh: FloatArray, free_flow_kmh: FloatArray, vc: FloatArray) -> IntArray:
    """HCM urban streets: by speed as a share of free flow; v/c above 1 forces F."""
    share = speed_kmh / free_flow_kmh
    # searchsorted wants ascending bounds: count the thresholds the share does not exceed.
    code = (share[:, None] <= LOS_SPEED_SHARES[None, :]).sum(axis=1).astype(np.int64)
    return np.where(vc > 1.0, 5, code).astype(np.int64)


def congestion_level(speed_kmh: FloatArray, free_flow_kmh: FloatArray) -> IntArray:
    """0-5 by extra travel time over free flow: <10 %, <25 %, <50 %, <100 %, <200 %, more."""
    extra_pct = (free_flow_kmh / np.maximum(speed_kmh, 0.1) - 1.0) * 100.0
    return np.searchsorted(CONGESTION_EXTRA_PCT, extra_pct, side="right").astype(np.int64)


@dataclass(frozen=True)
class _Groups:
    """The healthy detectors' sums grouped by lane, and the lanes by (segment, interval)."""

    keep: BoolArray  # per detector row of the sums: healthy and counting
    period: FloatArray  # per kept row
    lane_group: IntArray  # per kept row: its lane's group
    lane_rate: FloatArray  # per lane: the mean rate of its detectors
    lane_occ: FloatArray
    whole: BoolArray  # per lane: a whole-road detector
    seg_group: IntArray  # per lane: its (segment, interval)'s group
    seg_idx: IntArray  # per (segment, interval)
    interval: IntArray
    n: int


def _group(sums: DetectorIntervalSums, detectors: DetectorTable) -> _Groups:
    keep = detectors.usable[sums.detector] & (sums.period_s > 0)
    det = sums.detector[keep]
    interval = sums.interval[keep]
    count, period = sums.count[keep], sums.period_s[keep]
    seg = detectors.segment[det]
    lane = detectors.lane[det]
    rate = count * 3600.0 / period
    occupancy = sums.occupancy_s[keep] / period
    first = int(interval.min()) if len(interval) else 0
    span = (int(interval.max()) - first + 1) if len(interval) else 1
    seg_key = seg * span + (interval - first)
    lane_key = seg_key * (MAX_LANES + 1) + lane
    lanes_u, lane_group = np.unique(lane_key, return_inverse=True)
    n_in_lane = np.bincount(lane_group).astype(np.float64)
    lane_seg_key = lanes_u // (MAX_LANES + 1)
    segs_u, seg_group = np.unique(lane_seg_key, return_inverse=True)
    return _Groups(
        keep=keep,
        period=period,
        lane_group=lane_group,
        lane_rate=np.bincount(lane_group, weights=rate) / n_in_lane,
        lane_occ=np.bincount(lane_group, weights=occupancy) / n_in_lane,
        whole=lanes_u % (MAX_LANES + 1) == WHOLE_ROAD,
        seg_group=seg_group,
        seg_idx=(segs_u // span).astype(np.int64),
        interval=(segs_u % span + first).astype(np.int64),
        n=len(segs_u),
    )


def _flow_and_occupancy(groups: _Groups, segments: SegmentTable) -> tuple[FloatArray, FloatArray]:
    """A whole-road detector's rate, else the lanes' rates scaled to the lanes not reporting."""
    n, whole, seg_group, lane_rate = groups.n, groups.whole, groups.seg_group, groups.lane_rate
    has_whole = np.bincount(seg_group, weights=whole.astype(np.float64), minlength=n) > 0
    whole_rate = np.bincount(seg_group, weights=np.where(whole, lane_rate, 0.0), minlength=n)
    n_whole = np.maximum(np.bincount(seg_group, weights=whole.astype(np.float64), minlength=n), 1)
    specific_rate = np.bincount(seg_group, weights=np.where(whole, 0.0, lane_rate), minlength=n)
    n_specific = np.bincount(seg_group, weights=(~whole).astype(np.float64), minlength=n)
    lanes = segments.lanes[groups.seg_idx]
    lanes_reporting = np.minimum(n_specific, lanes)
    flow = np.where(
        has_whole,
        whole_rate / n_whole,
        specific_rate * lanes / np.maximum(lanes_reporting, 1.0),
    )
    occ = np.bincount(seg_group, weights=groups.lane_occ, minlength=n) / np.bincount(
        seg_group, minlength=n
    )
    return flow, occ


def _lane_inputs(
    groups: _Groups,
    sums: DetectorIntervalSums,
    detectors: DetectorTable,
    segments: SegmentTable,
) -> LaneInputs:
    keep, lane_group, n_lanes = groups.keep, groups.lane_group, len(groups.whole)
    n_in_lane = np.bincount(lane_group, minlength=n_lanes).astype(np.float64)
    if detectors.vehicle_length_m is None:
        length = np.full(n_lanes, EFFECTIVE_VEHICLE_LENGTH_M)
    else:
        length = (
            np.bincount(
                lane_group,
                weights=detectors.vehicle_length_m[sums.detector[keep]],
                minlength=n_lanes,
            )
            / n_in_lane
        )
    lane_seg = groups.seg_idx[groups.seg_group]
    return LaneInputs(
        rate=groups.lane_rate,
        occupancy=groups.lane_occ / 100.0,
        spot_n=np.bincount(lane_group, weights=sums.speed_count[keep], minlength=n_lanes).astype(
            np.float64
        ),
        spot_inv=np.bincount(lane_group, weights=sums.inv_speed[keep], minlength=n_lanes).astype(
            np.float64
        ),
        vehicle_length_m=length,
        cover=np.where(groups.whole, segments.lanes[lane_seg], 1.0),
        free_flow_kmh=segments.free_flow_kmh[lane_seg],
    )


def _signal_arrays(segments: SegmentTable, seg_idx: IntArray) -> tuple[FloatArray, FloatArray]:
    if segments.signal_cycle_s is None or segments.green_share is None:
        unknown = np.full(len(seg_idx), np.nan)
        return unknown, unknown
    return segments.signal_cycle_s[seg_idx], segments.green_share[seg_idx]


def segment_states_from(
    sums: DetectorIntervalSums, detectors: DetectorTable, segments: SegmentTable
) -> SegmentStates:
    """Step 2: the state of every (segment, interval) the healthy detectors' sums cover."""
    groups = _group(sums, detectors)
    flow, occ = _flow_and_occupancy(groups, segments)
    seg_idx = groups.seg_idx
    free_flow = segments.free_flow_kmh[seg_idx]
    lanes = segments.lanes[seg_idx]
    lane_inputs = _lane_inputs(groups, sums, detectors, segments)
    link = link_speeds(lane_inputs, groups.seg_group, groups.n, free_flow)
    cycle, green = _signal_arrays(segments, seg_idx)
    delay = control_delay_s(flow, lanes, cycle, green)
    if segments.give_way is not None:
        conflicting = conflicting_flow(segments.give_way, seg_idx, groups.interval, flow)
        gives_way = np.isfinite(conflicting)
        delay = delay + give_way_delay_s(flow, conflicting)
    else:
        gives_way = np.zeros(groups.n, dtype=np.bool_)
    speed = with_signal_delay(link.speed_kmh, segments.length_m[seg_idx], delay)
    signalised = np.isfinite(green) & (green > 0)
    capacity = np.where(signalised, signal_capacity(lanes, green), segments.capacity_veh_h[seg_idx])
    vc = flow / capacity
    flags = link.flags | SIGNAL_DELAY * signalised | GIVE_WAY_DELAY * gives_way
    seconds = np.bincount(
        groups.seg_group[groups.lane_group], weights=groups.period, minlength=groups.n
    )
    expected = np.maximum(segments.counting_detectors[seg_idx], 1.0)
    coverage = np.minimum(seconds / (expected * INTERVAL_S), 1.0)
    # Coverage is the share of the expected detector-seconds that were counted: a missing
    # lane or a missing reading lowers it alike; the lanes' factor says what they lacked.
    confidence = coverage * link.confidence
    speed_n = np.bincount(groups.seg_group, weights=lane_inputs.spot_n, minlength=groups.n)
    return SegmentStates(
        segment=seg_idx,
        interval=groups.interval,
        flow_veh_h=flow,
        speed_kmh=speed,
        occupancy_pct=occ,
        density_veh_km=flow / speed,
        vc_ratio=vc,
        los=level_of_service(speed, free_flow, vc),
        congestion_level=congestion_level(speed, free_flow),
        confidence=np.round(confidence, 3),
        speed_measured=speed_n > 0,
        source_flags=flags.astype(np.int64),
    )


def aggregate(
    readings: ReadingArrays, detectors: DetectorTable, segments: SegmentTable
) -> SegmentStates:
    """Both steps at once: readings straight to segment states (back-fill, benchmarks)."""
    return segment_states_from(sum_by_detector_interval(readings), detectors, segments)
