"""The twin's networks other than netgenerate's plain grid: a spider web of radial roads and
rings, and a grid of multi-lane arterials crossed by one-lane side streets.

Each spec names and classes its own edges (`describe`), since their ids say nothing a
street name could be read from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SpiderSpec:
    """netgenerate's spider: `arms` radial roads, `circles` rings `ring_m` apart."""

    arms: int
    circles: int
    ring_m: float
    origin_lon: float  # SUMO's (0, 0)
    origin_lat: float
    lanes: int = 2
    speed_kmh: float = 50.0
    junction: str = "traffic_light"
    cycle_s: int | None = None  # signal cycle (netgenerate's default, 90 s, when None)
    road_class: str = "minor_arterial"
    omit_centre: bool = True  # netgenerate's centre would be one unregulated junction

    def describe(
        self, from_node: str, to_node: str, centre: Sequence[tuple[float, float]]
    ) -> tuple[str, str]:
        """(street name, road class): netgenerate names a node by its ring's letter and
        its arm's number, so a ring's edges keep the letter and a radial's the number."""
        if from_node[:1] == to_node[:1]:
            return f"Twin ring {from_node[:1]}", self.road_class
        return f"Twin radial {from_node[1:]}", self.road_class


@dataclass(frozen=True)
class ArterialGridSpec:
    """Arterials every `arterial_every`-th line of a `lines` x `lines` lattice `spacing_m`
    apart, one-lane side streets on the lines between; signals where two arterials cross,
    the arterial has priority where a side street meets it. Arterials run on past the
    lattice for `fringe_m`, so through traffic enters and leaves on them."""

    lines: int
    spacing_m: float
    origin_lon: float
    origin_lat: float
    arterial_every: int = 2
    arterial_lanes: int = 3
    arterial_kmh: float = 60.0
    arterial_class: str = "major_arterial"
    side_lanes: int = 1
    side_kmh: float = 40.0
    side_class: str = "collector"
    fringe_m: float = 300.0
    cycle_s: int | None = None  # signal cycle where arterials cross (default 90 s)

    def is_arterial(self, line: int) -> bool:
        return line % self.arterial_every == 0

    def describe(
        self, from_node: str, to_node: str, centre: Sequence[tuple[float, float]]
    ) -> tuple[str, str]:
        (x0, y0), (x1, y1) = centre[0], centre[-1]
        horizontal = abs(x1 - x0) >= abs(y1 - y0)
        position = (y0 + y1) / 2 if horizontal else (x0 + x1) / 2
        line = round((position - self.fringe_m) / self.spacing_m)
        arterial = self.is_arterial(line)
        kind = ("Twin boulevard" if arterial else "Twin lane") + (
            f" {line + 1}" if horizontal else f" {chr(ord('A') + line)}"
        )
        return kind, self.arterial_class if arterial else self.side_class
