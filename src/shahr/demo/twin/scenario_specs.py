"""What a twin scenario is built from: the grid, its demand through the day, its sensors; and
the two scenarios the platform ships (accuracy tests, the demo city)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from shahr.demo.twin.network_specs import ArterialGridSpec, SpiderSpec

# Tehran's working day, as a share of the evening peak's demand, hour by hour from
# midnight: quiet nights, a morning peak at 7-9, a long afternoon, the evening peak at 17-20.
TEHRAN_WEEKDAY_PROFILE: tuple[float, ...] = (
    0.18, 0.10, 0.07, 0.06, 0.08, 0.18, 0.45, 0.85, 0.95, 0.80, 0.70, 0.70,
    0.72, 0.75, 0.72, 0.75, 0.85, 0.95, 1.00, 0.95, 0.80, 0.62, 0.45, 0.30,
)  # fmt: skip


@dataclass(frozen=True)
class GridSpec:
    """A grid of two-way arterials, `columns` x `rows` junctions `block_m` apart."""

    columns: int
    rows: int
    block_m: float
    origin_lon: float  # where SUMO's (0, 0), the south-west end of the fringe roads, lies
    origin_lat: float
    lanes: int = 2
    speed_kmh: float = 50.0
    # Priority junctions: the cross street yields. Signals would make every loop's speed
    # (vehicles cruising mid-block) overstate the link's (which includes the red time); see
    # docs/decisions/0013-sumo-digital-twin.md.
    junction: str = "priority"
    fringe_m: float = 300.0
    road_class: str = "minor_arterial"
    cycle_s: int | None = None  # signal cycle (netgenerate's default, 90 s, when None)
    row_names: tuple[str, ...] = ()
    column_names: tuple[str, ...] = ()

    def describe(
        self, from_node: str, to_node: str, centre: Sequence[tuple[float, float]]
    ) -> tuple[str, str]:
        """(street name, road class): the grid street an edge belongs to, told by its
        direction and where it lies."""
        (x0, y0), (x1, y1) = centre[0], centre[-1]
        if abs(x1 - x0) >= abs(y1 - y0):
            row = round(((y0 + y1) / 2 - self.fringe_m) / self.block_m)
            names, fallback, index = self.row_names, "Twin street", row
        else:
            column = round(((x0 + x1) / 2 - self.fringe_m) / self.block_m)
            names, fallback, index = self.column_names, "Twin avenue", column
        name = names[index] if 0 <= index < len(names) else f"{fallback} {index + 1}"
        return name, self.road_class


NetworkSpec = GridSpec | SpiderSpec | ArterialGridSpec


@dataclass(frozen=True)
class DemandSpec:
    """Trips entering the network: `veh_h[i]` vehicles an hour during the i-th part of
    [begin_s, end_s] (the span is cut into as many equal parts as there are rates)."""

    veh_h: tuple[float, ...]
    begin_s: int = 0
    end_s: int = 3600
    seed: int = 1
    fringe_factor: float = 10.0  # most trips come in from outside, as through traffic
    min_trip_m: float = 1000.0


@dataclass(frozen=True)
class SensorSpec:
    """Where the detectors and cameras go, and their period (SUMO's edgeData's too)."""

    period_s: int = 60
    monitor_every: int = 3  # every n-th edge (by id) has a loop in each lane
    loop_position: float = 0.5  # share of the lane's length: mid-block loops
    camera_edges: tuple[str, ...] = ()
    camera_position: float = 0.5


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    grid: NetworkSpec
    demand: DemandSpec
    sensors: SensorSpec = field(default_factory=SensorSpec)
    sumo_seed: int = 7

    @property
    def digest(self) -> str:
        """Changes whenever anything that shapes the scenario's files changes."""
        # Fields left at None are left out, so a field added later keeps older digests.
        text = json.dumps(_without_none(asdict(self)), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def day_rates(
    peak_veh_h: float, profile: Sequence[float] = TEHRAN_WEEKDAY_PROFILE
) -> tuple[float, ...]:
    """Hourly vehicles entering the network through the day, the profile scaled to a peak."""
    return tuple(math.floor(peak_veh_h * share) for share in profile)


# A small grid over districts 6 and 7 and an hour of rising then easing demand: enough
# intervals for stable accuracy figures in well under a minute of SUMO.
ACCURACY_SCENARIO = ScenarioSpec(
    name="accuracy",
    grid=GridSpec(columns=5, rows=4, block_m=800.0, origin_lon=51.405, origin_lat=35.700),
    demand=DemandSpec(veh_h=(2000.0, 3500.0, 5000.0, 4000.0), begin_s=0, end_s=3600, seed=11),
    sensors=SensorSpec(
        period_s=60,
        monitor_every=3,
        camera_edges=("A1B1", "D1E1", "B0B1", "B2B3"),
    ),
)

# The demo city's twin: six avenues and four streets over districts 6 and 7, a working
# day of demand. Its recorded replay ships in `demo/data/twin/` (see the README there).
DEMO_SCENARIO = ScenarioSpec(
    name="demo",
    grid=GridSpec(
        columns=6,
        rows=4,
        block_m=800.0,
        origin_lon=51.395,
        origin_lat=35.700,
        row_names=(
            "خیابان نمایشی الف",
            "خیابان نمایشی ب",
            "خیابان نمایشی پ",
            "خیابان نمایشی ت",
        ),
        column_names=tuple(f"بلوار نمایشی {digit}" for digit in "۱۲۳۴۵۶"),
    ),
    demand=DemandSpec(veh_h=day_rates(6000.0), begin_s=0, end_s=24 * 3600, seed=5),
    sensors=SensorSpec(
        period_s=60,
        monitor_every=3,
        camera_edges=("A1B1", "E1F1", "B0B1", "B2B3", "F2E2", "C2B2"),
    ),
)

# Scenarios whose demand rises until many links run below half their limit: the
# congestion accuracy runs (tests/traffic_twin/test_congestion.py, `accuracy_cli`).
CONGESTION_END_S = 70 * 60

# Tehran-sized blocks (500 m, two lanes a way, 120 s cycles) and demand that passes the
# junctions' capacity after about 20 minutes: queues spill back over the mid-block loops
# and into the junctions upstream, so most congested minutes are jams, not red time.
GRID_SCENARIO = ScenarioSpec(
    name="grid",
    grid=GridSpec(
        columns=4,
        rows=4,
        block_m=500.0,
        origin_lon=51.400,
        origin_lat=35.700,
        junction="traffic_light",
        cycle_s=120,
    ),
    demand=DemandSpec(
        veh_h=(4000.0, 7000.0, 9500.0, 10500.0, 10500.0, 10500.0, 10500.0),
        end_s=CONGESTION_END_S,
        seed=21,
        min_trip_m=900.0,
    ),
    sensors=SensorSpec(
        period_s=60,
        monitor_every=2,
        camera_edges=("A1B1", "B1C1", "C1D1", "B0B1", "B1B2", "B2B3"),
    ),
    sumo_seed=21,
)

# Round 1's grid: 300 m blocks, 90 s cycles. Its "congestion" is mostly signal delay: the
# running time plus the red time put the average link at half its limit, and which side of
# it a minute falls on is the signal's phase, not a jam.
GRID_SHORT_SCENARIO = ScenarioSpec(
    name="grid_short",
    grid=GridSpec(
        columns=5,
        rows=5,
        block_m=300.0,
        origin_lon=51.400,
        origin_lat=35.700,
        junction="traffic_light",
        fringe_m=200.0,
    ),
    demand=DemandSpec(
        veh_h=(1500.0, 3000.0, 4500.0, 6000.0, 7000.0, 8000.0, 8000.0),
        end_s=CONGESTION_END_S,
        seed=21,
        min_trip_m=600.0,
    ),
    sensors=SensorSpec(
        period_s=60,
        monitor_every=2,
        camera_edges=("A2B2", "B2C2", "C2D2", "D2E2", "C0C1", "C1C2", "C2C3"),
    ),
    sumo_seed=21,
)

ARTERIAL_SCENARIO = ScenarioSpec(
    name="arterials",
    grid=ArterialGridSpec(lines=5, spacing_m=350.0, origin_lon=51.380, origin_lat=35.740),
    demand=DemandSpec(
        veh_h=(2500.0, 4500.0, 6500.0, 8500.0, 10500.0, 12000.0, 12000.0),
        end_s=CONGESTION_END_S,
        seed=22,
        min_trip_m=600.0,
    ),
    sensors=SensorSpec(
        period_s=60,
        monitor_every=2,
        camera_edges=("A2B2", "B2C2", "C2D2", "D2E2", "B0B1", "B1B2"),
    ),
    sumo_seed=22,
)

# Rings 450 m apart, 100 s cycles, and demand past the junctions' capacity after about
# 20 minutes, so the rings' queues reach back to the junctions upstream.
SPIDER_SCENARIO = ScenarioSpec(
    name="spider",
    grid=SpiderSpec(
        arms=7, circles=4, ring_m=450.0, origin_lon=51.420, origin_lat=35.720, cycle_s=100
    ),
    demand=DemandSpec(
        veh_h=(5000.0, 9000.0, 12000.0, 14000.0, 15000.0, 15000.0, 15000.0),
        end_s=CONGESTION_END_S,
        seed=23,
        fringe_factor=1.0,
        min_trip_m=1000.0,
    ),
    sensors=SensorSpec(
        period_s=60,
        monitor_every=2,
        camera_edges=("E1D1", "D1C1", "C1B1", "C1C2", "C2C3"),
    ),
    sumo_seed=23,
)

CONGESTION_SCENARIOS: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in (GRID_SCENARIO, ARTERIAL_SCENARIO, SPIDER_SCENARIO, GRID_SHORT_SCENARIO)
}
