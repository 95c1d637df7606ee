"""Keyed GeoJSON areas (districts, zones): which one holds a point."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import shape

from shahr.kernel.geo.sphere import LonLat

K = TypeVar("K")


def _area(geometry: Mapping[str, Any]) -> Any:
    """A shapely polygon from a GeoJSON Polygon or MultiPolygon geometry."""
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"expected a GeoJSON Polygon or MultiPolygon geometry, not {kind!r}")
    return shape(geometry)


def polygon_contains(geojson_geometry: Mapping[str, Any], point: LonLat) -> bool:
    """Whether a GeoJSON Polygon or MultiPolygon holds the point, its edge included."""
    return bool(_area(geojson_geometry).covers(shapely.Point(point.lon, point.lat)))


class AreaIndex(Generic[K]):
    """Keyed GeoJSON areas (districts, zones), to say which one a point falls in.

    Containment needs no projection: a point is inside in degrees exactly when it is
    inside on the ground's plane, since the plane is a scaling of the degrees.
    """

    def __init__(self, areas: Iterable[tuple[K, Mapping[str, Any]]]) -> None:
        pairs = list(areas)
        self._keys = [key for key, _ in pairs]
        geometries = [_area(geometry) for _, geometry in pairs]
        shapely.prepare(geometries)
        self._tree = STRtree(geometries)

    def __len__(self) -> int:
        return len(self._keys)

    def locate(self, point: LonLat) -> K | None:
        """The area holding the point, or None; where areas overlap, the one given first."""
        found = self.locate_all(point)
        return found[0] if found else None

    def locate_all(self, point: LonLat) -> list[K]:
        """Every area holding the point (edges included), in the order given."""
        hits = self._tree.query(shapely.Point(point.lon, point.lat), predicate="covered_by")
        return [self._keys[i] for i in np.sort(hits).tolist()]
