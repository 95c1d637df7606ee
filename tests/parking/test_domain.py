"""Districts drawn for the demo, district numbers read from files, and files refused whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from shahr.parking.domain import (
    GeoFileError,
    approximate_district_shapes,
    district_from_shape,
    district_number_of,
    parse_district_shapes,
    parse_metro_stations,
)

from .geodata import OFFICIAL_DISTRICTS, TEHRAN_CITY, centroids, inside, metro_stations, positions

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[51.40, 35.70], [51.41, 35.70], [51.41, 35.71], [51.40, 35.71], [51.40, 35.70]]
    ],
}


def collection(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def feature(properties: dict[str, Any], geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry or SQUARE}


def test_each_centroid_falls_in_its_own_demo_polygon() -> None:
    shapes = approximate_district_shapes(centroids())
    assert len(shapes) == 22
    for centroid, drawn in zip(centroids(), shapes, strict=True):
        polygon = shape(drawn.geometry)
        assert polygon.is_valid
        assert polygon.contains(Point(centroid.lon, centroid.lat)), centroid.number
        others = [c for c in centroids() if c.number != centroid.number]
        assert not any(polygon.contains(Point(c.lon, c.lat)) for c in others)


def test_demo_polygons_tile_the_city_without_overlapping() -> None:
    drawn = approximate_district_shapes(centroids())
    polygons = [shape(s.geometry) for s in drawn]
    # Snapping to a 1 m grid may leave slivers; anything more would be an overlap.
    assert unary_union(polygons).area == pytest.approx(sum(p.area for p in polygons), rel=1e-4)
    assert all(inside(position, TEHRAN_CITY) for s in drawn for position in positions(s.geometry))


def test_demo_districts_are_named_in_persian_with_persian_digits() -> None:
    first = approximate_district_shapes(centroids())[0]
    district = district_from_shape(first, approximate=True, source="demo")
    assert (district.name_fa, district.name_en) == ("منطقه ۱", "District 1")
    assert district.approximate


@pytest.mark.parametrize(
    ("properties", "number"),
    [
        ({"district": 7}, 7),
        ({"district": 7.0}, 7),
        ({"number": "12"}, 12),
        ({"district_no": "۱۴"}, 14),
        ({"name_fa": "منطقه 1"}, 1),
        ({"name_fa": "منطقه ۲۲"}, 22),
        ({"name_fa": "شهرداری منطقه٣"}, 3),
        ({"name_fa": "تجریش"}, None),
        ({"district": True}, None),
        ({}, None),
        (None, None),
    ],
)
def test_a_district_number_is_read_from_any_of_the_accepted_properties(
    properties: object, number: int | None
) -> None:
    assert district_number_of(properties) == number


def test_the_official_district_file_gives_22_valid_polygons_with_a_point_inside_each() -> None:
    shapes = parse_district_shapes(OFFICIAL_DISTRICTS.read_text(encoding="utf-8"))
    assert sorted(s.number for s in shapes) == list(range(1, 23))
    for drawn in shapes:
        assert shape(drawn.geometry).contains(Point(drawn.label_lon, drawn.label_lat))


BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[51.40, 35.70], [51.41, 35.71], [51.41, 35.70], [51.40, 35.71], [51.40, 35.70]]
    ],
}
LAT_LON_SWAPPED_FAR = {
    "type": "Polygon",
    "coordinates": [[[351.4, 35.7], [351.5, 35.7], [351.5, 35.8], [351.4, 35.7]]],
}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("district,lon,lat\n1,51.4,35.7\n", "not valid JSON", id="csv"),
        pytest.param(b"\xff\xfe\x00garbage", "GeoJSON", id="binary"),
        pytest.param(json.dumps(SQUARE), "not a GeoJSON FeatureCollection", id="bare-geometry"),
        pytest.param(collection(), "no features", id="empty"),
        pytest.param(collection(feature({"name": "x"})), "no district number", id="no-number"),
        pytest.param(collection(feature({"district": 23})), "numbered 1 to 22", id="23"),
        pytest.param(collection(feature({"district": 0})), "numbered 1 to 22", id="0"),
        pytest.param(
            collection(feature({"district": 2}), feature({"number": 2})),
            "District 2 appears more than once",
            id="duplicate",
        ),
        pytest.param(
            collection(feature({"district": 3}, {"type": "Point", "coordinates": [51.4, 35.7]})),
            "no Polygon or MultiPolygon",
            id="point",
        ),
        pytest.param(
            collection(feature({"district": 4}, {"type": "Polygon", "coordinates": [[[1, 2]]]})),
            "district 4 cannot be read",
            id="short-ring",
        ),
        pytest.param(
            collection(feature({"district": 5}, BOWTIE)), "district 5 is not valid", id="bowtie"
        ),
        pytest.param(
            collection(feature({"district": 6}, LAT_LON_SWAPPED_FAR)),
            "not longitude and latitude",
            id="not-wgs84",
        ),
        pytest.param(
            collection(feature({"district": 1}), {"type": "Feature"}), "Feature 2", id="second-bad"
        ),
    ],
)
def test_a_bad_area_file_is_refused_with_a_clear_error(text: str | bytes, says: str) -> None:
    with pytest.raises(GeoFileError, match=says):
        parse_district_shapes(text)


def test_the_metro_file_lists_interchange_stations_once_with_all_their_lines() -> None:
    stations = metro_stations()
    assert len(stations) == len({s.name_en for s in stations}) == 150
    interchanges = {s.name_en: s.lines for s in stations if len(s.lines) > 1}
    assert len(interchanges) == 18
    assert interchanges["Imam Khomeini"] == (1, 2)


def test_a_metro_feature_without_lines_is_refused() -> None:
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [51.4, 35.7]},
                "properties": {"name_en": "Somewhere", "name_fa": "جایی", "lines": []},
            }
        ],
    }
    with pytest.raises(GeoFileError, match="Feature 1 is not a metro station"):
        parse_metro_stations(document)
