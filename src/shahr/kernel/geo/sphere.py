"""WGS84 points and great-circle distances in metres, one at a time or over arrays."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG), which haversine assumes

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class LonLat:
    """A WGS84 point, longitude first as in GeoJSON."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"longitude {self.lon} is outside -180..180")
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"latitude {self.lat} is outside -90..90")


def haversine_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance in metres on a sphere of the Earth's mean radius."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    s = (
        math.sin((lat_b - lat_a) / 2) ** 2
        + math.cos(lat_a) * math.cos(lat_b) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, s)))


def haversine_from(point: LonLat, lons: FloatArray, lats: FloatArray) -> FloatArray:
    """`haversine_m` from one point to many, the same formula over arrays."""
    lats_rad = np.radians(lats)
    return haversine_radians(point, np.radians(lons), lats_rad, np.cos(lats_rad))


def haversine_radians(
    point: LonLat, lons_rad: FloatArray, lats_rad: FloatArray, cos_lats: FloatArray
) -> FloatArray:
    """`haversine_from` for coordinates already in radians, with their latitudes' cosines."""
    lat = math.radians(point.lat)
    s = (
        np.sin((lats_rad - lat) * 0.5) ** 2
        + math.cos(lat) * cos_lats * np.sin((lons_rad - math.radians(point.lon)) * 0.5) ** 2
    )
    distances: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, s)))
    return distances


def lon_lat_arrays(points: Sequence[LonLat]) -> tuple[FloatArray, FloatArray]:
    return (
        np.array([p.lon for p in points], dtype=np.float64),
        np.array([p.lat for p in points], dtype=np.float64),
    )
