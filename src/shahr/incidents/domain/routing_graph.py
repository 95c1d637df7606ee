"""The road network as a graph of junctions, for travel times to an incident and snapping.

Built once per road snapshot (network and speeds) and kept: a request then costs one
Dijkstra over the reversed graph and a bulk nearest-segment query for the units.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import STRtree

from shahr.kernel.errors import NotFoundError
from shahr.kernel.geo import FloatArray, IndexArray
from shahr.kernel.geo.plane import Plane

# A jammed link still moves a police car (sirens, the shoulder); and a zero speed would make
# the link a wall the router cannot weigh.
MIN_SPEED_KMH = 3.0
# Farther than this from every road, a position is not on the network (a yard, a bad fix).
OFF_NETWORK_M = 200.0
# A phone's fix is good to about 10 m: every directed segment this close to the nearest one
# may be the one the unit is on (both directions of a street, twin carriageways); the unit
# is given whichever reaches the incident first.
SAME_ROAD_M = 10.0
# The first look around a position: most are settled by it (see _Pieces.near).
FIRST_BOX_M = 60.0


class RoadNotInNetworkError(NotFoundError):
    """The incident's segment is not in the road network the units are routed over."""


class LinkLike(Protocol):
    """What the graph needs of a directed segment (the gateway's RoadLink has it)."""

    @property
    def segment_id(self) -> str: ...
    @property
    def from_node(self) -> str: ...
    @property
    def to_node(self) -> str: ...
    @property
    def length_m(self) -> float: ...
    @property
    def speed_kmh(self) -> float: ...
    @property
    def free_flow_kmh(self) -> float: ...
    @property
    def name(self) -> str: ...
    @property
    def geometry(self) -> tuple[tuple[float, float], ...]: ...


@dataclass(frozen=True)
class Place:
    """A point on a directed segment: metres from its start, in its direction of travel."""

    segment_id: str
    offset_m: float


@dataclass(frozen=True)
class Snaps:
    """Each point's candidate segments: the point's index, the segment, where on it, how far."""

    point: IndexArray
    segment: IndexArray
    offset_m: FloatArray
    distance_m: FloatArray


@dataclass(frozen=True)
class NetworkTimes:
    """Seconds from every junction to one junction, and the next junction on the fastest way."""

    seconds: FloatArray  # inf where the junction cannot reach it
    next_node: npt.NDArray[np.int32]  # -9999 at the goal and where unreachable


class _Pieces:
    """The straight pieces of every segment's line, in a local plane in metres, indexed."""

    def __init__(self, links: Sequence[LinkLike], length_m: FloatArray) -> None:
        owner: list[int] = []
        lons: list[float] = []
        lats: list[float] = []
        for i, link in enumerate(links):
            line = link.geometry
            if len(line) < 2:
                continue  # a segment without a line is routed over but never snapped to
            owner.extend([i] * (len(line) - 1))
            for (a_lon, a_lat), (b_lon, b_lat) in itertools.pairwise(line):
                lons.extend((a_lon, b_lon))
                lats.extend((a_lat, b_lat))
        self.owner: IndexArray = np.array(owner, dtype=np.intp)
        lon, lat = np.array(lons, dtype=np.float64), np.array(lats, dtype=np.float64)
        self.plane = Plane(lon, lat)
        x, y = self.plane.project(lon, lat)
        self.a_x, self.b_x = x[0::2], x[1::2]
        self.a_y, self.b_y = y[0::2], y[1::2]
        self.piece_m = np.hypot(self.b_x - self.a_x, self.b_y - self.a_y)
        # Metres of the segment's line before each piece, and the stated length per line metre.
        drawn = np.bincount(self.owner, weights=self.piece_m, minlength=len(links))
        ends = np.cumsum(self.piece_m)
        first = np.ones(len(owner), dtype=np.bool_)
        first[1:] = self.owner[1:] != self.owner[:-1]
        line_start = np.maximum.accumulate(np.where(first, ends - self.piece_m, 0.0))
        self.before_m = ends - self.piece_m - line_start
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(drawn > 0, length_m / drawn, 0.0)
        self.scale = scale[self.owner] if len(owner) else np.zeros(0)
        coordinates = np.stack(
            [np.stack([self.a_x, self.a_y], axis=-1), np.stack([self.b_x, self.b_y], axis=-1)],
            axis=1,
        )
        self.tree = STRtree(shapely.linestrings(coordinates) if len(owner) else [])

    def near(self, lons: FloatArray, lats: FloatArray, within_m: float) -> Snaps:
        """Every segment within `within_m` and within SAME_ROAD_M of each point's nearest.

        Most positions are a few metres from a road: a small box settles them, and only the
        rest are asked again with the whole reach. A box of half-width r holds every piece
        within r, so a nearest at d settles the point when d + SAME_ROAD_M <= r.
        """
        x, y = self.plane.project(lons, lats)
        every = np.arange(len(x), dtype=np.intp)
        first_r = min(FIRST_BOX_M, within_m)
        point, piece, distance, offset = self._measure(x, y, every, first_r)
        nearest = np.full(len(x), np.inf)
        np.minimum.at(nearest, point, distance)
        unsure = every[nearest + SAME_ROAD_M > first_r]
        if within_m > first_r and len(unsure):
            settled = nearest[point] + SAME_ROAD_M <= first_r
            again = self._measure(x, y, unsure, within_m)
            point, piece, distance, offset = (
                np.concatenate([mine[settled], theirs])
                for mine, theirs in zip((point, piece, distance, offset), again, strict=True)
            )
            nearest[unsure] = np.inf
            np.minimum.at(nearest, again[0], again[2])
        close = (distance <= within_m) & (distance <= nearest[point] + SAME_ROAD_M)
        point, segment = point[close], self.owner[piece[close]]
        offset, distance = offset[close], distance[close]
        # A curved segment may pass close more than once: its nearest piece stands for it.
        order = np.lexsort((distance, segment, point))
        point, segment = point[order], segment[order]
        first = np.ones(len(point), dtype=np.bool_)
        first[1:] = (point[1:] != point[:-1]) | (segment[1:] != segment[:-1])
        return Snaps(point[first], segment[first], offset[order][first], distance[order][first])

    def _measure(
        self, x: FloatArray, y: FloatArray, points: IndexArray, r: float
    ) -> tuple[IndexArray, IndexArray, FloatArray, FloatArray]:
        """Pieces in a box of half-width r around each point: metres to each, and the offset
        along its segment of the nearest point on it."""
        px, py = x[points], y[points]
        pairs = self.tree.query(shapely.box(px - r, py - r, px + r, py + r))
        point, piece = points[pairs[0]].astype(np.intp), pairs[1].astype(np.intp)
        ax, ay = self.a_x[piece], self.a_y[piece]
        dx, dy = self.b_x[piece] - ax, self.b_y[piece] - ay
        wx, wy = x[point] - ax, y[point] - ay
        length2 = dx * dx + dy * dy
        t = np.clip(
            np.divide(wx * dx + wy * dy, length2, where=length2 > 0, out=np.zeros_like(length2)),
            0.0,
            1.0,
        )
        distance = np.hypot(wx - t * dx, wy - t * dy)
        offset = (self.before_m[piece] + t * self.piece_m[piece]) * self.scale[piece]
        return point, piece, distance, offset


class RoadGraph:
    """Junctions joined by directed segments weighted in seconds at their current speed.

    The adjacency is stored reversed (an edge to_node -> from_node per segment), so one
    Dijkstra from the incident's junction gives every junction's time TO the incident.
    """

    def __init__(self, links: Sequence[LinkLike]) -> None:
        self.segment_ids = [link.segment_id for link in links]
        self.segment_index = {segment: i for i, segment in enumerate(self.segment_ids)}
        self.names = [link.name for link in links]
        nodes: dict[str, int] = {}
        self.from_node = np.array([nodes.setdefault(x.from_node, len(nodes)) for x in links])
        self.to_node = np.array([nodes.setdefault(x.to_node, len(nodes)) for x in links])
        self.n_nodes = len(nodes)
        self.length_m = np.array([x.length_m for x in links], dtype=np.float64)
        self._weigh(links)
        self._pieces = _Pieces(links, self.length_m)

    def _weigh(self, links: Sequence[LinkLike]) -> None:
        speed = np.array([x.speed_kmh for x in links], dtype=np.float64)
        free_flow = np.array([x.free_flow_kmh for x in links], dtype=np.float64)
        speed = np.where(np.isfinite(speed) & (speed > 0), speed, free_flow)
        self.speed_ms = np.maximum(np.nan_to_num(speed, nan=MIN_SPEED_KMH), MIN_SPEED_KMH) / 3.6
        self.seconds = self.length_m / self.speed_ms
        self._reverse, self._edge = self._reversed_adjacency()

    @classmethod
    def build(cls, snapshot_links: Sequence[LinkLike]) -> RoadGraph:
        return cls(snapshot_links)

    def with_speeds(self, links: Sequence[LinkLike]) -> RoadGraph:
        """This network at the links' speeds: the junctions and the snapping index kept.

        For a new state on the same network (the caller knows it is the same: same segments,
        junctions, lengths and lines, in the same order); about a fifth of a full build.
        """
        if [link.segment_id for link in links] != self.segment_ids:
            return RoadGraph.build(links)
        graph = copy.copy(self)
        graph._weigh(links)
        return graph

    def __len__(self) -> int:
        return len(self.segment_ids)

    def _reversed_adjacency(self) -> tuple[csr_matrix, dict[tuple[int, int], int]]:
        """The reversed graph as CSR, and per junction pair the segment that weighs it.

        Of parallel segments only the fastest is kept (a CSR matrix would add them up);
        a segment back to its own junction never shortens a way and is left out.
        """
        keep = np.flatnonzero(self.from_node != self.to_node)
        order = np.lexsort((self.seconds[keep], self.to_node[keep], self.from_node[keep]))
        keep = keep[order]
        a, b = self.from_node[keep], self.to_node[keep]
        first = np.ones(len(keep), dtype=np.bool_)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        keep = keep[first]
        # Seconds are positive (length over a floored speed), so no weight is an absent edge.
        weights = np.maximum(self.seconds[keep], 1e-9)
        reverse = csr_matrix(
            (weights, (self.to_node[keep], self.from_node[keep])),
            shape=(self.n_nodes, self.n_nodes),
        )
        edge = dict(
            zip(
                zip(self.from_node[keep].tolist(), self.to_node[keep].tolist(), strict=True),
                keep.tolist(),
                strict=True,
            )
        )
        return reverse, edge

    def segment_of(self, place: Place) -> int:
        index = self.segment_index.get(place.segment_id)
        if index is None:
            raise RoadNotInNetworkError(
                "The road segment {segment} is not in the current road network.",
                segment=place.segment_id,
            )
        return index

    def times_to_junction(self, node: int) -> NetworkTimes:
        """Seconds from every junction to `node` over the current speeds (one Dijkstra)."""
        seconds, following = dijkstra(
            self._reverse, directed=True, indices=node, return_predecessors=True
        )
        return NetworkTimes(seconds, following)

    def way_from(self, node: int, times: NetworkTimes) -> list[int]:
        """The segments of the fastest way from `node` to the junction `times` was built for."""
        way: list[int] = []
        while (after := int(times.next_node[node])) >= 0:
            way.append(self._edge[(node, after)])
            node = after
        return way

    def snap_all(
        self, lons: FloatArray, lats: FloatArray, *, within_m: float = OFF_NETWORK_M
    ) -> Snaps:
        """Each point's candidate segments (see SAME_ROAD_M), measured in a local plane.

        The plane is equirectangular at the network's mean latitude: within a city and at a
        few hundred metres its distances are within 0.1 % of the great circle's.
        """
        return self._pieces.near(lons, lats, within_m)

    def snap(
        self, lon: float, lat: float, *, within_m: float = OFF_NETWORK_M
    ) -> tuple[Place, float] | None:
        """The nearest point on the nearest directed segment, and metres to it; None if off."""
        snaps = self.snap_all(np.array([lon]), np.array([lat]), within_m=within_m)
        if not len(snaps.segment):
            return None
        best = int(np.lexsort((snaps.segment, snaps.distance_m))[0])
        segment = int(snaps.segment[best])
        offset = min(float(snaps.offset_m[best]), float(self.length_m[segment]))
        return Place(self.segment_ids[segment], offset), float(snaps.distance_m[best])

    def point_at(self, place: Place) -> tuple[float, float]:
        """(lon, lat) of a place, along its segment's line."""
        segment = self.segment_of(place)
        pieces = self._pieces
        mine = np.flatnonzero(pieces.owner == segment)
        if not len(mine):
            return (np.nan, np.nan)
        along = np.clip(place.offset_m, 0.0, self.length_m[segment]) / max(
            float(pieces.scale[mine[0]]), 1e-12
        )
        piece = mine[
            min(int(np.searchsorted(pieces.before_m[mine], along, "right")), len(mine)) - 1
        ]
        t = min(max((along - pieces.before_m[piece]) / max(pieces.piece_m[piece], 1e-12), 0.0), 1.0)
        x = pieces.a_x[piece] + t * (pieces.b_x[piece] - pieces.a_x[piece])
        y = pieces.a_y[piece] + t * (pieces.b_y[piece] - pieces.a_y[piece])
        plane = pieces.plane
        return (plane.lon0 + x / plane.x_per_degree, plane.lat0 + y / plane.y_per_degree)
