"""The twin's network and sensors, put into the platform through traffic's own services.

Each SUMO edge becomes a road segment with the same id (so SUMO's ground truth and the
platform's state line up by id), each loop a lane detector on it (lane 1 = kerb side =
SUMO's lane 0), each camera a plate camera over the whole road. Importing twice changes
nothing: segments and detectors are matched by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shahr.demo.twin.scenario import Scenario
from shahr.demo.twin.sumo_files import NET_FILE
from shahr.kernel.clock import Clock, SystemClock
from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat
from shahr.traffic.domain import DetectorKind, DetectorSpec, SegmentSpec
from shahr.traffic.domain.network import bearing_deg
from shahr.traffic.gateways.sumo import signal_timings, yielding_edges
from shahr.traffic.services import NetworkImportReport, import_road_network, register_detectors
from shahr.traffic.services.cameras import import_cameras

SOURCE = "sumo-twin"
# The demo's video cameras stand at the junctions where this many roads arrive (the grid's
# crossings), every other one: about the density of Tehran's 2,800 over its arterials.
CCTV_AT_ARRIVALS = 4


def segment_specs(scenario: Scenario) -> list[SegmentSpec]:
    """The scenario's edges, with the timing of the signal each ends at where its net is at hand.

    A recording carries `scenario.json` without SUMO's net: its edges are then left with no
    known signal (no control delay is added for them).
    """
    net = scenario.directory / NET_FILE
    timings = signal_timings(net) if net.is_file() else {}
    yielding = yielding_edges(net) if net.is_file() else set()
    return [
        SegmentSpec(
            id=edge.id,
            geometry=edge.geometry,
            road_class=edge.road_class,
            lanes=edge.lanes,
            from_node=edge.from_node,
            to_node=edge.to_node,
            name=edge.name,
            free_flow_kmh=edge.speed_limit_kmh,
            length_m=edge.length_m,
            signal_cycle_s=timings[edge.id][0] if edge.id in timings else None,
            green_share=timings[edge.id][1] if edge.id in timings else None,
            yields=edge.id in yielding,
        )
        for edge in scenario.edges
    ]


def detector_specs(scenario: Scenario) -> list[DetectorSpec]:
    loops = [
        DetectorSpec(
            id=detector.id,
            segment_id=detector.edge_id,
            kind=DetectorKind.loop,
            lane=detector.lane,
            position_m=detector.position_m,
        )
        for detector in scenario.detectors
    ]
    cameras = [
        DetectorSpec(
            id=camera.id,
            segment_id=camera.edge_id,
            kind=DetectorKind.plate_camera,
            lane=None,
            position_m=camera.position_m,
        )
        for camera in scenario.cameras
    ]
    return loops + cameras


async def load_into_platform(
    database: Database,
    scenario: Scenario,
    *,
    districts: Sequence[tuple[int, Mapping[str, Any]]] = (),
    clock: Clock | None = None,
) -> NetworkImportReport:
    """Import the scenario's segments, then register its loops and cameras."""
    report = await import_road_network(
        database,
        segments=segment_specs(scenario),
        source=f"{SOURCE}:{scenario.name}",
        districts=districts,
        clock=clock,
    )
    await register_detectors(database, detectors=detector_specs(scenario), clock=clock)
    return report


def cctv_rows(scenario: Scenario) -> list[tuple[int, dict[str, Any]]]:
    """Synthetic video cameras for the demo, as rows of a camera file: one over every other
    crossing, looking back along the first road into it. They have no stream or snapshot:
    the demo has no video, and the dashboard says so rather than show a made-up picture.
    """
    arriving: dict[str, list[Any]] = {}
    for edge in scenario.edges:
        arriving.setdefault(edge.to_node, []).append(edge)
    crossings = sorted(node for node, edges in arriving.items() if len(edges) >= CCTV_AT_ARRIVALS)
    rows = []
    for number, node in enumerate(crossings[::2], start=1):
        edge = sorted(arriving[node], key=lambda e: e.id)[0]
        end, before = LonLat(*edge.geometry[-1]), LonLat(*edge.geometry[-2])
        rows.append(
            (
                number,
                {
                    "id": f"CCTV-{node}",
                    "name_fa": f"دوربین نمایشی تقاطع {node}",
                    "name_en": f"Demo camera, junction {node}",
                    "lon": end.lon,
                    "lat": end.lat,
                    "view_bearing_deg": round(bearing_deg(end, before)) % 360,
                    "status": "active",
                    "public": "true",
                },
            )
        )
    return rows


async def load_demo_cameras(database: Database, scenario: Scenario) -> None:
    """The demo's synthetic cameras (idempotent: an unchanged camera is not written again)."""
    rows = cctv_rows(scenario)
    if rows:
        await import_cameras(
            database, SystemClock(), rows=rows, source=f"{SOURCE}:{scenario.name}", by="demo"
        )
