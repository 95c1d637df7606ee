"""SUMO's plane (metres east and north) onto WGS84 around an origin in Tehran, and back.

A twin network spans a few kilometres, so a local plane tangent at the origin, scaled by
the WGS84 ellipsoid's radii of curvature there, is within a metre of a transverse Mercator
projection centred on the origin; the net file names that projection (`proj_parameter`),
so SUMO's own tools and netedit place the network where the platform does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WGS84_A = 6_378_137.0
WGS84_E2 = 6.694379990141317e-3


@dataclass(frozen=True)
class LocalProjection:
    """Plane coordinates in metres from (origin_lon, origin_lat), x east and y north."""

    origin_lon: float
    origin_lat: float

    @property
    def _metres_per_radian(self) -> tuple[float, float]:
        phi = math.radians(self.origin_lat)
        w = 1.0 - WGS84_E2 * math.sin(phi) ** 2
        prime_vertical = WGS84_A / math.sqrt(w)
        meridional = WGS84_A * (1.0 - WGS84_E2) / w**1.5
        return prime_vertical * math.cos(phi), meridional

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        east, north = self._metres_per_radian
        return (
            round(self.origin_lon + math.degrees(x / east), 7),
            round(self.origin_lat + math.degrees(y / north), 7),
        )

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        east, north = self._metres_per_radian
        return (
            math.radians(lon - self.origin_lon) * east,
            math.radians(lat - self.origin_lat) * north,
        )

    @property
    def proj_parameter(self) -> str:
        """The PROJ string of the equivalent transverse Mercator, for the net file."""
        return (
            f"+proj=tmerc +lat_0={self.origin_lat} +lon_0={self.origin_lon} +k=1"
            " +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
        )
