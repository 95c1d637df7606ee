"""The place index and the base layer's geometry, without a database."""

from __future__ import annotations

import pytest

from shahr.maps.domain import (
    MAX_QUERY_CHARS,
    Match,
    Place,
    PlaceIndex,
    PlaceKind,
    PlaceQueryError,
    Station,
    base_layer,
    checked_query,
    line_tree,
    search_words,
    street_line,
)


def place(name_fa: str, name_en: str, kind: PlaceKind = PlaceKind.street) -> Place:
    return Place(kind, name_fa, name_en, 51.4, 35.7)


def test_search_words_fold_what_keyboards_type_differently() -> None:
    assert search_words("ميدان  آزادي") == search_words("میدان ازادی") == ("میدان", "ازادی")
    assert search_words("منطقه ۱۲") == search_words("منطقه ١٢") == ("منطقه", "12")
    assert search_words("ایران\u200cزمین") == ("ایران", "زمین")
    assert search_words("Daneshgah-e SHARIF") == ("daneshgah", "e", "sharif")
    assert search_words(" \u200c - ") == ()


def test_matches_rank_whole_name_then_start_then_word_start_then_inside() -> None:
    index = PlaceIndex(
        [
            place("ونک پارک", "Vanak Park"),
            place("میدان ونک", "Vanak Square", PlaceKind.metro_station),
            place("ونک", "Vanak", PlaceKind.zone),
            place("خیابان ونکی", "Vanaki Street"),
            place("گلونک", "Golvanak"),
        ]
    )

    found = index.search("ونک")

    assert [(f.place.name_en, f.match) for f in found] == [
        ("Vanak", Match.exact),
        ("Vanak Park", Match.prefix),
        ("Vanak Square", Match.word_prefix),
        ("Vanaki Street", Match.word_prefix),
        ("Golvanak", Match.infix),
    ]


def test_a_place_is_listed_once_at_its_best_match_in_either_language() -> None:
    index = PlaceIndex([place("تجریش", "Tajrish", PlaceKind.metro_station)])

    assert [f.match for f in index.search("tajrish")] == [Match.exact]
    assert [f.match for f in index.search("تجر")] == [Match.prefix]
    assert index.search("tehran") == []


def test_the_words_of_a_query_may_come_in_any_order() -> None:
    index = PlaceIndex([place("بلوار شهید فرحزادی", "Shahid Farahzadi Boulevard")])

    assert [f.match for f in index.search("farahzadi shahid")] == [Match.word_prefix]


def test_a_query_with_nothing_to_look_for_or_too_long_is_refused() -> None:
    assert checked_query("  تجریش ") == "  تجریش "
    with pytest.raises(PlaceQueryError, match="Type the name of a place"):
        checked_query("\u200c ")
    with pytest.raises(PlaceQueryError, match="at most 100 characters"):
        checked_query("x" * (MAX_QUERY_CHARS + 1))


def station(name: str, lon: float, lat: float, lines: tuple[int, ...] = (1,)) -> Station:
    return Station(name, name, lines, lon, lat)


def test_a_line_joins_its_stations_in_order_along_the_track_with_its_branch() -> None:
    # A line running north with a branch east from its middle station.
    a, b, c, d = (
        station("a", 51.40, 35.70),
        station("b", 51.40, 35.71),
        station("c", 51.40, 35.72),
        station("d", 51.41, 35.71),
    )

    edges = {frozenset((x.name_en, y.name_en)) for x, y in line_tree([c, a, d, b])}

    assert edges == {frozenset("ab"), frozenset("bc"), frozenset("bd")}


def test_the_base_layer_draws_each_line_and_each_interchange_once() -> None:
    stations = [
        station("a", 51.40, 35.70, (1,)),
        station("x", 51.40, 35.71, (1, 2)),
        station("b", 51.41, 35.71, (2,)),
    ]

    layer = base_layer([], [], stations)

    lines = [f for f in layer["features"] if f["properties"]["layer"] == "metro_line"]
    assert [(f["properties"]["line"], len(f["geometry"]["coordinates"])) for f in lines] == [
        (1, 1),
        (2, 1),
    ]
    assert sum(f["properties"]["layer"] == "metro_station" for f in layer["features"]) == 3


def test_a_street_is_drawn_through_the_midpoints_of_meters_on_alternate_sides() -> None:
    meters = [(51.4000, 35.7002), (51.4010, 35.6998), (51.4020, 35.7002)]

    assert street_line(list(reversed(meters))) == [
        pytest.approx((51.4005, 35.7000)),
        pytest.approx((51.4015, 35.7000)),
    ]
