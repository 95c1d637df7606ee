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

import hashlib
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shahr.demo.twin.engine import run_program, run_tool
from shahr.demo.twin.projection import LocalProjection

NET_FILE = "network.net.xml"
TRIPS_FILE = "demand.trips.xml"
SENSORS_FILE = "sensors.add.xml"
SCENARIO_FILE = "scenario.json"
# What each SUMO run names its outputs (after its `--output-prefix`).
LOOPS_OUTPUT = "loops.xml"
CAMERAS_OUTPUT = "cameras.xml"
EDGES_OUTPUT = "edges.xml"
CAMERA_LANE_MARK = "_lane"

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
    row_names: tuple[str, ...] = ()
    column_names: tuple[str, ...] = ()


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
    grid: GridSpec
    demand: DemandSpec
    sensors: SensorSpec = field(default_factory=SensorSpec)
    sumo_seed: int = 7

    @property
    def digest(self) -> str:
        """Changes whenever anything that shapes the scenario's files changes."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TwinEdge:
    """A SUMO edge as the platform sees it: a directed road segment (same id)."""

    id: str
    from_node: str
    to_node: str
    name: str
    road_class: str
    lanes: int
    length_m: float
    speed_limit_kmh: float
    geometry: tuple[tuple[float, float], ...]  # (lon, lat) in the direction of travel


@dataclass(frozen=True)
class TwinDetector:
    """A loop in one lane (1 = kerb side, SUMO's lane index 0) of a monitored edge."""

    id: str
    edge_id: str
    lane: int
    position_m: float


@dataclass(frozen=True)
class TwinCamera:
    """A plate camera over every lane of an edge."""

    id: str
    edge_id: str
    lanes: int
    position_m: float


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
    _generate_network(spec.grid, projection, directory)
    edges = read_edges(directory / NET_FILE, projection, spec.grid)
    _generate_demand(spec.demand, directory)
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


def _generate_network(grid: GridSpec, projection: LocalProjection, directory: Path) -> None:
    run_program(
        "netgenerate",
        [
            "--grid",
            f"--grid.x-number={grid.columns}",
            f"--grid.y-number={grid.rows}",
            f"--grid.length={grid.block_m}",
            f"--grid.attach-length={grid.fringe_m}",
            f"--default.lanenumber={grid.lanes}",
            f"--default.speed={grid.speed_kmh / 3.6:.4f}",
            f"--default.junctions.type={grid.junction}",
            "--tls.guess=false",
            "--no-turnarounds=true",
            f"--output-file={NET_FILE}",
        ],
        cwd=directory,
    )
    # Georeference: SUMO's plane is the projection's, so netedit and sumo-gui show lon/lat.
    net_path = directory / NET_FILE
    text = net_path.read_text(encoding="utf-8")
    text = text.replace('projParameter="!"', f'projParameter="{projection.proj_parameter}"', 1)
    net_path.write_text(text, encoding="utf-8")


def _generate_demand(demand: DemandSpec, directory: Path) -> None:
    run_tool(
        "randomTrips.py",
        [
            f"--net-file={NET_FILE}",
            f"--output-trip-file={TRIPS_FILE}",
            f"--begin={demand.begin_s}",
            f"--end={demand.end_s}",
            "--insertion-rate",
            *(f"{max(rate, 1.0):g}" for rate in demand.veh_h),
            # Departures drawn per second (Bernoulli trials), not a metronome.
            "--binomial=4",
            f"--fringe-factor={demand.fringe_factor:g}",
            f"--min-distance={demand.min_trip_m:g}",
            f"--seed={demand.seed}",
            "--validate",
            "--trip-attributes=departLane='best' departSpeed='max'",
            "--prefix=v",
        ],
        cwd=directory,
    )


def _name_of(grid: GridSpec, centre: Sequence[tuple[float, float]]) -> str:
    """The grid street an edge belongs to, told by its direction and where it lies."""
    (x0, y0), (x1, y1) = centre[0], centre[-1]
    if abs(x1 - x0) >= abs(y1 - y0):
        row = round(((y0 + y1) / 2 - grid.fringe_m) / grid.block_m)
        names, fallback, index = grid.row_names, "Twin street", row
    else:
        column = round(((x0 + x1) / 2 - grid.fringe_m) / grid.block_m)
        names, fallback, index = grid.column_names, "Twin avenue", column
    return names[index] if 0 <= index < len(names) else f"{fallback} {index + 1}"


def read_edges(net_file: Path, projection: LocalProjection, grid: GridSpec) -> list[TwinEdge]:
    """The net's normal edges, with a centre line in lon/lat and a street name."""
    edges = []
    # netgenerate's output in the twin's own directory, not input from outside.
    for element in ET.parse(net_file).getroot().iter("edge"):  # noqa: S314
        if element.get("function") in ("internal", "crossing", "walkingarea"):
            continue
        lanes = sorted(element.iter("lane"), key=lambda lane: int(lane.get("index", "0")))
        shapes = [_shape(lane.get("shape", "")) for lane in lanes]
        # The lanes' mean line: each direction of a street drawn on its own side.
        if all(len(shape) == len(shapes[0]) for shape in shapes):
            centre = [
                (
                    sum(shape[i][0] for shape in shapes) / len(shapes),
                    sum(shape[i][1] for shape in shapes) / len(shapes),
                )
                for i in range(len(shapes[0]))
            ]
        else:
            centre = shapes[0]
        edges.append(
            TwinEdge(
                id=element.get("id", ""),
                from_node=element.get("from", ""),
                to_node=element.get("to", ""),
                name=_name_of(grid, centre),
                road_class=grid.road_class,
                lanes=len(lanes),
                length_m=round(float(lanes[0].get("length", "0")), 2),
                speed_limit_kmh=round(float(lanes[0].get("speed", "0")) * 3.6, 2),
                geometry=tuple(projection.to_lonlat(x, y) for x, y in centre),
            )
        )
    return sorted(edges, key=lambda edge: edge.id)


def _shape(text: str) -> list[tuple[float, float]]:
    points = []
    for pair in text.split():
        x, y = pair.split(",")[:2]
        points.append((float(x), float(y)))
    return points


def place_sensors(
    edges: Sequence[TwinEdge], sensors: SensorSpec
) -> tuple[list[TwinDetector], list[TwinCamera]]:
    """Loops in every lane of every n-th edge by id; cameras on the named edges."""
    detectors: list[TwinDetector] = []
    for index, edge in enumerate(edges):
        if sensors.monitor_every <= 0 or index % sensors.monitor_every:
            continue
        position = round(edge.length_m * sensors.loop_position, 1)
        detectors.extend(
            TwinDetector(id=f"L-{edge.id}-{lane}", edge_id=edge.id, lane=lane, position_m=position)
            for lane in range(1, edge.lanes + 1)
        )
    by_id = {edge.id: edge for edge in edges}
    cameras = []
    for edge_id in sensors.camera_edges:
        edge = by_id[edge_id]
        cameras.append(
            TwinCamera(
                id=f"C-{edge.id}",
                edge_id=edge.id,
                lanes=edge.lanes,
                position_m=round(edge.length_m * sensors.camera_position, 1),
            )
        )
    return detectors, cameras


def write_sensors(
    path: Path,
    detectors: Sequence[TwinDetector],
    cameras: Sequence[TwinCamera],
    period_s: int,
) -> None:
    root = ET.Element("additional")
    for detector in detectors:
        ET.SubElement(
            root,
            "inductionLoop",
            id=detector.id,
            lane=f"{detector.edge_id}_{detector.lane - 1}",
            pos=f"{detector.position_m:.1f}",
            period=str(period_s),
            file=LOOPS_OUTPUT,
        )
    for camera in cameras:
        for lane in range(1, camera.lanes + 1):
            ET.SubElement(
                root,
                "instantInductionLoop",
                id=f"{camera.id}{CAMERA_LANE_MARK}{lane}",
                lane=f"{camera.edge_id}_{lane - 1}",
                pos=f"{camera.position_m:.1f}",
                file=CAMERAS_OUTPUT,
            )
    ET.SubElement(
        root,
        "edgeData",
        id="truth",
        period=str(period_s),
        file=EDGES_OUTPUT,
        excludeEmpty="true",
    )
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


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
