"""Parking geography: municipal districts and metro stations, and the rules for their shapes.

Pure: shapely does the geometry (a computation library, not a framework); nothing here
reads files, touches the database or asks the clock.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import affinity
from shapely.errors import ShapelyError
from shapely.geometry import MultiPoint, Point, shape
from shapely.geometry.base import BaseGeometry

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import normalise, persian_digits

# Tehran's municipal districts (مناطق ۲۲گانه); a file naming any other number is refused.
TEHRAN_DISTRICT_COUNT = 22

# Around the outermost centroids; 3 km covers about nine tenths of the city's area without
# reaching far into the desert and the Alborz (checked against hand-digitised polygons).
DEMO_MARGIN_KM = 3.0
KM_PER_DEGREE_LAT = 111.32
# Stored coordinates keep 5 decimals (about 1 m): plenty for district edges.
COORDINATE_GRID = 1e-5

DISTRICT_NUMBER_PROPERTIES = ("district", "number", "district_no")
_DISTRICT_IN_NAME = re.compile(r"منطقه\s*(\d+)")


class GeoFileError(DomainError):
    """A geography file cannot be used; nothing was changed."""


@dataclass(frozen=True)
class DistrictCentroid:
    """A point inside a district, with its Persian name, as the demo city starts from."""

    number: int
    name_fa: str
    lon: float
    lat: float


@dataclass(frozen=True)
class DistrictShape:
    """A district's outline: a GeoJSON Polygon or MultiPolygon in [lon, lat] order."""

    number: int
    geometry: dict[str, Any]
    label_lon: float
    label_lat: float
    name_fa: str | None = None


@dataclass(frozen=True)
class District:
    """A municipal district (منطقه), the first level of Tehran's parking zones."""

    number: int
    name_fa: str
    name_en: str
    geometry: dict[str, Any]
    centroid_lon: float
    centroid_lat: float
    approximate: bool
    source: str


@dataclass(frozen=True)
class MetroStation:
    """A metro station; interchange stations are one station with several lines."""

    name_fa: str
    name_en: str
    lines: tuple[int, ...]
    lon: float
    lat: float


def district_name_fa(number: int) -> str:
    """«منطقه ۷»: the district's Persian name as pages show it."""
    return f"منطقه {persian_digits(str(number))}"


def district_name_en(number: int) -> str:
    return f"District {number}"


def district_from_shape(shape_: DistrictShape, *, approximate: bool, source: str) -> District:
    return District(
        number=shape_.number,
        name_fa=persian_digits(shape_.name_fa)
        if shape_.name_fa
        else district_name_fa(shape_.number),
        name_en=district_name_en(shape_.number),
        geometry=shape_.geometry,
        centroid_lon=shape_.label_lon,
        centroid_lat=shape_.label_lat,
        approximate=approximate,
        source=source,
    )


def approximate_district_shapes(
    centroids: Sequence[DistrictCentroid], *, margin_km: float = DEMO_MARGIN_KM
) -> list[DistrictShape]:
    """Voronoi cells around the centroids, clipped to their hull widened by `margin_km`.

    The cells are drawn in a local equirectangular projection, so a degree of longitude
    counts for its true width at Tehran's latitude; each centroid lies inside its cell.
    """
    if len(centroids) < 2:
        raise ValueError("approximate districts need at least two centroids")
    mean_lat = sum(c.lat for c in centroids) / len(centroids)
    x_scale = math.cos(math.radians(mean_lat))
    points = MultiPoint([(c.lon * x_scale, c.lat) for c in centroids])
    envelope = points.convex_hull.buffer(margin_km / KM_PER_DEGREE_LAT, quad_segs=4)
    cells = shapely.voronoi_polygons(points, extend_to=envelope)
    shapes = []
    for centroid in centroids:
        site = Point(centroid.lon * x_scale, centroid.lat)
        cell = next(cell for cell in cells.geoms if cell.contains(site))
        clipped = affinity.scale(
            cell.intersection(envelope), xfact=1 / x_scale, yfact=1, origin=(0, 0)
        )
        shapes.append(
            DistrictShape(
                number=centroid.number,
                geometry=_geojson(clipped),
                label_lon=centroid.lon,
                label_lat=centroid.lat,
                name_fa=centroid.name_fa,
            )
        )
    return shapes


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    snapped = shapely.set_precision(geometry, COORDINATE_GRID)
    result: dict[str, Any] = json.loads(shapely.to_geojson(snapped))
    return result


def _label_point(geometry: BaseGeometry) -> tuple[float, float]:
    """The centroid when it falls inside (it may not, for a crescent), else a point inside."""
    point = geometry.centroid
    if not geometry.contains(point):
        point = geometry.representative_point()
    return round(point.x, 5), round(point.y, 5)


def district_number_of(properties: object) -> int | None:
    """The district number a feature names: `district`, `number`, `district_no` or «منطقه ۱»."""
    if not isinstance(properties, dict):
        return None
    for key in DISTRICT_NUMBER_PROPERTIES:
        number = _whole_number(properties.get(key))
        if number is not None:
            return number
    name = properties.get("name_fa")
    if isinstance(name, str):
        found = _DISTRICT_IN_NAME.search(normalise(name))
        if found:
            return int(found.group(1))
    return None


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = normalise(value)
        if text.isascii() and text.isdigit():
            return int(text)
    return None


def parse_district_shapes(
    text: str | bytes, *, district_count: int = TEHRAN_DISTRICT_COUNT
) -> list[DistrictShape]:
    """Read a GeoJSON FeatureCollection of district polygons; refuse it whole if any is wrong."""
    try:
        document = json.loads(text)
    except UnicodeDecodeError as error:
        raise GeoFileError("The file is not GeoJSON: it is not UTF-8 text.") from error
    except json.JSONDecodeError as error:
        raise GeoFileError(
            "The file is not GeoJSON: it is not valid JSON (line {line}, column {column}).",
            line=error.lineno,
            column=error.colno,
        ) from error
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise GeoFileError("The file is not a GeoJSON FeatureCollection.")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise GeoFileError("The file has no features.")
    shapes: list[DistrictShape] = []
    seen: set[int] = set()
    for index, feature in enumerate(features, start=1):
        shapes.append(_district_shape(feature, index, district_count))
        if shapes[-1].number in seen:
            raise GeoFileError(
                "District {number} appears more than once in the file.", number=shapes[-1].number
            )
        seen.add(shapes[-1].number)
    return shapes


def _district_shape(feature: object, index: int, district_count: int) -> DistrictShape:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise GeoFileError("Feature {index} is not a GeoJSON Feature.", index=index)
    properties = feature.get("properties")
    number = district_number_of(properties)
    if number is None:
        raise GeoFileError(
            "Feature {index} has no district number: give it a property district, number,"
            " district_no, or a name_fa such as «منطقه 1».",
            index=index,
        )
    if not 1 <= number <= district_count:
        raise GeoFileError(
            "Feature {index} names district {number}; districts are numbered 1 to {count}.",
            index=index,
            number=number,
            count=district_count,
        )
    raw = feature.get("geometry")
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeoFileError(
            "District {number} has no Polygon or MultiPolygon geometry.", number=number
        )
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError, ShapelyError) as error:
        raise GeoFileError(
            "The geometry of district {number} cannot be read: {reason}.",
            number=number,
            reason=str(error) or type(error).__name__,
        ) from error
    if geometry.is_empty:
        raise GeoFileError("The geometry of district {number} is empty.", number=number)
    if not _in_lon_lat_range(geometry):
        raise GeoFileError(
            "The coordinates of district {number} are not longitude and latitude (WGS84).",
            number=number,
        )
    if not geometry.is_valid:
        raise GeoFileError(
            "The geometry of district {number} is not valid: {reason}.",
            number=number,
            reason=shapely.is_valid_reason(geometry),
        )
    lon, lat = _label_point(geometry)
    # A district number was found, so the properties are an object.
    name = properties.get("name_fa") if isinstance(properties, dict) else None
    return DistrictShape(
        number=number,
        geometry=json.loads(shapely.to_geojson(geometry)),
        label_lon=lon,
        label_lat=lat,
        name_fa=normalise(name) if isinstance(name, str) and name.strip() else None,
    )


def _in_lon_lat_range(geometry: BaseGeometry) -> bool:
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    finite = all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat))
    return finite and -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90


def parse_metro_stations(document: object) -> list[MetroStation]:
    """Read metro stations from a GeoJSON FeatureCollection of Points (name_fa, name_en, lines)."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise GeoFileError("The file is not a GeoJSON FeatureCollection.")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise GeoFileError("The file has no features.")
    return [_metro_station(feature, index) for index, feature in enumerate(features, start=1)]


def _metro_station(feature: object, index: int) -> MetroStation:
    if not isinstance(feature, dict):
        raise GeoFileError("Feature {index} is not a GeoJSON Feature.", index=index)
    properties = feature.get("properties")
    geometry = feature.get("geometry")
    if not isinstance(properties, dict) or not isinstance(geometry, dict):
        raise GeoFileError("Feature {index} is not a GeoJSON Feature.", index=index)
    coordinates = geometry.get("coordinates")
    name_en = properties.get("name_en")
    name_fa = properties.get("name_fa")
    lines = properties.get("lines")
    line_numbers = [_whole_number(line) for line in lines] if isinstance(lines, list) else []
    if (
        geometry.get("type") != "Point"
        or not isinstance(coordinates, list)
        or len(coordinates) < 2
        or not all(isinstance(v, int | float) for v in coordinates[:2])
        or not isinstance(name_en, str)
        or not name_en.strip()
        or not isinstance(name_fa, str)
        or not line_numbers
        or None in line_numbers
    ):
        raise GeoFileError(
            "Feature {index} is not a metro station: it needs a Point, name_fa, name_en and lines.",
            index=index,
        )
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeoFileError(
            "Feature {index} has coordinates that are not longitude and latitude (WGS84).",
            index=index,
        )
    return MetroStation(
        name_fa=normalise(name_fa),
        name_en=" ".join(name_en.split()),
        lines=_sorted_lines(line for line in line_numbers if line is not None),
        lon=lon,
        lat=lat,
    )


def _sorted_lines(lines: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(lines)))
