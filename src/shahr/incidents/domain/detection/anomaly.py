"""The better method: a station pair's anomaly against its own recent normal.

California #7 compares raw occupancies with fixed thresholds, so a station that is always
busier than its downstream neighbour (a junction's queue, a lane drop) alarms all day,
and a lightly used road never reaches the thresholds. This detector asks instead whether
the pair is now unusual *for itself*: each quantity is standardised against the same
pair's last `history_min` minutes (median and MAD, robust to the odd spike), leaving out
the last `gap_min` (so an incident's own first minutes do not become its normal).

An incident between two stations makes, at the same time:

1. the upstream station worse than its normal: occupancy up (a queue) or speed down;
2. the upstream-downstream contrast larger than its normal: occupancy difference up or
   speed difference (downstream minus upstream) up;
3. the downstream station no worse than its normal, now or in the last `wave_min`
   minutes: a compression wave or a bottleneck further on congests the downstream
   station first, an incident empties it;
4. vehicles missing past the upstream station: the downstream flow at most
   `downstream_flow_share` of its normal. A queue that forms by itself at a busy junction
   still lets the junction's capacity through, so the road past it carries what it
   always does; an incident holds the traffic back.

All four for `persistence_min` consecutive minutes raise the alarm; it lasts while the
contrast (2) stays above its threshold. Missing data (NaN) makes every test false, so a
silent station (no data) never alarms, and a station that reports zeros fails test 1 at
its upstream neighbour (whose traffic is normal) so the pair stays quiet.

Apart from the queue, the lane test (`lane_shift`) raises a lane that traffic has left.

Thresholds were tuned on the training scenarios (`shahr.demo.twin.incident_tune`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shahr.incidents.domain.detection.series import Matrix, PairSeries

# Floors under the robust spread: a very steady station would otherwise turn a one-car
# change into a huge z-score.
OCCUPANCY_SPREAD_FLOOR = 0.02
SPEED_SPREAD_FLOOR_KMH = 4.0
# 1.4826 x MAD estimates the standard deviation of normally distributed data.
MAD_TO_SD = 1.4826
# A lane carrying less than this is too quiet for its emptying to mean anything.
LANE_FLOW_FLOOR_VEH_H = 240.0
# While the lane stays under this share of its normal flow, a lane alarm goes on.
LANE_STILL_CLOSED = 0.5
# An emptied lane's loop: covered less than this share of the time.
LANE_EMPTY_OCCUPANCY = 0.05


@dataclass(frozen=True)
class AnomalyThresholds:
    upstream_z: float = 3.0  # test 1, on occupancy rise or speed drop
    contrast_z: float = 3.0  # test 2
    downstream_z: float = 2.5  # test 3: downstream below this
    persistence_min: int = 2
    history_min: int = 20
    gap_min: int = 3
    wave_min: int = 3
    min_history: int = 8  # minutes with data needed in the history window
    lane_left: float = 0.25  # lane test: a lane down to this share of its normal flow ...
    lane_gain: float = 0.5  # ... and this share of its missing flow in the other lanes
    lane_persistence_min: int = 2
    min_occupancy: float = 0.10  # test 1 also needs a queue-like upstream occupancy
    lane_window_min: int = 1  # the lane test reads the mean flow of this many last minutes
    lane_calm: bool = True  # the lane test also needs the upstream station's occupancy calm
    downstream_flow_share: float | None = None  # test 4 of the queue; None: not applied
    lane_at_once: float | None = None  # a lane down to this share raises at once; None: never


# `python -m shahr.demo.twin.incident_tune` on the training scenarios.
TUNED = AnomalyThresholds(
    upstream_z=3.0,
    contrast_z=5.0,
    downstream_z=1.5,
    persistence_min=3,
    lane_persistence_min=2,
    min_occupancy=0.20,
    lane_window_min=2,
    downstream_flow_share=0.9,
    lane_at_once=0.0,
)


def _baseline(values: Matrix, settings: AnomalyThresholds, floor: float) -> tuple[Matrix, Matrix]:
    """Each minute's normal (median) and spread (MAD, at least `floor`) over the window
    before it; NaN where the window has too few minutes with data."""
    pairs, minutes = values.shape
    medians, spreads = np.full((pairs, minutes), np.nan), np.full((pairs, minutes), np.nan)
    for t in range(minutes):
        start, stop = max(0, t - settings.gap_min - settings.history_min), t - settings.gap_min
        if stop - start < settings.min_history:
            continue
        window = values[:, start:stop]
        enough = np.sum(~np.isnan(window), axis=1) >= settings.min_history
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            median = np.nanmedian(window, axis=1)
            spread = MAD_TO_SD * np.nanmedian(np.abs(window - median[:, None]), axis=1)
        medians[:, t] = np.where(enough, median, np.nan)
        spreads[:, t] = np.maximum(np.nan_to_num(spread, nan=floor), floor)
    return medians, spreads


def _standardised(values: Matrix, settings: AnomalyThresholds, floor: float) -> Matrix:
    """Each minute's value as a robust z-score against the window before it."""
    median, spread = _baseline(values, settings, floor)
    return (values - median) / spread


def _quiet_nan_warnings() -> warnings.catch_warnings[None]:
    """All-NaN rows are expected (silent stations): their median is NaN, with no warning."""
    return warnings.catch_warnings(action="ignore", category=RuntimeWarning)


def _max(a: Matrix, b: Matrix) -> Matrix:
    # NaN only when both are NaN: one test with data is enough to pass.
    return np.fmax(a, b)


def _contrasts(series: PairSeries) -> tuple[tuple[Matrix, float], tuple[Matrix, float]]:
    return (
        (series.upstream_occupancy - series.downstream_occupancy, OCCUPANCY_SPREAD_FLOOR),
        (series.downstream_speed_kmh - series.upstream_speed_kmh, SPEED_SPREAD_FLOOR_KMH),
    )


def contrast_scores(series: PairSeries, settings: AnomalyThresholds = TUNED) -> Matrix:
    """Test 2's score per pair and minute (what an alarm's evidence reports)."""
    (occupancy, occupancy_floor), (speed, speed_floor) = _contrasts(series)
    return _max(
        _standardised(occupancy, settings, occupancy_floor),
        _standardised(speed, settings, speed_floor),
    )


def anomaly_detector(
    series: PairSeries, settings: AnomalyThresholds = TUNED
) -> npt.NDArray[np.bool_]:
    """Each pair's incident state per minute (True while in the incident state)."""
    queue, lanes = anomaly_states(series, settings)
    return queue | lanes


def anomaly_states(
    series: PairSeries, settings: AnomalyThresholds = TUNED
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The incident states raised by a queue (tests 1-4) and by an emptied lane (lane test)."""
    upstream_occupancy = _standardised(series.upstream_occupancy, settings, OCCUPANCY_SPREAD_FLOOR)
    upstream = _max(
        upstream_occupancy,
        -_standardised(series.upstream_speed_kmh, settings, SPEED_SPREAD_FLOOR_KMH),
    )
    contrast = contrast_scores(series, settings) >= settings.contrast_z
    downstream = _standardised(series.downstream_occupancy, settings, OCCUPANCY_SPREAD_FLOOR)
    condition = (upstream >= settings.upstream_z) & contrast & _calm(downstream, settings)
    condition &= series.upstream_occupancy >= settings.min_occupancy
    condition &= _missing_downstream(series, settings)
    queue = _queue_alarm(series, condition, settings)
    return queue, _lane_alarm(series, upstream_occupancy, settings)


def _lane_alarm(
    series: PairSeries, upstream_occupancy: Matrix, settings: AnomalyThresholds
) -> npt.NDArray[np.bool_]:
    """The lane test held for `lane_persistence_min` minutes with the upstream station
    calm; or at once, calm or not, when the lane carried nothing at all over the window
    (`lane_at_once`): a lane of hundreds of vehicles an hour does not empty by chance for
    minutes, and the lanes that take its traffic get busier, which is not a queue."""
    still_closed = lane_shift(series, settings, LANE_STILL_CLOSED, 0.0)
    shifted = lane_shift(series, settings, settings.lane_left, settings.lane_gain)
    if settings.lane_calm:
        shifted &= _calm(upstream_occupancy, settings)
    lanes = _persisting(shifted, still_closed, settings.lane_persistence_min)
    if settings.lane_at_once is not None:
        emptied = lane_shift(series, settings, settings.lane_at_once, settings.lane_gain)
        lanes |= _persisting(emptied, still_closed, 1)
    return lanes


def lane_shift(
    series: PairSeries, settings: AnomalyThresholds, left: float, gain: float
) -> npt.NDArray[np.bool_]:
    """The lane test, at the upstream station: one lane has (nearly) emptied while the other
    lanes took over its traffic, the mark of a lane blocked just before the loops or closed
    ahead (drivers leave it early). A broken loop that reports zeros empties its lane too,
    but nothing moves to the other lanes, so it fails the second half. Flows are the mean
    of the last `lane_window_min` minutes: a minute's count of a few cars is too noisy to
    say where they went. An emptied lane's loop is uncovered (occupancy under
    `LANE_EMPTY_OCCUPANCY`); a lane standing still in a queue is not emptied."""
    flows = series.upstream_lane_flow_veh_h
    pairs, _, minutes = flows.shape
    shift = np.zeros((pairs, minutes), dtype=bool)
    with np.errstate(invalid="ignore"), _quiet_nan_warnings():
        totals = np.nansum(flows, axis=1)
        totals[np.all(np.isnan(flows), axis=1)] = np.nan
        recent, recent_totals = _trailing(flows, settings), _trailing(totals, settings)
        uncovered = _uncovered(series, settings)
        for t in range(minutes):
            start = max(0, t - settings.gap_min - settings.history_min)
            stop = t - settings.gap_min
            if stop - start < settings.min_history:
                continue
            normal = np.nanmedian(flows[:, :, start:stop], axis=2)
            normal_total = np.nanmedian(totals[:, start:stop], axis=1)
            now = recent[..., t]
            missing = normal - now
            gained = (recent_totals[:, t] - normal_total)[:, None] + missing
            emptied = (normal >= LANE_FLOW_FLOOR_VEH_H) & (now <= left * normal)
            shift[:, t] = np.any(emptied & uncovered[..., t] & (gained >= gain * missing), axis=1)
    return shift


def _trailing(values: npt.NDArray[np.float64], settings: AnomalyThresholds) -> Matrix:
    """The mean of the last `lane_window_min` minutes (this one included) along the last
    axis; NaN when one of them has no data."""
    window = max(1, settings.lane_window_min)
    out = np.full(values.shape, np.nan)
    for t in range(window - 1, values.shape[-1]):
        out[..., t] = np.mean(values[..., t - window + 1 : t + 1], axis=-1)
    return out


def _uncovered(series: PairSeries, settings: AnomalyThresholds) -> npt.NDArray[np.bool_]:
    """(pairs, lanes, minutes): the lane's loop was (nearly) never covered lately; True
    everywhere when the feed has no lane occupancy."""
    occupancy = series.upstream_lane_occupancy
    if occupancy is None:
        return np.ones(series.upstream_lane_flow_veh_h.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return _trailing(occupancy, settings) <= LANE_EMPTY_OCCUPANCY


def _missing_downstream(series: PairSeries, settings: AnomalyThresholds) -> npt.NDArray[np.bool_]:
    """Queue test 4: the downstream station passes fewer vehicles than it normally does
    (no data: False)."""
    if settings.downstream_flow_share is None:
        return np.ones(series.shape, dtype=bool)
    normal, _ = _baseline(series.downstream_flow_veh_h, settings, 1.0)
    with np.errstate(invalid="ignore"):
        return series.downstream_flow_veh_h <= settings.downstream_flow_share * normal


def _queue_alarm(
    series: PairSeries, condition: npt.NDArray[np.bool_], settings: AnomalyThresholds
) -> npt.NDArray[np.bool_]:
    """Tests 1-3 held for `persistence_min` minutes raise the alarm; it goes on while the
    contrast stays high against the normal *before* the alarm (frozen at its start: the
    incident's own minutes must not become the normal that ends it)."""
    parts = [(values, *_baseline(values, settings, floor)) for values, floor in _contrasts(series)]
    pairs, minutes = condition.shape
    run = np.zeros(pairs, dtype=np.int64)
    active = np.zeros(pairs, dtype=bool)
    frozen = np.zeros(pairs, dtype=np.int64)  # the minute whose normal an alarm keeps
    rows = np.arange(pairs)
    alarm = np.zeros((pairs, minutes), dtype=bool)
    for t in range(minutes):
        run = np.where(condition[:, t], run + 1, 0)
        column = np.where(active, frozen, t)
        with np.errstate(invalid="ignore"):
            z = np.full(pairs, -np.inf)
            for values, median, spread in parts:
                z = np.fmax(z, (values[:, t] - median[rows, column]) / spread[rows, column])
        starting = ~active & (run >= settings.persistence_min)
        frozen = np.where(starting, t, frozen)
        active = np.where(active, z >= settings.contrast_z, starting)
        alarm[:, t] = active
    return alarm


def _calm(z: Matrix, settings: AnomalyThresholds) -> npt.NDArray[np.bool_]:
    """No minute of the last `wave_min` (and this one) above `downstream_z`; a minute with
    no data does not count as calm."""
    pairs, minutes = z.shape
    calm = np.zeros((pairs, minutes), dtype=bool)
    for t in range(minutes):
        recent = z[:, max(0, t - settings.wave_min) : t + 1]
        calm[:, t] = np.all(recent < settings.downstream_z, axis=1)
    return calm


def _persisting(
    condition: npt.NDArray[np.bool_], continuing: npt.NDArray[np.bool_], persistence: int
) -> npt.NDArray[np.bool_]:
    pairs, minutes = condition.shape
    run = np.zeros(pairs, dtype=np.int64)
    active = np.zeros(pairs, dtype=bool)
    alarm = np.zeros((pairs, minutes), dtype=bool)
    for t in range(minutes):
        run = np.where(condition[:, t], run + 1, 0)
        active = np.where(active, continuing[:, t], run >= persistence)
        alarm[:, t] = active
    return alarm
