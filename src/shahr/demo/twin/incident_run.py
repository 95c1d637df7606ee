"""Running an incident scenario in SUMO: the incidents written as SUMO inputs, the loops'
minutes and the incidents' real start and end read back, all kept in the twin cache.

`<cache>/<name>-<digest>/` holds the built scenario (`scenario.json` and SUMO's inputs),
`incidents.rou.xml` and `incidents.add.xml`, and the run's results: `loops.csv.gz` (one row
per loop and minute) and `truth.json` (each incident's real start and end: a stopped car's
from SUMO's stop output, since it stops when it gets there, not when it was sent).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from shahr.demo.twin.engine import run_program
from shahr.demo.twin.incident_scenarios import IncidentScenarioSpec, InjectedIncident
from shahr.demo.twin.outputs import LoopInterval, read_loops
from shahr.demo.twin.run import TIME_TO_TELEPORT_S
from shahr.demo.twin.scenario import Scenario, build_scenario
from shahr.demo.twin.sumo_files import LOOPS_OUTPUT, NET_FILE, SENSORS_FILE, TRIPS_FILE

INCIDENT_ROUTES = "incidents.rou.xml"
INCIDENT_ADDITIONAL = "incidents.add.xml"
STOPS_OUTPUT = "stops.xml"
LOOPS_FILE = "loops.csv.gz"
TRUTH_FILE = "truth.json"
DONE_FILE = "complete"
LOOP_COLUMNS = ("begin_s", "detector_id", "count", "occupancy_pct", "speed_kmh")
# A stopped car is sent this early, from this far back, so it reaches its spot on time.
LEAD_S = 20
LEAD_M = 60.0


@dataclass(frozen=True)
class IncidentTruth:
    """What SUMO really did: the incident from `begin_s` to `end_s` on `edge_id`."""

    kind: str
    edge_id: str
    lane: int
    begin_s: float
    end_s: float


@dataclass(frozen=True)
class LoopMinute:
    begin_s: int
    detector_id: str
    count: int
    occupancy_pct: float
    speed_kmh: float | None


@dataclass(frozen=True)
class IncidentRun:
    spec: IncidentScenarioSpec
    scenario: Scenario
    loops: tuple[LoopMinute, ...]
    truth: tuple[IncidentTruth, ...]


def run_incident_scenario(spec: IncidentScenarioSpec, cache: Path) -> IncidentRun:
    """The scenario's run, from the cache when it is there (SUMO otherwise, seconds)."""
    directory = (cache / f"{spec.name}-{spec.digest}").resolve()
    scenario = build_scenario(spec.base, directory)
    if not (directory / DONE_FILE).exists():
        _write_inputs(spec, scenario, directory)
        run_program("sumo", _arguments(scenario, spec), cwd=directory)
        loops = [_minute(i) for i in read_loops(directory / LOOPS_OUTPUT, scenario.period_s)]
        truth = _truth(spec, directory / STOPS_OUTPUT)
        _write_loops(directory / LOOPS_FILE, loops)
        (directory / TRUTH_FILE).write_text(
            json.dumps([asdict(t) for t in truth], indent=1), encoding="utf-8"
        )
        for name in (LOOPS_OUTPUT, STOPS_OUTPUT, "edges.xml", "cameras.xml"):
            (directory / name).unlink(missing_ok=True)
        (directory / DONE_FILE).write_text(spec.digest, encoding="utf-8")
    document = json.loads((directory / TRUTH_FILE).read_text(encoding="utf-8"))
    return IncidentRun(
        spec=spec,
        scenario=scenario,
        loops=tuple(_read_loops(directory / LOOPS_FILE)),
        truth=tuple(IncidentTruth(**item) for item in document),
    )


def _arguments(scenario: Scenario, spec: IncidentScenarioSpec) -> list[str]:
    return [
        f"--net-file={NET_FILE}",
        f"--route-files={TRIPS_FILE},{INCIDENT_ROUTES}",
        f"--additional-files={SENSORS_FILE},{INCIDENT_ADDITIONAL}",
        f"--begin={scenario.begin_s}",
        f"--end={scenario.end_s}",
        f"--seed={scenario.sumo_seed}",
        f"--time-to-teleport={TIME_TO_TELEPORT_S}",
        f"--stop-output={STOPS_OUTPUT}",
        "--ignore-route-errors=true",
        "--no-step-log=true",
        "--no-warnings=true",
    ]


def _write_inputs(spec: IncidentScenarioSpec, scenario: Scenario, directory: Path) -> None:
    lengths = {edge.id: edge.length_m for edge in scenario.edges}
    routes = ET.Element("routes")
    additional = ET.Element("additional")
    for index, corridor in enumerate(spec.corridors):
        # Arrivals at random (exponential headways), like the rest of the twin's demand.
        ET.SubElement(
            routes,
            "flow",
            id=f"corridor{index}",
            begin=str(scenario.begin_s),
            end=str(scenario.end_s),
            period=f"exp({corridor.veh_h / 3600.0:.6f})",
            attrib={"from": corridor.from_edge, "to": corridor.to_edge},
            departLane="best",
            departSpeed="max",
        )
    for index, incident in enumerate(sorted(spec.incidents, key=lambda i: i.begin_s)):
        lane = f"{incident.edge_id}_{incident.lane - 1}"
        at_m = lengths[incident.edge_id] * incident.position
        if incident.kind == "stopped_vehicle":
            vehicle = ET.SubElement(
                routes,
                "vehicle",
                id=f"incident{index}",
                depart=str(max(incident.begin_s - LEAD_S, 0)),
                departLane=str(incident.lane - 1),
                departPos=f"{max(at_m - LEAD_M, 0.0):.1f}",
                departSpeed="0",
            )
            ET.SubElement(vehicle, "route", edges=incident.edge_id)
            ET.SubElement(
                vehicle, "stop", lane=lane, endPos=f"{at_m:.1f}", duration=str(incident.duration_s)
            )
        else:
            rerouter = ET.SubElement(
                additional, "rerouter", id=f"incident{index}", edges=incident.edge_id
            )
            interval = ET.SubElement(
                rerouter,
                "interval",
                begin=str(incident.begin_s),
                end=str(incident.begin_s + incident.duration_s),
            )
            ET.SubElement(interval, "closingLaneReroute", id=lane, disallow="all")
    for root, name in ((routes, INCIDENT_ROUTES), (additional, INCIDENT_ADDITIONAL)):
        ET.indent(root)
        ET.ElementTree(root).write(directory / name, encoding="utf-8", xml_declaration=True)


def _truth(spec: IncidentScenarioSpec, stops: Path) -> list[IncidentTruth]:
    """Each incident's real times; a stopped car that never got there is left out (and the
    scenario's check that every incident happened fails on it)."""
    started: dict[str, tuple[float, float]] = {}
    if stops.exists():
        # SUMO's own output in the run's directory.
        for element in ET.parse(stops).getroot().iter("stopinfo"):  # noqa: S314
            started[element.get("id", "")] = (
                float(element.get("started", "0")),
                float(element.get("ended", "0")),
            )
    truth = []
    for index, incident in enumerate(sorted(spec.incidents, key=lambda i: i.begin_s)):
        begin_s, end_s = _times(incident, started.get(f"incident{index}"))
        if begin_s is None or end_s is None:
            continue
        truth.append(IncidentTruth(incident.kind, incident.edge_id, incident.lane, begin_s, end_s))
    return truth


def _times(
    incident: InjectedIncident, stop: tuple[float, float] | None
) -> tuple[float | None, float | None]:
    if incident.kind != "stopped_vehicle":
        return float(incident.begin_s), float(incident.begin_s + incident.duration_s)
    if stop is None:
        return None, None
    return stop


def _minute(interval: LoopInterval) -> LoopMinute:
    speed = interval.harmonic_speed_ms
    return LoopMinute(
        begin_s=round(interval.begin_s),
        detector_id=interval.detector_id,
        count=interval.count,
        occupancy_pct=round(min(interval.occupancy_pct, 100.0), 2),
        speed_kmh=None if speed is None else round(speed * 3.6, 2),
    )


def _write_loops(path: Path, loops: list[LoopMinute]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(LOOP_COLUMNS)
    for loop in loops:
        speed = "" if loop.speed_kmh is None else loop.speed_kmh
        writer.writerow((loop.begin_s, loop.detector_id, loop.count, loop.occupancy_pct, speed))
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        packed.write(text.getvalue().encode())


def _read_loops(path: Path) -> list[LoopMinute]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        return [
            LoopMinute(
                begin_s=int(row["begin_s"]),
                detector_id=row["detector_id"],
                count=int(row["count"]),
                occupancy_pct=float(row["occupancy_pct"]),
                speed_kmh=float(row["speed_kmh"]) if row["speed_kmh"] else None,
            )
            for row in csv.DictReader(file)
        ]
