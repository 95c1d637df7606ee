"""Places on the map: WGS84 points, distances in metres, and indexes for city-scale look-ups.

Coordinates are GeoJSON's: longitude first. Point and line indexes search in a local plane
and answer with exact haversine distances (`plane`). Not for data or queries that straddle
the antimeridian or reach the poles.
"""

from shahr.kernel.geo.areas import AreaIndex, polygon_contains
from shahr.kernel.geo.lines import LineIndex
from shahr.kernel.geo.points import PointIndex
from shahr.kernel.geo.sphere import (
    EARTH_RADIUS_M,
    BoolArray,
    FloatArray,
    IndexArray,
    LonLat,
    haversine_m,
)

__all__ = [
    "EARTH_RADIUS_M",
    "AreaIndex",
    "BoolArray",
    "FloatArray",
    "IndexArray",
    "LineIndex",
    "LonLat",
    "PointIndex",
    "haversine_m",
    "polygon_contains",
]
