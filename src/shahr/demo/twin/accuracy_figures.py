"""The accuracy figures from pairs of (platform state, SUMO truth): errors per class of
segment and of traffic, congestion shown or missed, and the naive baseline.

A pair is congested when SUMO's space-mean speed is below half the segment's limit, and
the platform shows congestion when its level of service is D, E or F. Speed errors are
mean absolute percentage errors, except where the truth is under `SLOW_KMH`: there a
percentage of almost nothing says little, so those pairs are the mean absolute error in
km/h beside it. Only pairs where the edge carried traffic in SUMO count (at least
`MIN_TRUTH_VEHICLES` vehicle-minutes, and for flow at least `MIN_TRUTH_FLOW_VEH_H`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

MIN_TRUTH_VEHICLES = 1.0  # vehicle-minutes on the edge in the interval (sampledSeconds / 60)
MIN_TRUTH_FLOW_VEH_H = 60.0
AGGREGATE_S = 300
CONGESTED_SHARE = 0.5  # of the limit: below it a segment is congested
JAM_SHARE = 0.25  # of the limit: below it a congested minute is a jam, not red time
SLOW_KMH = 5.0
SHOWN_CONGESTED = frozenset({"D", "E", "F"})


@dataclass(frozen=True)
class StatePair:
    """One segment and interval: what the platform said, and what SUMO saw."""

    segment_id: str
    interval_start: datetime
    monitored: bool
    estimated: bool
    speed_kmh: float
    flow_veh_h: float
    density_veh_km: float
    truth_speed_kmh: float
    truth_flow_veh_h: float
    truth_density_veh_km: float
    truth_sampled_s: float
    limit_kmh: float = 50.0
    capacity_veh_h: float = 1600.0
    los: str = "A"

    @property
    def congested(self) -> bool:
        return self.truth_speed_kmh < CONGESTED_SHARE * self.limit_kmh

    @property
    def shown_congested(self) -> bool:
        return self.los in SHOWN_CONGESTED


@dataclass(frozen=True)
class Figure:
    """One error measure over a set of pairs; for speed, pairs whose truth is under
    `SLOW_KMH` are left out of the percentages and given as an error in km/h."""

    mape_pct: float | None
    bias_pct: float | None  # mean signed percentage error: + means the platform overstates
    pairs: int
    slow_mae_kmh: float | None = None
    slow_bias_kmh: float | None = None
    slow_pairs: int = 0

    def __str__(self) -> str:
        text = "n/a" if self.mape_pct is None else f"{self.mape_pct:.1f} ({self.bias_pct:+.1f})"
        return f"{text} n={self.pairs}"

    def slow(self) -> str:
        if self.slow_mae_kmh is None:
            return "-"
        return f"{self.slow_mae_kmh:.1f} km/h ({self.slow_bias_kmh:+.1f}) n={self.slow_pairs}"


@dataclass(frozen=True)
class ClassFigures:
    """Figures over the pairs of one class (free or congested) of one kind of segment."""

    pairs: int
    speed: Figure
    speed_5min: Figure
    flow: Figure
    flow_5min: Figure
    # Congested class: the recall (shown D-F); free class: false congestion (shown D-F).
    shown_congested_pct: float | None
    shown_congested_5min_pct: float | None = None


@dataclass(frozen=True)
class GroupFigures:
    free: ClassFigures
    congested: ClassFigures


def percentage_figure(pairs: Sequence[tuple[float, float]]) -> Figure:
    errors = [(estimate - truth) / truth for estimate, truth in pairs if truth > 0]
    if not errors:
        return Figure(None, None, 0)
    return Figure(
        mape_pct=round(100 * statistics.fmean(abs(e) for e in errors), 2),
        bias_pct=round(100 * statistics.fmean(errors), 2),
        pairs=len(errors),
    )


def speed_figure(pairs: Iterable[StatePair]) -> Figure:
    counted = [p for p in pairs if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60]
    fast = percentage_figure(
        [(p.speed_kmh, p.truth_speed_kmh) for p in counted if p.truth_speed_kmh >= SLOW_KMH]
    )
    slow = [p.speed_kmh - p.truth_speed_kmh for p in counted if p.truth_speed_kmh < SLOW_KMH]
    if not slow:
        return fast
    return replace(
        fast,
        slow_mae_kmh=round(statistics.fmean(abs(e) for e in slow), 2),
        slow_bias_kmh=round(statistics.fmean(slow), 2),
        slow_pairs=len(slow),
    )


def flow_figure(pairs: Iterable[StatePair]) -> Figure:
    return percentage_figure(
        [
            (p.flow_veh_h, p.truth_flow_veh_h)
            for p in pairs
            if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60
            and p.truth_flow_veh_h >= MIN_TRUTH_FLOW_VEH_H
        ]
    )


def aggregated(pairs: Sequence[StatePair], seconds: int = AGGREGATE_S) -> list[StatePair]:
    """Means over `seconds` per segment: speed as flow over density, as a space mean."""
    groups: dict[tuple[str, int], list[StatePair]] = {}
    for pair in pairs:
        bucket = int(pair.interval_start.timestamp()) // seconds
        groups.setdefault((pair.segment_id, bucket), []).append(pair)
    merged = []
    for (_, bucket), members in groups.items():
        n = len(members)
        flow = sum(p.flow_veh_h for p in members) / n
        density = sum(p.density_veh_km for p in members) / n
        truth_flow = sum(p.truth_flow_veh_h for p in members) / n
        truth_density = sum(p.truth_density_veh_km for p in members) / n
        first = members[0]
        speed = flow / density if density > 0 else first.speed_kmh
        merged.append(
            replace(
                first,
                interval_start=datetime.fromtimestamp(bucket * seconds, UTC),
                speed_kmh=speed,
                flow_veh_h=flow,
                # The mean shown as the map would show it: D-F at half the limit or less.
                los="D" if speed <= CONGESTED_SHARE * first.limit_kmh else "A",
                density_veh_km=density,
                truth_speed_kmh=truth_flow / truth_density if truth_density > 0 else 0.0,
                truth_flow_veh_h=truth_flow,
                truth_density_veh_km=truth_density,
                truth_sampled_s=sum(p.truth_sampled_s for p in members) / n,
            )
        )
    return merged


def _share(pairs: Sequence[StatePair], test: Callable[[StatePair], bool]) -> float | None:
    counted = [p for p in pairs if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60]
    if not counted:
        return None
    return round(100 * sum(1 for p in counted if test(p)) / len(counted), 2)


def class_figures(pairs: Sequence[StatePair], *, congested: bool) -> ClassFigures:
    """The figures of one class; the 5-minute means are classed by their own truth."""
    minute = [p for p in pairs if p.congested == congested]
    five = [p for p in aggregated(pairs) if p.congested == congested]
    return ClassFigures(
        pairs=sum(1 for p in minute if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60),
        speed=speed_figure(minute),
        speed_5min=speed_figure(five),
        flow=flow_figure(minute),
        flow_5min=flow_figure(five),
        shown_congested_pct=_share(minute, lambda p: p.shown_congested),
        shown_congested_5min_pct=_share(five, lambda p: p.shown_congested),
    )


def group_figures(pairs: Sequence[StatePair]) -> GroupFigures:
    return GroupFigures(
        free=class_figures(pairs, congested=False),
        congested=class_figures(pairs, congested=True),
    )


def naive_pairs(
    pairs: Sequence[StatePair], shares: dict[datetime, tuple[float, float]]
) -> list[StatePair]:
    """The estimated pairs as the naive baseline would have them: each minute's mean speed
    and flow of the monitored segments, as shares of limit and capacity, on each segment."""
    naive = []
    for pair in pairs:
        if pair.interval_start not in shares:
            continue
        speed_share, flow_share = shares[pair.interval_start]
        speed = speed_share * pair.limit_kmh
        flow = flow_share * pair.capacity_veh_h
        shown = speed_share <= CONGESTED_SHARE or flow_share > 1.0
        naive.append(
            replace(
                pair,
                estimated=True,
                speed_kmh=speed,
                flow_veh_h=flow,
                density_veh_km=flow / speed if speed > 0 else 0.0,
                los="D" if shown else "A",
            )
        )
    return naive


def truth_congested_pct(pairs: Sequence[StatePair], since: datetime | None = None) -> float | None:
    """The share of segment-minutes SUMO saw congested (from `since` on, if given)."""
    chosen = [p for p in pairs if since is None or p.interval_start >= since]
    return _share(chosen, lambda p: p.congested)


@dataclass(frozen=True)
class Composition:
    """What SUMO's congested segment-minutes are: jams (truth under `JAM_SHARE` of the
    limit) or slow traffic between a quarter and half the limit, which on signalised
    streets is often the signal's phase; and how often a congested minute follows one."""

    congested_pairs: int
    jam_pct: float | None
    slow_pct: float | None
    persistence_pct: float | None  # P(congested | the same segment congested a minute before)

    def __str__(self) -> str:
        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f} %"

        return (
            f"truth congested segment-minutes: {self.congested_pairs};"
            f" under {100 * JAM_SHARE:g} % of the limit {pct(self.jam_pct)},"
            f" {100 * JAM_SHARE:g}-{100 * CONGESTED_SHARE:g} % {pct(self.slow_pct)};"
            f" P(congested | congested the minute before) {pct(self.persistence_pct)}"
        )


def composition(pairs: Sequence[StatePair], period_s: int = 60) -> Composition:
    counted = [p for p in pairs if p.truth_sampled_s >= MIN_TRUTH_VEHICLES * 60]
    congested = [p for p in counted if p.congested]
    jams = sum(1 for p in congested if p.truth_speed_kmh < JAM_SHARE * p.limit_kmh)
    state = {(p.segment_id, int(p.interval_start.timestamp())): p.congested for p in counted}
    after = [
        now
        for (segment, start), now in state.items()
        if state.get((segment, start - period_s), False)
    ]
    n = len(congested)
    return Composition(
        congested_pairs=n,
        jam_pct=round(100 * jams / n, 2) if n else None,
        slow_pct=round(100 * (n - jams) / n, 2) if n else None,
        persistence_pct=round(100 * sum(after) / len(after), 2) if after else None,
    )
