"""Twin scenarios: a georeferenced grid of arterials, its demand through the day, its sensors.

`build_scenario` asks SUMO's netgenerate for the grid, places it on Tehran with a
`LocalProjection`, draws trips with randomTrips.py at an hourly rate that follows a
profile of the day, and writes the additional file that places the sensors: an E1
induction loop in every lane of the monitored edges (the registry's loop detectors, one
per lane), an instant induction loop in every lane of the camera edges (plate cameras:
each vehicle's passage with its time) and edgeData, SUMO's own per-edge ground truth, with
the same period as the loops. The result is written beside its files as `scenario.json`,
which is also all the platform needs to know about the network (no SUMO to read it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shahr.demo.twin.projection import LocalProjection
from shahr.demo.twin.scenario_specs import ScenarioSpec
from shahr.demo.twin.sumo_files import (
    NET_FILE,
    SENSORS_FILE,
    TRIPS_FILE,
    TwinCamera,
    TwinDetector,
    TwinEdge,
    generate_demand,
    generate_network,
    place_sensors,
    read_edges,
    write_sensors,
)

SCENARIO_FILE = "scenario.json"


@dataclass(frozen=True)
class Scenario:
    """A built scenario: its network, sensors and, in `directory`, SUMO's input files."""

    name: str
    digest: str
    directory: Path
    projection: LocalProjection
    period_s: int
    begin_s: int
    end_s: int
    sumo_seed: int
    edges: tuple[TwinEdge, ...]
    detectors: tuple[TwinDetector, ...]
    cameras: tuple[TwinCamera, ...]

    @property
    def monitored_edges(self) -> frozenset[str]:
        return frozenset(detector.edge_id for detector in self.detectors)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "projection": asdict(self.projection),
            "period_s": self.period_s,
            "begin_s": self.begin_s,
            "end_s": self.end_s,
            "sumo_seed": self.sumo_seed,
            "edges": [asdict(edge) for edge in self.edges],
            "detectors": [asdict(detector) for detector in self.detectors],
            "cameras": [asdict(camera) for camera in self.cameras],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any], directory: Path) -> Scenario:
        return cls(
            name=document["name"],
            digest=document["digest"],
            directory=directory,
            projection=LocalProjection(**document["projection"]),
            period_s=int(document["period_s"]),
            begin_s=int(document["begin_s"]),
            end_s=int(document["end_s"]),
            sumo_seed=int(document["sumo_seed"]),
            edges=tuple(
                TwinEdge(**{**edge, "geometry": tuple(tuple(p) for p in edge["geometry"])})
                for edge in document["edges"]
            ),
            detectors=tuple(TwinDetector(**detector) for detector in document["detectors"]),
            cameras=tuple(TwinCamera(**camera) for camera in document["cameras"]),
        )


def load_scenario(directory: Path) -> Scenario:
    """A scenario written by `build_scenario` (or shipped with a replay)."""
    document = json.loads((directory / SCENARIO_FILE).read_text(encoding="utf-8"))
    return Scenario.from_json(document, directory.resolve())


def build_scenario(spec: ScenarioSpec, directory: Path) -> Scenario:
    """Build (or reuse, if already built from the same spec) the scenario in `directory`."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / SCENARIO_FILE).exists():
        existing = load_scenario(directory)
        if existing.digest == spec.digest and all(
            (directory / name).exists() for name in (NET_FILE, TRIPS_FILE, SENSORS_FILE)
        ):
            return existing
    projection = LocalProjection(spec.grid.origin_lon, spec.grid.origin_lat)
    generate_network(spec.grid, projection, directory)
    edges = read_edges(directory / NET_FILE, projection, spec.grid)
    generate_demand(spec.demand, directory)
    detectors, cameras = place_sensors(edges, spec.sensors)
    write_sensors(directory / SENSORS_FILE, detectors, cameras, spec.sensors.period_s)
    scenario = Scenario(
        name=spec.name,
        digest=spec.digest,
        directory=directory,
        projection=projection,
        period_s=spec.sensors.period_s,
        begin_s=spec.demand.begin_s,
        end_s=spec.demand.end_s,
        sumo_seed=spec.sumo_seed,
        edges=tuple(edges),
        detectors=tuple(detectors),
        cameras=tuple(cameras),
    )
    (directory / SCENARIO_FILE).write_text(
        json.dumps(scenario.to_json(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return scenario
