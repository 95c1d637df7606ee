"""Link speed as traffic engineers define it: the space-mean speed over the link.

Per lane (all arrays, no loop over readings):

- density from occupancy, k = occupancy x 1000 / L, with L the detector's effective
  vehicle length (vehicle plus loop; calibrated from its own free-flow minutes, else 6.5 m);
- speed from flow and occupancy, q / k, combined with the loop's spot speed: at low
  occupancy the spot speed is trusted, as occupancy rises the lower of the two takes over,
  so a lane with high occupancy and few vehicles is slow even if the few it counted were
  fast;
- no count with occupancy is a standstill; no count and no occupancy is an empty lane
  (free flow, lower confidence); a count with neither speed nor occupancy says nothing
  about speed (free flow assumed, lower confidence still).

Lanes are combined as the space-mean over vehicles, total flow over total density, so a
lane full of standing vehicles weighs by its density, and a lane at standstill caps the
link inside LOS D whatever its neighbours do: one blocked lane is never hidden by a
moving one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EFFECTIVE_VEHICLE_LENGTH_M = 6.5  # until a detector's own is learnt
# A detector's length is learnt from its free-flow minutes (occupancy under 15 %, PeMS's
# g-factor rule, and spot speeds at least 60 % of free flow), once it has enough of them.
LENGTH_FREE_FLOW_OCCUPANCY_PCT = 15.0
LENGTH_FREE_FLOW_SPEED_SHARE = 0.6
LENGTH_MIN_INTERVALS = 30
LENGTH_MIN_VEHICLES = 200
VEHICLE_LENGTH_RANGE_M = (3.0, 15.0)
STOPPED_SPEED_KMH = 3.0
# A minute with no vehicle counted but a loop covered at least this share of it: a vehicle
# stood over it (one passing at 20 km/h covers it for about 1 s, 2 % of a minute).
STANDSTILL_OCCUPANCY = 0.05
# Below this (a hundredth of a percent) a loop's occupancy is none at all.
NO_OCCUPANCY_BELOW = 1e-4
# From this occupancy the speed from flow and occupancy starts to count, fully from the next.
OCCUPANCY_TRUSTED_FROM = 0.10
OCCUPANCY_TRUSTED_FULLY = 0.25
# A lane at standstill keeps its link at most this share of free flow (LOS D).
STANDSTILL_LINK_SHARE = 0.45

# What a state used, as bits; the text is the names "+"-joined (the state's `source`).
LOOPS = 1  # lane counts (and spot speeds where the loop measures them)
OCCUPANCY = 2  # speed or standstill from occupancy
SIGNAL_DELAY = 4  # HCM control delay at the downstream signal added
FREE_FLOW = 8  # no speed measured at all: free flow assumed
GIVE_WAY_DELAY = 16  # HCM two-way-stop delay where the segment gives way to a major road
SOURCE_NAMES = ("loops", "occupancy", "signal_delay", "free_flow", "give_way_delay")

# Confidence per lane by what it could use.
FULL = 1.0
NO_OCCUPANCY = 0.9  # counts and spot speeds, occupancy missing: a queue cannot be seen
STANDSTILL = 0.9
OCCUPANCY_ONLY = 0.85
EMPTY = 0.7
NOTHING_ON_SPEED = 0.5

_SOURCE_TEXT = np.array(
    [
        "+".join(name for bit, name in enumerate(SOURCE_NAMES) if code >> bit & 1)
        for code in range(1 << len(SOURCE_NAMES))
    ],
    dtype=object,
)


def source_text(flags: IntArray) -> list[str]:
    """Each row's flags as the `source` text, e.g. "loops+occupancy+signal_delay"."""
    return list(_SOURCE_TEXT[flags].tolist())


@dataclass(frozen=True)
class LaneInputs:
    """One row per (segment, interval, lane) with usable detectors."""

    rate: FloatArray  # veh/h over the lanes the row stands for
    occupancy: FloatArray  # share of time covered, 0-1
    spot_n: FloatArray  # Σ vehicles with a speed
    spot_inv: FloatArray  # Σ vehicles / speed
    vehicle_length_m: FloatArray
    cover: FloatArray  # lanes the row stands for: 1, or every lane for a whole-road detector
    free_flow_kmh: FloatArray


@dataclass(frozen=True)
class LaneSpeeds:
    speed_kmh: FloatArray
    density: FloatArray  # veh/km over the lanes the row stands for
    flags: IntArray
    confidence: FloatArray
    standstill: BoolArray


def lane_speeds(lanes: LaneInputs) -> LaneSpeeds:
    """Each lane's speed, density, what it used and how far it can be trusted."""
    rate, occ, free_flow = lanes.rate, lanes.occupancy, lanes.free_flow_kmh
    per_lane = rate / lanes.cover
    counted = rate > 0
    has_occ = occ > NO_OCCUPANCY_BELOW
    has_spot = (lanes.spot_n > 0) & (lanes.spot_inv > 0)
    spot = np.divide(lanes.spot_n, lanes.spot_inv, out=free_flow.copy(), where=has_spot)
    k_occ = occ * 1000.0 / np.maximum(lanes.vehicle_length_m, 1.0)
    from_occ = np.divide(per_lane, k_occ, out=free_flow.copy(), where=has_occ & counted)
    standstill = ~counted & (occ >= STANDSTILL_OCCUPANCY)
    empty = ~counted & ~standstill
    trust = np.clip(
        (occ - OCCUPANCY_TRUSTED_FROM) / (OCCUPANCY_TRUSTED_FULLY - OCCUPANCY_TRUSTED_FROM), 0, 1
    )
    blended = np.exp(
        (1.0 - trust) * np.log(np.maximum(spot, 0.1))
        + trust * np.log(np.maximum(np.minimum(spot, from_occ), 0.1))
    )
    speed = np.where(
        has_spot,
        blended,
        np.where(has_occ, np.minimum(from_occ, free_flow), free_flow),
    )
    speed = np.where(standstill, STOPPED_SPEED_KMH, np.where(empty, free_flow, speed))
    speed = np.maximum(speed, STOPPED_SPEED_KMH)
    density = np.where(standstill, k_occ * lanes.cover, np.where(counted, rate / speed, 0.0))
    used_occ = standstill | (counted & has_occ & (~has_spot | (trust > 0)))
    assumed = empty | (counted & ~has_spot & ~has_occ)
    flags = LOOPS + OCCUPANCY * used_occ + FREE_FLOW * assumed
    confidence = np.select(
        [standstill, empty, counted & has_spot & has_occ, counted & has_spot, has_occ],
        [STANDSTILL, EMPTY, FULL, NO_OCCUPANCY, OCCUPANCY_ONLY],
        NOTHING_ON_SPEED,
    )
    return LaneSpeeds(speed, density, flags.astype(np.int64), confidence, standstill)


@dataclass(frozen=True)
class LinkSpeeds:
    speed_kmh: FloatArray  # running speed over the link (before any signal delay)
    flags: IntArray
    confidence: FloatArray  # the lanes' mean factor, by the lanes they stand for
    standstill: BoolArray  # some lane at standstill


def link_speeds(
    lanes: LaneInputs, seg_group: IntArray, n: int, free_flow_kmh: FloatArray
) -> LinkSpeeds:
    """Lanes to links: total flow over total density, a standstill lane capping the link."""
    lane = lane_speeds(lanes)
    flow = np.bincount(seg_group, weights=lanes.rate, minlength=n)
    density = np.bincount(seg_group, weights=lane.density, minlength=n)
    speed = np.divide(flow, density, out=free_flow_kmh.copy(), where=density > 0)
    any_standstill = np.bincount(seg_group, weights=lane.standstill, minlength=n) > 0
    speed = np.where(
        any_standstill, np.minimum(speed, STANDSTILL_LINK_SHARE * free_flow_kmh), speed
    )
    flags = np.zeros(n, dtype=np.int64)
    for bit in (LOOPS, OCCUPANCY, FREE_FLOW):
        has = np.bincount(seg_group, weights=(lane.flags & bit) > 0, minlength=n) > 0
        flags |= bit * has
    # A link whose lanes all stood still, or that carries vehicles yet assumed free flow
    # in one lane, keeps those flags; free flow is named only where no lane measured speed.
    measured_any = np.bincount(seg_group, weights=(lane.flags & FREE_FLOW) == 0, minlength=n) > 0
    flags = np.where(measured_any, flags & ~FREE_FLOW, flags)
    cover = np.bincount(seg_group, weights=lanes.cover, minlength=n)
    confidence = np.bincount(seg_group, weights=lane.confidence * lanes.cover, minlength=n) / cover
    return LinkSpeeds(np.maximum(speed, STOPPED_SPEED_KMH), flags, confidence, any_standstill)
