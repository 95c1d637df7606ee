"""The shared data about Tehran that the parking tests read, and checks on GeoJSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from shahr.parking.domain import DistrictCentroid, MetroStation, parse_metro_stations

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


def official_features() -> list[dict[str, Any]]:
    """The features of the hand-digitised district polygons (tests only, not shipped)."""
    document = json.loads(OFFICIAL_DISTRICTS.read_text(encoding="utf-8"))
    features: list[dict[str, Any]] = document["features"]
    return features


def centroids() -> list[DistrictCentroid]:
    with (SHARED_DATA / "districts" / "district_centroids.csv").open(encoding="utf-8") as file:
        return [
            DistrictCentroid(
                number=int(row["district"]),
                name_fa=row["name_fa"],
                lon=float(row["lon"]),
                lat=float(row["lat"]),
            )
            for row in csv.DictReader(file)
        ]


def metro_stations() -> list[MetroStation]:
    path = SHARED_DATA / "metro" / "tehran_metro_stations.geojson"
    return parse_metro_stations(json.loads(path.read_text(encoding="utf-8")))
