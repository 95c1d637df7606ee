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

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

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
