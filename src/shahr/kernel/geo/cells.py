"""The one nearest of a small set of points by a grid of cells: a few distances, not all.

Kept for the closest metro station that every parking search names (decision 0022).
"""

from __future__ import annotations

import math

import numpy as np

from shahr.kernel.geo.sphere import EARTH_RADIUS_M, FloatArray, LonLat, haversine_m


class NearestByCells:
    """For a small set of points: per cell of a grid over them, the only points that can
    be the nearest to somewhere in the cell, so the nearest is a few distances away.

    A point p in a cell is at most h (the cell's half-diagonal, measured on the sphere)
    from the cell's centre c, so by the triangle inequality d(p, s) lies within
    d(c, s) ± h for every point s. The nearest to p is then among the points with
    d(c, s) <= min d(c, ·) + 2h. Queries outside the grid answer None (the caller measures
    to every point). The candidates keep the order the points were given, and distances
    are `haversine_m`'s, so the answer and its ties are the full search's.
    """

    # Cells per point, about: more cells, fewer candidates per cell, more memory.
    _CELLS_PER_POINT = 16
    # Grid cells beyond the points' bounding box on each side.
    _MARGIN_CELLS = 2

    def __init__(self, lons: FloatArray, lats: FloatArray) -> None:
        count = len(lons)  # at least one
        lon_min, lon_max = float(lons.min()), float(lons.max())
        lat_min, lat_max = float(lats.min()), float(lats.max())
        # Square-ish cells on the ground (a degree of longitude is cos(lat) of one of
        # latitude), about `_CELLS_PER_POINT` per point; never more than that many along
        # either side, however thin the points' box is.
        cos_mid = max(math.cos(math.radians((lat_min + lat_max) / 2)), 0.05)
        wide, high = max((lon_max - lon_min) * cos_mid, 1e-6), max(lat_max - lat_min, 1e-6)
        cells = count * self._CELLS_PER_POINT
        self.dlat = max(math.sqrt(wide * high / cells), wide / cells, high / cells)
        self.dlon = self.dlat / cos_mid
        self.lon0 = lon_min - self._MARGIN_CELLS * self.dlon
        self.lat0 = lat_min - self._MARGIN_CELLS * self.dlat
        self.columns = int((lon_max - lon_min) / self.dlon) + 2 * self._MARGIN_CELLS + 1
        self.rows = int((lat_max - lat_min) / self.dlat) + 2 * self._MARGIN_CELLS + 1
        self.points = [
            (math.radians(lon), math.radians(lat), math.cos(math.radians(lat)))
            for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True)
        ]
        self.candidates: list[list[int]] = []
        for row in range(self.rows):
            self.candidates.extend(self._candidates_in_row(row, lons, lats))

    def _candidates_in_row(self, row: int, lons: FloatArray, lats: FloatArray) -> list[list[int]]:
        """Each cell's candidates along one row of the grid (one latitude band)."""
        south = self.lat0 + row * self.dlat
        centre_lat = south + self.dlat / 2
        # The farthest a point of a cell can be from its centre: a corner on the side
        # nearer the equator, where a degree of longitude is widest; with slack.
        half_diagonal = max(
            haversine_m(LonLat(0.0, centre_lat), LonLat(self.dlon / 2, lat))
            for lat in (south, south + self.dlat)
        )
        half_diagonal = half_diagonal * 1.01 + 1e-3
        # haversine from each cell's centre (rows) to every point (columns).
        lat_c = math.radians(centre_lat)
        points_lat = np.radians(lats)
        north_south = np.sin((points_lat - lat_c) / 2) ** 2
        cos_product = math.cos(lat_c) * np.cos(points_lat)
        points_lon = np.radians(lons)
        found: list[list[int]] = []
        # A block of cells at a time, so the matrix stays small (256 x at most 1,024).
        for first in range(0, self.columns, 256):
            columns = np.arange(first, min(first + 256, self.columns))
            centre_lons = np.radians(self.lon0 + (columns + 0.5) * self.dlon)
            east_west = np.sin((points_lon[None, :] - centre_lons[:, None]) / 2) ** 2
            s = np.minimum(1.0, north_south + cos_product * east_west)
            from_centres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(s))
            reach = from_centres.min(axis=1, keepdims=True) + 2 * half_diagonal
            found.extend(np.flatnonzero(near).tolist() for near in from_centres <= reach)
        return found

    def nearest(self, point: LonLat) -> tuple[int, float] | None:
        """The position of the nearest point and its distance in metres; None off the grid."""
        column = math.floor((point.lon - self.lon0) / self.dlon)
        row = math.floor((point.lat - self.lat0) / self.dlat)
        if not (0 <= column < self.columns and 0 <= row < self.rows):
            return None
        lon, lat = math.radians(point.lon), math.radians(point.lat)
        cos_lat = math.cos(lat)
        best, best_s = -1, math.inf
        for position in self.candidates[row * self.columns + column]:
            point_lon, point_lat, point_cos = self.points[position]
            # haversine_m's formula, kept to its half-angle term until the winner is known.
            s = (
                math.sin((point_lat - lat) / 2) ** 2
                + cos_lat * point_cos * math.sin((point_lon - lon) / 2) ** 2
            )
            if s < best_s:
                best, best_s = position, s
        if best < 0:
            return None
        return best, 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, best_s)))
