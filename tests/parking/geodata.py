"""Paths to the shared data about Tehran that the parking tests read, and checks on GeoJSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "tehran"
OFFICIAL_DISTRICTS = SHARED_DATA / "districts" / "tehran_districts.geojson"

# Tehran and the metro's reach beyond the city (line 5 to Karaj, the airport line).
TEHRAN_REGION = (50.8, 35.3, 51.9, 36.1)
# The city itself: every district lies inside.
TEHRAN_CITY = (51.0, 35.5, 51.7, 35.9)


def positions(geometry: dict[str, Any]) -> list[list[float]]:
    """Every [lon, lat] position of a Point, Polygon or MultiPolygon."""
    coordinates = geometry["coordinates"]
    if geometry["type"] == "Point":
        return [coordinates]
    rings = coordinates if geometry["type"] == "Polygon" else [r for p in coordinates for r in p]
    return [position for ring in rings for position in ring]


def inside(position: list[float], box: tuple[float, float, float, float]) -> bool:
    min_lon, min_lat, max_lon, max_lat = box
    lon, lat = position[0], position[1]
    return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def is_feature_collection(body: dict[str, Any]) -> bool:
    """The RFC 7946 shape: a FeatureCollection whose features each have geometry and properties."""
    return body.get("type") == "FeatureCollection" and all(
        f.get("type") == "Feature" and "geometry" in f and isinstance(f.get("properties"), dict)
        for f in body.get("features", [])
    )
