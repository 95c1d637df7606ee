"""Geo: distances in metres, and point, line and area indexes checked against brute force."""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shahr.kernel.geo import (
    EARTH_RADIUS_M,
    AreaIndex,
    LineIndex,
    LonLat,
    PointIndex,
    haversine_m,
    polygon_contains,
)

SHARED_DATA = Path(
    os.environ.get("SHAHR_TEST_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared/data")
)
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
TAJRISH = LonLat(51.4336, 35.8045)
AZADI_TOWER = LonLat(51.3380, 35.6997)


def around_tehran(rng: random.Random) -> LonLat:
    return LonLat(51.10 + rng.random() * 0.60, 35.55 + rng.random() * 0.30)


def clustered(rng: random.Random) -> LonLat:
    """Two dense clusters and a thin spread, so searches must widen past empty ground."""
    centre = rng.choice([(51.20, 35.60), (51.60, 35.80)])
    if rng.random() < 0.05:
        return around_tehran(rng)
    return LonLat(centre[0] + rng.gauss(0, 0.01), centre[1] + rng.gauss(0, 0.01))


RNG = random.Random(35_700)
POINTS = [(f"p{i}", around_tehran(RNG)) for i in range(2_000)]
CLUSTERED = [(i, clustered(RNG)) for i in range(2_000)]
POINT_INDEX = PointIndex(POINTS)
CLUSTERED_INDEX = PointIndex(CLUSTERED)
# Small sets, as many as Tehran's metro stations: the one nearest comes from a grid of cells.
FEW = POINTS[:150]
FEW_CLUSTERED = CLUSTERED[:150]
FEW_INDEX = PointIndex(FEW)
FEW_CLUSTERED_INDEX = PointIndex(FEW_CLUSTERED)
# Along one street running east-west: a box with no height, so its cells are set by width.
ALONG_A_STREET = [(i, LonLat(51.20 + i * 0.003, 35.70)) for i in range(150)]
ALONG_A_STREET_INDEX = PointIndex(ALONG_A_STREET)

queries = st.builds(
    LonLat, lon=st.floats(50.8, 52.0), lat=st.floats(35.3, 36.1)
)  # the city and its surroundings
far_queries = st.builds(LonLat, lon=st.floats(-180, 180), lat=st.floats(-85, 85))


def brute_nearest(
    points: list[tuple[Any, LonLat]],
    point: LonLat,
    k: int,
    *,
    max_distance_m: float | None = None,
    where: Callable[[Any], bool] | None = None,
) -> list[tuple[Any, float]]:
    ranked = sorted(
        (haversine_m(point, location), order, key)
        for order, (key, location) in enumerate(points)
        if where is None or where(key)
    )
    return [
        (key, distance)
        for distance, _, key in ranked
        if max_distance_m is None or distance <= max_distance_m
    ][:k]


def assert_same_results(got: list[tuple[Any, float]], expected: list[tuple[Any, float]]) -> None:
    assert [key for key, _ in got] == [key for key, _ in expected]
    for (_, distance), (_, expected_distance) in zip(got, expected, strict=True):
        assert distance == pytest.approx(expected_distance, rel=1e-9, abs=1e-6)


# LonLat and haversine


@pytest.mark.parametrize(
    ("lon", "lat"), [(180.5, 0.0), (-180.5, 0.0), (0.0, 90.5), (0.0, -90.5), (math.nan, 0.0)]
)
def test_a_point_off_the_globe_is_refused(lon: float, lat: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        LonLat(lon, lat)


def test_the_edges_of_the_globe_are_valid_points() -> None:
    assert LonLat(-180, -90) != LonLat(180, 90)


def test_a_degree_of_latitude_is_about_111_km() -> None:
    assert haversine_m(LonLat(51.0, 35.0), LonLat(51.0, 36.0)) == pytest.approx(METRES_PER_DEGREE)
    assert round(METRES_PER_DEGREE) == 111_195


def test_a_degree_of_longitude_in_tehran_is_shorter_than_at_the_equator() -> None:
    in_tehran = haversine_m(LonLat(51.0, 35.7), LonLat(52.0, 35.7))

    assert in_tehran == pytest.approx(METRES_PER_DEGREE * math.cos(math.radians(35.7)), rel=1e-4)
    assert haversine_m(LonLat(0.0, 0.0), LonLat(1.0, 0.0)) == pytest.approx(METRES_PER_DEGREE)


def test_antipodes_are_half_the_earth_apart() -> None:
    assert haversine_m(LonLat(0, 0), LonLat(180, 0)) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(LonLat(0, 90), LonLat(0, -90)) == pytest.approx(math.pi * EARTH_RADIUS_M)


@given(far_queries, far_queries)
def test_distance_is_symmetric_and_zero_only_to_itself(a: LonLat, b: LonLat) -> None:
    assert haversine_m(a, b) == pytest.approx(haversine_m(b, a), abs=1e-6)
    assert haversine_m(a, a) == 0.0


# PointIndex


@given(queries, st.integers(1, 30))
def test_nearest_is_truly_nearest_by_haversine_around_tehran(point: LonLat, k: int) -> None:
    assert_same_results(POINT_INDEX.nearest(point, k), brute_nearest(POINTS, point, k))


@given(queries, st.integers(1, 30))
def test_nearest_is_truly_nearest_where_points_cluster(point: LonLat, k: int) -> None:
    assert_same_results(CLUSTERED_INDEX.nearest(point, k), brute_nearest(CLUSTERED, point, k))


@given(far_queries, st.integers(1, 5))
def test_nearest_is_right_from_anywhere_on_earth(point: LonLat, k: int) -> None:
    assert_same_results(POINT_INDEX.nearest(point, k), brute_nearest(POINTS, point, k))


@given(st.one_of(queries, far_queries))
def test_the_one_nearest_of_a_small_set_is_truly_nearest(point: LonLat) -> None:
    assert_same_results(FEW_INDEX.nearest(point), brute_nearest(FEW, point, 1))
    assert_same_results(FEW_CLUSTERED_INDEX.nearest(point), brute_nearest(FEW_CLUSTERED, point, 1))
    assert_same_results(
        ALONG_A_STREET_INDEX.nearest(point), brute_nearest(ALONG_A_STREET, point, 1)
    )


def test_the_one_nearest_of_a_small_set_is_right_all_over_a_fine_lattice() -> None:
    """Near the borders between two points' territories, where a cell's shortlist matters."""
    lons, lats = np.meshgrid(np.linspace(51.05, 51.75, 160), np.linspace(35.50, 35.90, 120))
    grid = np.column_stack([lons.ravel(), lats.ravel()])
    for points, index in (
        (FEW, FEW_INDEX),
        (FEW_CLUSTERED, FEW_CLUSTERED_INDEX),
        (ALONG_A_STREET, ALONG_A_STREET_INDEX),
    ):
        every = np.array([[spot.lon, spot.lat] for _, spot in points])
        lon1, lat1 = np.radians(grid[:, :1]), np.radians(grid[:, 1:])
        lon2, lat2 = np.radians(every[:, 0]), np.radians(every[:, 1])
        s = (
            np.sin((lat2 - lat1) / 2) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        )
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(s))
        expected = metres.argmin(axis=1)  # the first of equal minima
        for (lon, lat), position, distance in zip(
            grid.tolist(), expected.tolist(), metres.min(axis=1).tolist(), strict=True
        ):
            ((key, got),) = index.nearest(LonLat(lon, lat))
            assert key == points[position][0]
            assert got == pytest.approx(distance, rel=1e-9, abs=1e-6)


def test_the_one_nearest_of_equally_near_points_is_the_first_given() -> None:
    index = PointIndex([("far", AZADI_TOWER), ("second", TAJRISH), ("first", TAJRISH)])

    assert index.nearest(LonLat(TAJRISH.lon + 0.001, TAJRISH.lat)) == [
        ("second", pytest.approx(haversine_m(TAJRISH, LonLat(TAJRISH.lon + 0.001, TAJRISH.lat))))
    ]


@given(queries, st.integers(1, 10), st.integers(2, 50))
def test_nearest_with_a_filter_skips_refused_keys_and_still_finds_k(
    point: LonLat, k: int, modulus: int
) -> None:
    def accept(key: int) -> bool:
        return key % modulus == 0

    got = CLUSTERED_INDEX.nearest(point, k, where=accept)

    assert_same_results(got, brute_nearest(CLUSTERED, point, k, where=accept))
    assert len(got) == k


@given(queries, st.integers(1, 10), st.integers(2, 50))
def test_nearest_positions_with_an_array_filter_agree_with_brute_force(
    point: LonLat, k: int, modulus: int
) -> None:
    allowed = np.array([key % modulus == 0 for key, _ in CLUSTERED])

    items, distances = CLUSTERED_INDEX.nearest_positions(point, k, keep=lambda at: allowed[at])

    got = [(CLUSTERED[i][0], d) for i, d in zip(items.tolist(), distances.tolist(), strict=True)]
    assert_same_results(
        got, brute_nearest(CLUSTERED, point, k, where=lambda key: key % modulus == 0)
    )


@given(queries, st.integers(1, 20), st.floats(0, 5_000))
def test_nearest_stops_at_the_maximum_distance(point: LonLat, k: int, limit_m: float) -> None:
    got = POINT_INDEX.nearest(point, k, max_distance_m=limit_m)

    assert_same_results(got, brute_nearest(POINTS, point, k, max_distance_m=limit_m))


def test_nearest_is_measured_in_metres_not_degrees() -> None:
    # In Tehran 0.010° of longitude is 903 m but 0.0085° of latitude is 945 m: the point
    # that is farther in degrees is nearer on the ground.
    east = LonLat(AZADI_TOWER.lon + 0.010, AZADI_TOWER.lat)
    north = LonLat(AZADI_TOWER.lon, AZADI_TOWER.lat + 0.0085)
    index = PointIndex([("north", north), ("east", east)])

    (key, distance), _ = index.nearest(AZADI_TOWER, 2)

    assert key == "east"
    assert distance == pytest.approx(903, abs=1)


def test_the_filter_is_asked_about_each_key_at_most_once_per_query() -> None:
    asked: list[int] = []

    def accept(key: int) -> bool:
        asked.append(key)
        return key % 97 == 0

    CLUSTERED_INDEX.nearest(LonLat(51.40, 35.70), 5, where=accept)

    assert len(asked) == len(set(asked))


def test_nearest_returns_everything_when_k_exceeds_the_points() -> None:
    index = PointIndex([("a", TAJRISH), ("b", AZADI_TOWER)])

    assert [key for key, _ in index.nearest(AZADI_TOWER, 10)] == ["b", "a"]


def test_nearest_returns_nothing_when_no_point_is_accepted() -> None:
    assert POINT_INDEX.nearest(TAJRISH, 3, where=lambda _key: False) == []


def test_equally_near_points_keep_the_order_they_were_given() -> None:
    index = PointIndex([("second", TAJRISH), ("first", TAJRISH), ("far", AZADI_TOWER)])

    assert index.nearest(TAJRISH, 2) == [("second", 0.0), ("first", 0.0)]


def test_an_empty_index_finds_nothing() -> None:
    index: PointIndex[str] = PointIndex([])

    assert len(index) == 0
    assert index.nearest(TAJRISH, 3) == []
    assert index.within_radius(TAJRISH, 1_000) == []
    assert index.within_bbox(51, 35, 52, 36) == []


def test_an_index_of_one_point_finds_it() -> None:
    index = PointIndex([("only", TAJRISH)])

    ((key, distance),) = index.nearest(AZADI_TOWER)

    assert key == "only"
    assert distance == pytest.approx(haversine_m(AZADI_TOWER, TAJRISH), rel=1e-12)


@pytest.mark.parametrize(("k", "limit"), [(0, None), (-1, None), (1, -0.5)])
def test_nearest_refuses_a_meaningless_question(k: int, limit: float | None) -> None:
    with pytest.raises(ValueError, match=r"k must|negative"):
        POINT_INDEX.nearest(TAJRISH, k, max_distance_m=limit)


def test_an_index_knows_how_many_points_it_holds() -> None:
    assert len(POINT_INDEX) == len(POINTS)


@given(queries, st.floats(0, 4_000))
def test_within_radius_finds_exactly_the_points_in_the_circle_nearest_first(
    point: LonLat, radius_m: float
) -> None:
    expected = brute_nearest(POINTS, point, len(POINTS), max_distance_m=radius_m)

    assert_same_results(POINT_INDEX.within_radius(point, radius_m), expected)


def test_within_radius_zero_finds_only_points_exactly_there() -> None:
    index = PointIndex([("here", TAJRISH), ("near", LonLat(TAJRISH.lon, TAJRISH.lat + 1e-6))])

    assert index.within_radius(TAJRISH, 0) == [("here", 0.0)]


def test_within_radius_refuses_a_negative_radius() -> None:
    with pytest.raises(ValueError, match="negative"):
        POINT_INDEX.within_radius(TAJRISH, -1)


bounds = st.tuples(
    st.floats(51.0, 51.8), st.floats(35.5, 35.9), st.floats(0, 0.3), st.floats(0, 0.2)
)


@given(bounds)
def test_within_bbox_finds_exactly_the_points_in_the_box_in_the_order_given(
    box: tuple[float, float, float, float],
) -> None:
    min_lon, min_lat, width, height = box
    max_lon, max_lat = min_lon + width, min_lat + height
    expected = [
        key for key, p in POINTS if min_lon <= p.lon <= max_lon and min_lat <= p.lat <= max_lat
    ]

    assert POINT_INDEX.within_bbox(min_lon, min_lat, max_lon, max_lat) == expected


def test_within_bbox_includes_points_on_its_edges() -> None:
    corner = LonLat(51.4, 35.7)
    index = PointIndex([("corner", corner), ("inside", LonLat(51.45, 35.75))])

    assert index.within_bbox(51.4, 35.7, 51.5, 35.8) == ["corner", "inside"]


def test_within_bbox_refuses_a_box_whose_minimum_exceeds_its_maximum() -> None:
    with pytest.raises(ValueError, match="minimum"):
        POINT_INDEX.within_bbox(51.5, 35.7, 51.4, 35.8)


# LineIndex


def random_road(rng: random.Random) -> list[LonLat]:
    road = [around_tehran(rng)]
    for _ in range(rng.randint(1, 3)):
        last = road[-1]
        step = (rng.uniform(-0.004, 0.004), rng.uniform(-0.004, 0.004))
        road.append(LonLat(last.lon + step[0], last.lat + step[1]))
    return road


ROADS = [(f"road{i}", random_road(RNG)) for i in range(150)]
ROAD_INDEX = LineIndex(ROADS)
SAMPLE_SPACING_M = 0.25


def sampled(roads: list[tuple[str, list[LonLat]]]) -> tuple[Any, Any, Any]:
    """Points at most SAMPLE_SPACING_M apart along each road as drawn in lon/lat."""
    lons: list[Any] = []
    lats: list[Any] = []
    starts = []
    for _, line in roads:
        starts.append(sum(len(part) for part in lons))
        for a, b in itertools.pairwise(line):
            count = math.ceil(haversine_m(a, b) / SAMPLE_SPACING_M) + 1
            t = np.linspace(0.0, 1.0, count)
            lons.append(a.lon + t * (b.lon - a.lon))
            lats.append(a.lat + t * (b.lat - a.lat))
    return np.concatenate(lons), np.concatenate(lats), np.array(starts)


ROAD_SAMPLES = sampled(ROADS)


def brute_road_distances_m(point: LonLat) -> dict[str, float]:
    """Each road's distance: the nearest of its samples, by the haversine formula."""
    lons, lats, starts = ROAD_SAMPLES
    lat, lats_rad = math.radians(point.lat), np.radians(lats)
    s = (
        np.sin((lats_rad - lat) / 2) ** 2
        + math.cos(lat) * np.cos(lats_rad) * np.sin(np.radians(lons - point.lon) / 2) ** 2
    )
    distances = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(s))
    nearest = np.minimum.reduceat(distances, starts)
    return {key: float(d) for (key, _), d in zip(ROADS, nearest, strict=True)}


def test_the_distance_to_a_road_is_measured_square_to_it() -> None:
    road = [LonLat(51.38, 35.70), LonLat(51.40, 35.70)]
    index = LineIndex([("Enghelab", road)])

    ((key, distance),) = index.nearest(LonLat(51.39, 35.701))

    assert key == "Enghelab"
    assert distance == pytest.approx(METRES_PER_DEGREE * 0.001, rel=1e-4)


def test_beyond_the_end_of_a_road_the_distance_is_to_its_end() -> None:
    end = LonLat(51.40, 35.70)
    index = LineIndex([("Enghelab", [LonLat(51.38, 35.70), end])])
    point = LonLat(51.41, 35.705)

    ((key, distance),) = index.nearest(point)

    assert key == "Enghelab"
    assert distance == pytest.approx(haversine_m(point, end), rel=1e-9)


def test_a_point_on_a_road_is_zero_metres_from_it() -> None:
    index = LineIndex([("r", [LonLat(51.38, 35.70), LonLat(51.40, 35.72)])])

    ((key, distance),) = index.nearest(LonLat(51.39, 35.71))

    assert key == "r"
    assert distance == pytest.approx(0, abs=1e-6)


def test_a_road_of_many_segments_is_reported_once_at_its_nearest_segment() -> None:
    bend = [LonLat(51.38, 35.70), LonLat(51.39, 35.70), LonLat(51.39, 35.71)]
    index = LineIndex([("bend", bend), ("other", [LonLat(51.50, 35.80), LonLat(51.51, 35.80)])])

    found = index.nearest(LonLat(51.3905, 35.7050), k=2)

    assert [key for key, _ in found] == ["bend", "other"]
    assert found[0][1] == pytest.approx(
        0.0005 * METRES_PER_DEGREE * math.cos(math.radians(35.705)), rel=1e-3
    )


@settings(max_examples=40)  # each example measures to 600,000 samples
@given(queries, st.integers(1, 5))
def test_nearest_roads_match_brute_force_around_tehran(point: LonLat, k: int) -> None:
    expected = brute_road_distances_m(point)

    got = ROAD_INDEX.nearest(point, k)

    assert len(got) == k
    assert [d for _, d in got] == sorted(d for _, d in got)
    for key, distance in got:
        # The samples are 0.25 m apart, so the true distance is at most 0.125 m nearer; the
        # index may land a hair off the exact nearest point, a few parts per million.
        assert expected[key] - 0.13 <= distance <= expected[key] + 0.001 + 5e-6 * distance
    returned = {key for key, _ in got}
    assert all(d >= got[-1][1] - 0.13 for key, d in expected.items() if key not in returned)


def test_nearest_roads_honour_the_filter_and_the_limit() -> None:
    point = LonLat(51.40, 35.70)
    everything = ROAD_INDEX.nearest(point, len(ROADS))

    odd = ROAD_INDEX.nearest(point, 3, where=lambda key: int(key[4:]) % 2 == 1)
    close = ROAD_INDEX.nearest(point, len(ROADS), max_distance_m=everything[4][1])

    assert odd == [(key, d) for key, d in everything if int(key[4:]) % 2 == 1][:3]
    assert close == everything[:5]


def test_a_line_needs_two_points() -> None:
    with pytest.raises(ValueError, match="two points"):
        LineIndex([("stub", [TAJRISH])])


def test_an_empty_line_index_finds_nothing() -> None:
    index: LineIndex[str] = LineIndex([])

    assert len(index) == 0
    assert index.nearest(TAJRISH) == []


# Areas

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[51.0, 35.0], [52.0, 35.0], [52.0, 36.0], [51.0, 36.0], [51.0, 35.0]]],
}
SQUARE_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        SQUARE["coordinates"][0],
        [[51.4, 35.4], [51.6, 35.4], [51.6, 35.6], [51.4, 35.6], [51.4, 35.4]],
    ],
}


def test_a_polygon_contains_points_inside_and_on_its_edge_but_not_outside() -> None:
    assert polygon_contains(SQUARE, LonLat(51.5, 35.5))
    assert polygon_contains(SQUARE, LonLat(51.0, 35.5))
    assert not polygon_contains(SQUARE, LonLat(52.5, 35.5))


def test_a_point_in_a_polygons_hole_is_outside_it() -> None:
    assert not polygon_contains(SQUARE_WITH_HOLE, LonLat(51.5, 35.5))
    assert polygon_contains(SQUARE_WITH_HOLE, LonLat(51.2, 35.5))


def test_a_multipolygon_contains_points_in_any_of_its_parts() -> None:
    far_square = [[[53.0, 35.0], [54.0, 35.0], [54.0, 36.0], [53.0, 35.0]]]
    both = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], far_square]}

    assert polygon_contains(both, LonLat(53.9, 35.5))
    assert polygon_contains(both, LonLat(51.5, 35.5))
    assert not polygon_contains(both, LonLat(52.5, 35.5))


def test_only_polygons_can_contain_points() -> None:
    with pytest.raises(ValueError, match="Polygon"):
        polygon_contains({"type": "Point", "coordinates": [51.4, 35.7]}, TAJRISH)


def test_where_areas_overlap_a_point_belongs_to_the_one_given_first() -> None:
    index = AreaIndex([("hole", SQUARE_WITH_HOLE), ("square", SQUARE)])

    assert index.locate(LonLat(51.2, 35.5)) == "hole"
    assert index.locate(LonLat(51.5, 35.5)) == "square"
    assert index.locate_all(LonLat(51.2, 35.5)) == ["hole", "square"]
    assert index.locate(LonLat(55.0, 35.5)) is None
    assert len(index) == 2


@pytest.fixture(scope="module")
def districts() -> AreaIndex[int]:
    path = SHARED_DATA / "tehran/districts/tehran_districts.geojson"
    if not path.exists():
        pytest.skip(f"the shared Tehran data is not at {path} (set SHAHR_TEST_SHARED_DATA)")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return AreaIndex((f["properties"]["district"], f["geometry"]) for f in features)


def test_tajrish_is_in_district_1(districts: AreaIndex[int]) -> None:
    assert districts.locate(TAJRISH) == 1


def test_azadi_tower_is_in_district_9(districts: AreaIndex[int]) -> None:
    assert districts.locate(AZADI_TOWER) == 9


def test_each_district_centroid_lies_in_its_own_district(districts: AreaIndex[int]) -> None:
    path = SHARED_DATA / "tehran/districts/district_centroids.csv"
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))

    located = {
        int(row["district"]): districts.locate(LonLat(float(row["lon"]), float(row["lat"])))
        for row in rows
    }

    assert located == {district: district for district in range(1, 23)}


def test_a_point_outside_tehran_is_in_no_district(districts: AreaIndex[int]) -> None:
    karaj = LonLat(50.99, 35.83)

    assert districts.locate(karaj) is None
    assert districts.locate_all(karaj) == []
