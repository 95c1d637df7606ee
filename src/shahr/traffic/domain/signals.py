"""Signal delay: the time a mid-block loop cannot see, from HCM's urban-street control delay.

A loop half-way along a link measures vehicles cruising between queues; the link's travel
time also holds the wait at its downstream signal. HCM (2010, ch. 18) puts that wait at
d = d1 + d2 per vehicle: the uniform delay of arrivals spread over the cycle,

    d1 = 0.5 C (1 - g/C)^2 / (1 - min(1, X) g/C),

and the incremental delay of random arrivals and over-saturation over an analysis period T,

    d2 = 900 T [(X - 1) + sqrt((X - 1)^2 + 8 k I X / (c T))],

with c = saturation flow x lanes x g/C and X = v / c. A link whose signal is unknown
(NaN cycle or green share) gets no delay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# HCM's base is 1,900 pc/h/lane; a mixed urban fleet with turning traffic discharges less.
SATURATION_FLOW_VEH_H_LANE = 1800.0
# The analysis period d2 spreads over-saturation across, in hours, and HCM's defaults for
# pretimed control (k = 0.5) with no upstream metering (I = 1).
ANALYSIS_PERIOD_H = 0.25
INCREMENTAL_K = 0.5
UPSTREAM_I = 1.0
# OSM tells that a junction has a signal, not its timing: a typical Tehran plan.
DEFAULT_CYCLE_S = 90.0
DEFAULT_GREEN_SHARE = 0.45


def signal_capacity(lanes: FloatArray, green_share: FloatArray) -> FloatArray:
    """Capacity of a signalised approach: saturation flow x lanes x g/C (NaN where unknown)."""
    return SATURATION_FLOW_VEH_H_LANE * lanes * green_share


def control_delay_s(
    flow_veh_h: FloatArray, lanes: FloatArray, cycle_s: FloatArray, green_share: FloatArray
) -> FloatArray:
    """HCM control delay per vehicle, in seconds: uniform plus incremental; 0 where unknown."""
    known = np.isfinite(cycle_s) & np.isfinite(green_share) & (green_share > 0) & (cycle_s > 0)
    # Unknown signals get a harmless stand-in timing, then no delay at all.
    g = np.where(known, np.clip(green_share, 0.01, 0.99), 0.5)
    cycle = np.where(known, cycle_s, 0.0)
    capacity = signal_capacity(lanes, g)
    x = np.maximum(flow_veh_h, 0.0) / capacity
    uniform = 0.5 * cycle * (1.0 - g) ** 2 / (1.0 - np.minimum(x, 1.0) * g)
    t = ANALYSIS_PERIOD_H
    incremental = (
        900.0
        * t
        * (
            (x - 1.0)
            + np.sqrt((x - 1.0) ** 2 + 8.0 * INCREMENTAL_K * UPSTREAM_I * x / (capacity * t))
        )
    )
    return np.where(known, uniform + incremental, 0.0)


def with_signal_delay(
    running_kmh: FloatArray, length_m: FloatArray, delay_s: FloatArray
) -> FloatArray:
    """The link's travel speed: its length over the running time plus the control delay."""
    running_s = length_m / (np.maximum(running_kmh, 0.1) / 3.6)
    return np.where(delay_s > 0, length_m / (running_s + delay_s) * 3.6, running_kmh)


# Two-way-stop control (HCM 2010, ch. 19): a side street's vehicle crosses or joins the
# major road in a gap of at least the critical headway t_c, the next in the queue t_f
# after it. HCM's passenger-car values (6.5 s / 4.0 s for a minor through movement) are
# for drivers who wait for a comfortable gap; SUMO's and Tehran's drivers take shorter ones.
CRITICAL_HEADWAY_S = 5.0
FOLLOW_UP_HEADWAY_S = 3.0
# HCM's control delay includes 5 s of deceleration to and acceleration from the stop line.
GIVE_WAY_ACCELERATION_S = 5.0


@dataclass(frozen=True)
class GiveWay:
    """Per segment, the segments whose flow it gives way to (CSR), and how many approaches.

    `proxies[start[i]:start[i + 1]]` are the major road's segments entering segment i's
    downstream junction and their opposite directions leaving it (the same road's flow,
    where the entering one has no loops); `approaches[i]` is the number of major segments
    entering (0: the segment does not give way).
    """

    start: IntArray
    proxies: IntArray
    approaches: FloatArray


def give_way_of(
    yields: Sequence[bool], from_node: Sequence[str], to_node: Sequence[str]
) -> GiveWay:
    """Each yielding segment's major road at its downstream junction."""
    entering: dict[str, list[int]] = {}
    by_ends: dict[tuple[str, str], int] = {}
    for i, (a, b) in enumerate(zip(from_node, to_node, strict=True)):
        entering.setdefault(b, []).append(i)
        by_ends[(a, b)] = i
    start, proxies, approaches = [0], [], []
    for i, node in enumerate(to_node):
        majors = [m for m in entering[node] if not yields[m]] if yields[i] else []
        opposite = [
            by_ends[(node, from_node[m])] for m in majors if (node, from_node[m]) in by_ends
        ]
        proxies += majors + opposite
        start.append(len(proxies))
        approaches.append(float(len(majors)))
    return GiveWay(
        np.array(start, dtype=np.int64),
        np.array(proxies, dtype=np.int64),
        np.array(approaches, dtype=np.float64),
    )


def give_way_delay_s(flow_veh_h: FloatArray, conflicting_veh_h: FloatArray) -> FloatArray:
    """HCM two-way-stop control delay per vehicle, in seconds (NaN conflicting flow: 0).

    Potential capacity c = v_c e^(-v_c t_c / 3600) / (1 - e^(-v_c t_f / 3600)), then
    d = 3600/c + 900 T [(x - 1) + sqrt((x - 1)^2 + (3600/c) x / (450 T))] + 5, x = v / c.
    """
    known = np.isfinite(conflicting_veh_h)
    v_c = np.where(known, np.maximum(conflicting_veh_h, 1.0), 1.0)
    capacity = (
        v_c
        * np.exp(-v_c * CRITICAL_HEADWAY_S / 3600.0)
        / (1.0 - np.exp(-v_c * FOLLOW_UP_HEADWAY_S / 3600.0))
    )
    capacity = np.maximum(capacity, 1.0)
    x = np.maximum(flow_veh_h, 0.0) / capacity
    service = 3600.0 / capacity
    t = ANALYSIS_PERIOD_H
    delay = (
        service
        + 900.0 * t * ((x - 1.0) + np.sqrt((x - 1.0) ** 2 + service * x / (450.0 * t)))
        + GIVE_WAY_ACCELERATION_S
    )
    return np.where(known, delay, 0.0)


def conflicting_flow(
    give_way: GiveWay, segment: IntArray, interval: IntArray, flow_veh_h: FloatArray
) -> FloatArray:
    """Per state row, the major road's flow its segment gives way to in the same interval:
    the mean flow of the major segments measured in the rows, times the approaches.
    NaN where the segment does not give way or none of its major road was measured."""
    out = np.full(len(segment), np.nan)
    rows = np.flatnonzero(give_way.approaches[segment] > 0)
    if len(rows) == 0:
        return out
    first = int(interval.min())
    span = int(interval.max()) - first + 1
    key = segment * span + (interval - first)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    begin = give_way.start[segment[rows]]
    size = give_way.start[segment[rows] + 1] - begin
    owner = np.repeat(np.arange(len(rows)), size)
    offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    proxy = give_way.proxies[begin[owner] + offset]
    wanted = proxy * span + (interval[rows][owner] - first)
    at = np.minimum(np.searchsorted(sorted_key, wanted), len(sorted_key) - 1)
    found = sorted_key[at] == wanted
    measured = np.where(found, flow_veh_h[order[at]], 0.0)
    total = np.bincount(owner, weights=measured, minlength=len(rows))
    seen = np.bincount(owner, weights=found.astype(np.float64), minlength=len(rows))
    approaches = give_way.approaches[segment[rows]]
    out[rows] = np.where(seen > 0, total / np.maximum(seen, 1.0) * approaches, np.nan)
    return out
