"""SUMO's input files for a scenario: the grid from netgenerate (georeferenced), trips from
randomTrips.py, the additional file placing the sensors; and the edges read back from the net."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shahr.demo.twin.engine import run_program, run_tool
from shahr.demo.twin.network_specs import ArterialGridSpec, SpiderSpec
from shahr.demo.twin.networks import cycle_option, generate_arterial_grid, generate_spider
from shahr.demo.twin.projection import LocalProjection
from shahr.demo.twin.scenario_specs import DemandSpec, GridSpec, NetworkSpec, SensorSpec

NET_FILE = "network.net.xml"
TRIPS_FILE = "demand.trips.xml"
SENSORS_FILE = "sensors.add.xml"
# What each SUMO run names its outputs (after its `--output-prefix`).
LOOPS_OUTPUT = "loops.xml"
CAMERAS_OUTPUT = "cameras.xml"
EDGES_OUTPUT = "edges.xml"
CAMERA_LANE_MARK = "_lane"


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


def generate_network(network: NetworkSpec, projection: LocalProjection, directory: Path) -> None:
    if isinstance(network, SpiderSpec):
        generate_spider(network, NET_FILE, directory)
    elif isinstance(network, ArterialGridSpec):
        generate_arterial_grid(network, NET_FILE, directory)
    else:
        _generate_grid(network, directory)
    # Georeference: SUMO's plane is the projection's, so netedit and sumo-gui show lon/lat.
    net_path = directory / NET_FILE
    text = net_path.read_text(encoding="utf-8")
    text = text.replace('projParameter="!"', f'projParameter="{projection.proj_parameter}"', 1)
    net_path.write_text(text, encoding="utf-8")


def _generate_grid(grid: GridSpec, directory: Path) -> None:
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
            *cycle_option(grid.cycle_s),
            f"--output-file={NET_FILE}",
        ],
        cwd=directory,
    )


def generate_demand(demand: DemandSpec, directory: Path) -> None:
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


def read_edges(net_file: Path, projection: LocalProjection, network: NetworkSpec) -> list[TwinEdge]:
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
        from_node, to_node = element.get("from", ""), element.get("to", "")
        name, road_class = network.describe(from_node, to_node, centre)
        edges.append(
            TwinEdge(
                id=element.get("id", ""),
                from_node=from_node,
                to_node=to_node,
                name=name,
                road_class=road_class,
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
