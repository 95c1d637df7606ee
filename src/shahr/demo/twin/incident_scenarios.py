"""Twin scenarios with injected incidents, to measure automatic incident detection.

Each scenario is a twin network (a place) at one demand level with a loop in every lane of
every edge, and incidents put into SUMO at known times and places:

- `stopped_vehicle`: a car that drives onto a lane and stops there (a route `stop` with a
  duration), the breakdown or crash that blocks one lane at a point;
- `lane_closed`: one lane of an edge closed to all vehicles for a while (a rerouter's
  `closingLaneReroute`), the debris or crash scene that takes a lane over the whole block.

A scenario with no incidents is a quiet baseline: whatever fires there is a false alarm.
Scenarios are marked `training` (the detectors' thresholds were tuned on them) or
`evaluation` (other demand seeds, other SUMO seeds and another place, never looked at
while tuning).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

from shahr.demo.twin.network_specs import ArterialGridSpec
from shahr.demo.twin.scenario_specs import DemandSpec, GridSpec, ScenarioSpec, SensorSpec

IncidentKind = Literal["stopped_vehicle", "lane_closed"]
Role = Literal["training", "evaluation"]

# Minutes of every run: the first WARM_UP are filling the network and are not scored.
RUN_MINUTES = 45
WARM_UP_MINUTES = 10


@dataclass(frozen=True)
class InjectedIncident:
    """An incident put into SUMO: on `lane` (1 = kerb side) of `edge_id`, at `position` (a
    share of the edge's length), from `begin_s` for `duration_s`."""

    kind: IncidentKind
    edge_id: str
    lane: int
    position: float
    begin_s: int
    duration_s: int


@dataclass(frozen=True)
class Corridor:
    """Through traffic from `from_edge` to `to_edge` (SUMO routes it), `veh_h` an hour
    arriving at random: the demand level that makes a lane's loss matter."""

    from_edge: str
    to_edge: str
    veh_h: float


@dataclass(frozen=True)
class IncidentScenarioSpec:
    name: str
    base: ScenarioSpec
    corridors: tuple[Corridor, ...]
    incidents: tuple[InjectedIncident, ...]
    role: Role

    @property
    def digest(self) -> str:
        text = json.dumps(
            {
                "base": self.base.digest,
                "corridors": [asdict(c) for c in self.corridors],
                "incidents": [asdict(i) for i in self.incidents],
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sensors() -> SensorSpec:
    # A station on every edge (a loop in each lane, mid-block), so each segment has a
    # downstream neighbour to be compared with, as on a monitored freeway or arterial.
    return SensorSpec(period_s=60, monitor_every=1, loop_position=0.5)


def _grid(seed: int) -> ScenarioSpec:
    """The 'grid' place: 5 x 4 blocks of 800 m, two lanes a way, priority junctions, and
    light background traffic (the corridors carry the load)."""
    return ScenarioSpec(
        name=f"incident-grid-{seed}",
        grid=GridSpec(columns=5, rows=4, block_m=800.0, origin_lon=51.405, origin_lat=35.700),
        demand=DemandSpec(veh_h=(1500.0,), end_s=RUN_MINUTES * 60, seed=seed),
        sensors=_sensors(),
        sumo_seed=seed,
    )


def _arterials(seed: int) -> ScenarioSpec:
    """The 'arterials' place: three-lane boulevards every 700 m with signals where two
    cross, one-lane side streets between (another network, never used for tuning)."""
    return ScenarioSpec(
        name=f"incident-arterials-{seed}",
        grid=ArterialGridSpec(lines=5, spacing_m=350.0, origin_lon=51.380, origin_lat=35.740),
        demand=DemandSpec(veh_h=(2000.0,), end_s=RUN_MINUTES * 60, seed=seed, min_trip_m=600.0),
        sensors=_sensors(),
        sumo_seed=seed,
    )


def _grid_corridors(veh_h: float) -> tuple[Corridor, ...]:
    # Along the avenues (netgenerate gives them priority at the junctions): column B
    # both ways, C southbound, D northbound.
    return (
        Corridor("bottom1B0", "B3top1", veh_h),
        Corridor("top1B3", "B0bottom1", veh_h),
        Corridor("top2C3", "C0bottom2", veh_h),
        Corridor("bottom3D0", "D3top3", veh_h),
    )


def _arterial_corridors(veh_h: float) -> tuple[Corridor, ...]:
    # The middle boulevards both ways.
    return (
        Corridor("left2A2", "E2right2", veh_h),
        Corridor("right2E2", "A2left2", veh_h),
        Corridor("bottom2C0", "C4top2", veh_h),
        Corridor("top2C4", "C0bottom2", veh_h),
    )


def _incidents(places: tuple[tuple[str, int], ...]) -> tuple[InjectedIncident, ...]:
    """Incidents on the given (edge, lane)s, staggered from minute 14, 12 to 15 minutes each,
    a stopped car and a closed lane in turn; the cars stop past the edge's mid-block loop
    (three quarters along) or before it (three tenths along), so a station sees some
    incidents from upstream and some from downstream."""
    kinds: tuple[IncidentKind, IncidentKind] = ("stopped_vehicle", "lane_closed")
    return tuple(
        InjectedIncident(
            kind=kinds[index % 2],
            edge_id=edge,
            lane=lane,
            position=(0.75, 0.3)[index // 2 % 2],
            begin_s=(14 + 4 * index) * 60,
            duration_s=(12 + index % 4) * 60,
        )
        for index, (edge, lane) in enumerate(places)
    )


# On the corridors: (edge, lane); lane 1 is the kerb lane.
GRID_PLACES: tuple[tuple[str, int], ...] = (("B1B2", 1), ("C2C1", 2), ("D1D2", 1), ("B2B1", 2))
GRID_PLACES_B: tuple[tuple[str, int], ...] = (("B0B1", 2), ("C3C2", 1), ("D2D3", 2), ("B3B2", 1))
ARTERIAL_PLACES: tuple[tuple[str, int], ...] = (("A2B2", 1), ("C0C1", 2), ("E2D2", 3), ("C3C2", 2))


def _scenario(
    base: ScenarioSpec,
    corridors: tuple[Corridor, ...],
    places: tuple[tuple[str, int], ...] | None,
    role: Role,
) -> IncidentScenarioSpec:
    level = int(corridors[0].veh_h) if corridors else 0
    suffix = "quiet" if places is None else "incidents"
    return IncidentScenarioSpec(
        name=f"{base.name}-{level}-{suffix}",
        base=base,
        corridors=corridors,
        incidents=() if places is None else _incidents(places),
        role=role,
    )


# Demand levels are the corridors' through traffic: on two lanes 1,000 to 2,600 veh/h
# (a lane's capacity is about 1,800-2,000), on the boulevards' three 1,800 to 3,600.
TRAINING: tuple[IncidentScenarioSpec, ...] = (
    _scenario(_grid(31), _grid_corridors(1400.0), GRID_PLACES, "training"),
    _scenario(_grid(32), _grid_corridors(2200.0), GRID_PLACES, "training"),
    _scenario(_grid(33), _grid_corridors(2200.0), None, "training"),
)

EVALUATION: tuple[IncidentScenarioSpec, ...] = (
    _scenario(_grid(41), _grid_corridors(1000.0), GRID_PLACES_B, "evaluation"),
    _scenario(_grid(42), _grid_corridors(1800.0), GRID_PLACES_B, "evaluation"),
    _scenario(_grid(43), _grid_corridors(2600.0), GRID_PLACES_B, "evaluation"),
    _scenario(_grid(44), _grid_corridors(2600.0), None, "evaluation"),
    _scenario(_arterials(45), _arterial_corridors(1800.0), ARTERIAL_PLACES, "evaluation"),
    _scenario(_arterials(46), _arterial_corridors(3600.0), ARTERIAL_PLACES, "evaluation"),
    _scenario(_arterials(47), _arterial_corridors(3600.0), None, "evaluation"),
)

INCIDENT_SCENARIOS: dict[str, IncidentScenarioSpec] = {
    spec.name: spec for spec in (*TRAINING, *EVALUATION)
}
