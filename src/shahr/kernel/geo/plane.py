"""The local plane indexes search in, and the widening search that stays exact in it.

Indexes search a shapely STRtree in a local equirectangular plane (metres east and north of
the data's centre, with longitude scaled by the cosine of the data's mean latitude). In raw
degrees, a degree of longitude in Tehran (35.7°N) is only 0.81 of a degree of latitude on
the ground, so "nearest" in degrees would favour points to the east and west; in the plane
the two agree to a fraction of a percent across the city. Results still carry exact
haversine distances, and the search widens until the plane's small distortion cannot
change the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from shapely import STRtree

from shahr.kernel.geo.sphere import EARTH_RADIUS_M, BoolArray, FloatArray, IndexArray, LonLat

# A point's distance to one search candidate: the item it belongs to, and metres.
Evaluate = Callable[[IndexArray], tuple[IndexArray, FloatArray]]
# Which of these candidate positions a search may return.
Keep = Callable[[IndexArray], BoolArray]

# Floating-point slack on the bound that says which results are certain.
_SAFETY = 1.0 - 1e-9


class Plane:
    """The local equirectangular plane of one data set, and how far to trust it.

    A search box of half-width `r` in the plane holds every item whose true distance is at
    most `sure_m(r)`: the haversine distance is never less than the plane's distance times
    min(1, cos(highest latitude involved) / cos(mean latitude)), shrunk by 2·sin(θ/2)/θ for
    the sphere's curvature over the box's angular size θ. That bound is what lets a search
    stop early yet be exact.
    """

    def __init__(self, lons: FloatArray, lats: FloatArray) -> None:
        if len(lons):
            self.lon0, self.lat0 = float(lons.mean()), float(lats.mean())
            self.lat_min, self.lat_max = float(lats.min()), float(lats.max())
        else:
            self.lon0 = self.lat0 = self.lat_min = self.lat_max = 0.0
        self.x_per_degree = math.radians(EARTH_RADIUS_M) * self.cos0
        self.y_per_degree = math.radians(EARTH_RADIUS_M)
        xs, ys = self.project(lons, lats)
        self.bounds = (
            (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
            if len(xs)
            else (0.0, 0.0, 0.0, 0.0)
        )

    @property
    def cos0(self) -> float:
        return max(math.cos(math.radians(self.lat0)), 1e-6)

    def project(self, lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
        return (lons - self.lon0) * self.x_per_degree, (lats - self.lat0) * self.y_per_degree

    def project_one(self, point: LonLat) -> tuple[float, float]:
        return (
            (point.lon - self.lon0) * self.x_per_degree,
            (point.lat - self.lat0) * self.y_per_degree,
        )

    def lat_factor(self, lat: float) -> float:
        """min(1, cos φ / cos φ0) over the latitudes of the data and the query point."""
        highest = max(abs(min(self.lat_min, lat)), abs(max(self.lat_max, lat)))
        return min(1.0, max(math.cos(math.radians(highest)), 0.0) / self.cos0)

    def sure_m(self, r: float, lat_factor: float) -> float:
        """Every item within this true distance lies inside a search box of half-width r."""
        theta = r / (EARTH_RADIUS_M * self.cos0)
        if theta <= math.pi:
            plane_m = 2 * math.sin(theta / 2) * EARTH_RADIUS_M * self.cos0
        else:
            plane_m = r * 2 / math.pi
        return plane_m * lat_factor * _SAFETY

    def box_for(self, distance_m: float, lat_factor: float) -> float:
        """The smallest half-width r whose `sure_m` covers `distance_m`."""
        if lat_factor <= 0.0:
            return math.inf
        target = distance_m / (lat_factor * _SAFETY)
        scale = EARTH_RADIUS_M * self.cos0
        if target <= 2 * scale:
            r = 2 * math.asin(target / (2 * scale)) * scale
        else:
            r = target * math.pi / 2
        return r * (1 + 1e-9) + 1e-6

    def reach_all(self, x: float, y: float) -> float:
        """The half-width of a box around (x, y) that holds every item."""
        min_x, min_y, max_x, max_y = self.bounds
        return max(abs(x - min_x), abs(x - max_x), abs(y - min_y), abs(y - max_y))


def check_nearest(k: int, max_distance_m: float | None) -> None:
    if k < 1:
        raise ValueError("k must be at least 1")
    if max_distance_m is not None and max_distance_m < 0:
        raise ValueError("max_distance_m cannot be negative")


def search_nearest(
    plane: Plane,
    tree: STRtree,
    point: LonLat,
    k: int,
    max_distance_m: float | None,
    evaluate: Evaluate,
    spacing_m: float,
) -> tuple[IndexArray, FloatArray]:
    """The k nearest items as (item indices, metres), widening the box until certain.

    The first box is as wide as k items take where the data is evenly spread; if that is
    not enough, the tree's nearest geometry says how far the data is, and then the box
    doubles until the k-th distance is within what the box makes certain.
    """
    x, y = plane.project_one(point)
    lat_factor = plane.lat_factor(point.lat)
    reach_all = plane.reach_all(x, y)
    r_max = math.inf if max_distance_m is None else plane.box_for(max_distance_m, lat_factor)
    r = min(max(spacing_m * math.sqrt(k / math.pi) * 1.5, 1.0), r_max)
    jumped = False
    while True:
        complete = r >= reach_all
        if complete:
            candidates: IndexArray = np.arange(len(tree.geometries), dtype=np.intp)
        else:
            candidates = tree.query(shapely.box(x - r, y - r, x + r, y + r))
        items, distances = evaluate(candidates)
        final = complete or r >= r_max
        if final:
            limit = math.inf if max_distance_m is None else max_distance_m
        else:
            limit = plane.sure_m(r, lat_factor)
        certain = distances <= limit
        if final or np.count_nonzero(certain) >= k:
            items, distances = items[certain], distances[certain]
            order = np.lexsort((items, distances))[:k]
            return items[order], distances[order]
        r *= 2
        if not jumped:
            jumped = True
            # Far from the data (or where it thins out), start from how far it is.
            _, planar = tree.query_nearest(shapely.Point(x, y), return_distance=True)
            r = min(max(r, float(planar[0]) * 1.1), r_max)
