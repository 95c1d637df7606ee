"""Keyed points (meters, stations, units) for nearest, radius and box look-ups."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

import numpy as np
import shapely
from shapely import STRtree

from shahr.kernel.geo.cells import NearestByCells
from shahr.kernel.geo.plane import Keep, Plane, check_nearest, search_nearest
from shahr.kernel.geo.sphere import BoolArray, FloatArray, IndexArray, LonLat, haversine_radians

K = TypeVar("K")

# Up to this many points, a nearest search measures to all of them at once (one numpy pass
# costs less than querying the tree, then maybe widening): the same answer, sooner.
_ALL_AT_ONCE = 1_024


class PointIndex(Generic[K]):
    """Keyed points (meters, stations, units), for nearest, box and radius look-ups."""

    def __init__(self, points: Iterable[tuple[K, LonLat]]) -> None:
        pairs = list(points)
        self._keys = [key for key, _ in pairs]
        self._lons: FloatArray = np.array([p.lon for _, p in pairs], dtype=np.float64)
        self._lats: FloatArray = np.array([p.lat for _, p in pairs], dtype=np.float64)
        self._plane = Plane(self._lons, self._lats)
        xs, ys = self._plane.project(self._lons, self._lats)
        self._tree = STRtree(shapely.points(xs, ys))
        min_x, min_y, max_x, max_y = self._plane.bounds
        # The typical spacing of the points, for a first guess at how far k of them reach.
        self._spacing_m = math.sqrt((max_x - min_x) * (max_y - min_y) / max(len(pairs), 1))
        self._lons_rad, self._lats_rad = np.radians(self._lons), np.radians(self._lats)
        self._cos_lats = np.cos(self._lats_rad)
        self._cells: NearestByCells | None = None  # built at the first one-nearest look-up

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> Sequence[K]:
        """The keys in the order the points were given: what positions refer to."""
        return self._keys

    def nearest(
        self,
        point: LonLat,
        k: int = 1,
        *,
        max_distance_m: float | None = None,
        where: Callable[[K], bool] | None = None,
    ) -> list[tuple[K, float]]:
        """Up to k (key, metres) pairs, nearest first; ties keep the order points were given.

        `where` keeps only the keys it accepts, and the search goes on past the ones it
        refuses, so k results come back whenever k such points exist (within the limit).
        """
        small = 0 < len(self._keys) <= _ALL_AT_ONCE
        if k == 1 and max_distance_m is None and where is None and small:
            found = self._nearest_by_cells(point)
            if found is not None:
                return [found]
        keep: Keep | None = None
        if where is not None:
            accepted: dict[int, bool] = {}
            keys = self._keys

            def keep(candidates: IndexArray) -> BoolArray:
                for i in candidates.tolist():
                    if i not in accepted:
                        accepted[i] = where(keys[i])
                return np.array([accepted[i] for i in candidates.tolist()], dtype=np.bool_)

        items, distances = self.nearest_positions(
            point, k, max_distance_m=max_distance_m, keep=keep
        )
        return [(self._keys[i], d) for i, d in zip(items.tolist(), distances.tolist(), strict=True)]

    def _nearest_by_cells(self, point: LonLat) -> tuple[K, float] | None:
        """The one nearest of a small set (the closest metro station to where a citizen
        searches) from a few distances in a grid cell (decision 0022); None off the grid."""
        if self._cells is None:
            self._cells = NearestByCells(self._lons, self._lats)
        found = self._cells.nearest(point)
        if found is None:
            return None
        position, metres = found
        return self._keys[position], metres

    def nearest_positions(
        self,
        point: LonLat,
        k: int = 1,
        *,
        max_distance_m: float | None = None,
        keep: Keep | None = None,
    ) -> tuple[IndexArray, FloatArray]:
        """`nearest` as arrays: positions in the order the points were given, and metres.

        `keep` filters candidates a batch at a time (positions in, a boolean for each out),
        so a caller holding its filters in arrays pays no Python call per point.
        """
        check_nearest(k, max_distance_m)
        if not self._keys:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)

        if len(self._keys) <= _ALL_AT_ONCE:
            return self._all_at_once(point, k, max_distance_m, keep)

        def evaluate(candidates: IndexArray) -> tuple[IndexArray, FloatArray]:
            if keep is not None and len(candidates):
                candidates = candidates[keep(candidates)]
            return candidates, self._distances(point, candidates)

        return search_nearest(
            self._plane, self._tree, point, k, max_distance_m, evaluate, self._spacing_m
        )

    def _all_at_once(
        self, point: LonLat, k: int, max_distance_m: float | None, keep: Keep | None
    ) -> tuple[IndexArray, FloatArray]:
        """`nearest_positions` over a small index: every point measured, then what `_search`
        returns when its box holds them all (the same positions and metres)."""
        items: IndexArray = np.arange(len(self._keys), dtype=np.intp)
        if keep is not None:
            items = items[keep(items)]
            distances = self._distances(point, items)
        else:
            distances = haversine_radians(point, self._lons_rad, self._lats_rad, self._cos_lats)
        if max_distance_m is not None:
            inside = distances <= max_distance_m
            items, distances = items[inside], distances[inside]
        if k == 1 and len(items):
            # The first of equal minima, so the lowest position, as the sort below would.
            i = int(np.argmin(distances))
            return items[i : i + 1], distances[i : i + 1]
        order = np.lexsort((items, distances))[:k]
        return items[order], distances[order]

    def within_radius(self, point: LonLat, radius_m: float) -> list[tuple[K, float]]:
        """Every (key, metres) within `radius_m` of the point, nearest first."""
        if radius_m < 0:
            raise ValueError("radius_m cannot be negative")
        if not self._keys:
            return []
        x, y = self._plane.project_one(point)
        r = self._plane.box_for(radius_m, self._plane.lat_factor(point.lat))
        if r >= self._plane.reach_all(x, y):
            candidates: IndexArray = np.arange(len(self), dtype=np.intp)
        else:
            candidates = self._tree.query(shapely.box(x - r, y - r, x + r, y + r))
        distances = self._distances(point, candidates)
        inside = distances <= radius_m
        candidates, distances = candidates[inside], distances[inside]
        order = np.lexsort((candidates, distances))
        return [
            (self._keys[i], d)
            for i, d in zip(candidates[order].tolist(), distances[order].tolist(), strict=True)
        ]

    def _distances(self, point: LonLat, candidates: IndexArray) -> FloatArray:
        return haversine_radians(
            point,
            self._lons_rad[candidates],
            self._lats_rad[candidates],
            self._cos_lats[candidates],
        )

    def within_bbox(
        self, min_lon: float, min_lat: float, max_lon: float, max_lat: float
    ) -> list[K]:
        """The keys of the points inside the box, edges included, in the order given."""
        if min_lon > max_lon or min_lat > max_lat:
            raise ValueError("a box's minimum cannot exceed its maximum")
        if not self._keys:
            return []
        plane = self._plane
        min_x, min_y = plane.project_one(LonLat(min_lon, min_lat))
        max_x, max_y = plane.project_one(LonLat(max_lon, max_lat))
        margin = 1e-3  # metres: the plane may round a point on the edge just outside
        candidates = self._tree.query(
            shapely.box(min_x - margin, min_y - margin, max_x + margin, max_y + margin)
        )
        lons, lats = self._lons[candidates], self._lats[candidates]
        inside = (lons >= min_lon) & (lons <= max_lon) & (lats >= min_lat) & (lats <= max_lat)
        return [self._keys[i] for i in np.sort(candidates[inside]).tolist()]
