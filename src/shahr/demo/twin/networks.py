"""SUMO nets for the spider and arterial-grid specs: netgenerate's spider, and plain XML
nodes and edges through netconvert for the arterials (netgenerate's grid has one lane count)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from shahr.demo.twin.engine import run_program
from shahr.demo.twin.network_specs import ArterialGridSpec, SpiderSpec

NODES_FILE = "network.nod.xml"
EDGES_FILE = "network.edg.xml"


def generate_spider(spider: SpiderSpec, net_file: str, directory: Path) -> None:
    run_program(
        "netgenerate",
        [
            "--spider",
            f"--spider.arm-number={spider.arms}",
            f"--spider.circle-number={spider.circles}",
            f"--spider.space-radius={spider.ring_m}",
            f"--spider.omit-center={str(spider.omit_centre).lower()}",
            f"--default.lanenumber={spider.lanes}",
            f"--default.speed={spider.speed_kmh / 3.6:.4f}",
            f"--default.junctions.type={spider.junction}",
            "--tls.guess=false",
            "--no-turnarounds=true",
            *cycle_option(spider.cycle_s),
            f"--output-file={net_file}",
        ],
        cwd=directory,
    )


def cycle_option(cycle_s: int | None) -> list[str]:
    return [] if cycle_s is None else [f"--tls.cycle.time={cycle_s}"]


def lattice_node(column: int, row: int) -> str:
    return f"{chr(ord('A') + column)}{row}"


def _nodes(spec: ArterialGridSpec) -> ET.Element:
    root = ET.Element("nodes")
    last = spec.fringe_m * 2 + (spec.lines - 1) * spec.spacing_m
    for column in range(spec.lines):
        for row in range(spec.lines):
            both = spec.is_arterial(column) and spec.is_arterial(row)
            node = lattice_node(column, row)
            x = spec.fringe_m + column * spec.spacing_m
            y = spec.fringe_m + row * spec.spacing_m
            kind = "traffic_light" if both else "priority"
            ET.SubElement(root, "node", id=node, x=f"{x:.2f}", y=f"{y:.2f}", type=kind)
    for line in range(spec.lines):
        if not spec.is_arterial(line):
            continue
        at = spec.fringe_m + line * spec.spacing_m
        for name, (x, y) in {
            f"bottom{line}": (at, 0.0),
            f"top{line}": (at, last),
            f"left{line}": (0.0, at),
            f"right{line}": (last, at),
        }.items():
            ET.SubElement(root, "node", id=name, x=f"{x:.2f}", y=f"{y:.2f}", type="priority")
    return root


def _links(spec: ArterialGridSpec) -> list[tuple[str, str, int]]:
    """(from, to, line) of each street's pieces, one way; the line says arterial or side."""
    links = []
    last = spec.lines - 1
    for line in range(spec.lines):
        for step in range(last):
            links.append((lattice_node(step, line), lattice_node(step + 1, line), line))
            links.append((lattice_node(line, step), lattice_node(line, step + 1), line))
        if spec.is_arterial(line):
            links.append((f"left{line}", lattice_node(0, line), line))
            links.append((lattice_node(last, line), f"right{line}", line))
            links.append((f"bottom{line}", lattice_node(line, 0), line))
            links.append((lattice_node(line, last), f"top{line}", line))
    return links


def generate_arterial_grid(spec: ArterialGridSpec, net_file: str, directory: Path) -> None:
    nodes = _nodes(spec)
    edges = ET.Element("edges")
    for start, end, line in _links(spec):
        arterial = spec.is_arterial(line)
        lanes = spec.arterial_lanes if arterial else spec.side_lanes
        speed = (spec.arterial_kmh if arterial else spec.side_kmh) / 3.6
        for a, b in ((start, end), (end, start)):
            ET.SubElement(
                edges,
                "edge",
                id=f"{a}{b}",
                attrib={"from": a, "to": b},
                numLanes=str(lanes),
                speed=f"{speed:.4f}",
                priority="3" if arterial else "1",
            )
    for root, name in ((nodes, NODES_FILE), (edges, EDGES_FILE)):
        ET.indent(root)
        ET.ElementTree(root).write(directory / name, encoding="utf-8", xml_declaration=True)
    run_program(
        "netconvert",
        [
            f"--node-files={NODES_FILE}",
            f"--edge-files={EDGES_FILE}",
            "--no-turnarounds=true",
            "--offset.disable-normalization=true",
            "--tls.guess=false",
            *cycle_option(spec.cycle_s),
            f"--output-file={net_file}",
        ],
        cwd=directory,
    )
