"""Ranking units by travel time over small hand-built networks, laid out in metres near Tehran."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from shahr.incidents.domain.routing import (
    GraphCache,
    Place,
    Recommendation,
    RoadGraph,
    RoadNotInNetworkError,
    UnitPosition,
    rank_units,
)
from shahr.incidents.gateways.roads import RoadLink

LON0, LAT0 = 51.40, 35.70
M_PER_DEG_LAT = 111_195.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def at(x_m: float, y_m: float) -> tuple[float, float]:
    """(lon, lat) of a point x metres east and y metres north of the origin."""
    return (LON0 + x_m / M_PER_DEG_LON, LAT0 + y_m / M_PER_DEG_LAT)


class Roads:
    """Junctions at named points; streets added one way or both, at a speed."""

    def __init__(self, **junctions: tuple[float, float]) -> None:
        self.junctions = junctions
        self.links: list[RoadLink] = []

    def one_way(self, a: str, b: str, name: str, speed_kmh: float = 36.0) -> Roads:
        (ax, ay), (bx, by) = self.junctions[a], self.junctions[b]
        self.links.append(
            RoadLink(
                segment_id=f"{a}-{b}",
                from_node=a,
                to_node=b,
                length_m=math.hypot(bx - ax, by - ay),
                speed_kmh=speed_kmh,
                free_flow_kmh=max(speed_kmh, 36.0),
                name=name,
                geometry=(at(ax, ay), at(bx, by)),
            )
        )
        return self

    def two_way(self, a: str, b: str, name: str, speed_kmh: float = 36.0) -> Roads:
        return self.one_way(a, b, name, speed_kmh).one_way(b, a, name, speed_kmh)


def unit(
    unit_id: str,
    x_m: float,
    y_m: float,
    *,
    status: str = "available",
    age_s: float = 10.0,
    kind: str = "patrol_car",
) -> UnitPosition:
    lon, lat = at(x_m, y_m)
    return UnitPosition(
        unit_id=unit_id,
        kind=kind,
        status=status,
        lon=lon,
        lat=lat,
        reported_at=NOW - timedelta(seconds=age_s),
    )


def ranked(result: list[Recommendation]) -> list[str]:
    return [r.unit_id for r in result if r.skipped is None]


def skipped(result: list[Recommendation]) -> dict[str, str | None]:
    return {r.unit_id: r.skipped for r in result if r.skipped is not None}


def block_with_a_one_way_street() -> RoadGraph:
    """A 500 x 400 m block; its north side (A -> B) is one way, eastbound."""
    roads = Roads(A=(0, 0), B=(500, 0), D=(0, -400), E=(500, -400))
    roads.one_way("A", "B", "One-way")
    roads.two_way("B", "E", "East").two_way("E", "D", "South").two_way("D", "A", "West")
    return RoadGraph.build(roads.links)


def test_a_unit_just_past_the_incident_on_a_one_way_street_goes_round_the_block() -> None:
    graph = block_with_a_one_way_street()
    incident = Place("A-B", 400.0)  # 400 m east of A
    units = [unit("past", 450, 3), unit("behind", 0, -250)]

    result = rank_units(graph, incident, units, now=NOW)

    past, behind = (next(r for r in result if r.unit_id == u) for u in ("past", "behind"))
    assert past.straight_m < behind.straight_m  # straight-line nearest ...
    assert ranked(result) == ["behind", "past"]  # ... is not the first to arrive
    # 10 m/s everywhere: behind drives 250 m north to A then 400 m; past 50 + 1300 + 400.
    assert behind.travel_s == pytest.approx(65.0)
    assert behind.network_m == pytest.approx(650.0)
    assert behind.via == ("West", "One-way")
    assert past.travel_s == pytest.approx(175.0)
    assert past.via == ("One-way", "East", "South", "West", "One-way")


def test_a_unit_on_the_incident_street_behind_it_drives_straight_there() -> None:
    graph = block_with_a_one_way_street()

    [first] = rank_units(graph, Place("A-B", 400.0), [unit("behind", 100, -2)], now=NOW)

    assert first.travel_s == pytest.approx(30.0)
    assert first.network_m == pytest.approx(300.0)
    assert first.snapped_segment_id == "A-B"
    assert first.off_road_m == pytest.approx(2.0, abs=0.01)
    assert first.via == ("One-way",)


def test_across_the_river_is_near_on_the_map_and_far_by_road() -> None:
    # Two banks 200 m apart, one bridge at the east end.
    roads = Roads(N0=(0, 100), N1=(1000, 100), N2=(2000, 100), S0=(0, -100), S1=(1000, -100),
                  S2=(2000, -100))  # fmt: skip
    roads.two_way("N0", "N1", "North bank").two_way("N1", "N2", "North bank")
    roads.two_way("S0", "S1", "South bank").two_way("S1", "S2", "South bank")
    roads.two_way("N2", "S2", "Bridge")
    graph = RoadGraph.build(roads.links)
    incident = Place("N1-N0", 800.0)  # westbound, 200 m from the west end
    units = [unit("across", 200, -100), unit("same-bank", 1500, 100)]

    result = rank_units(graph, incident, units, now=NOW)

    assert ranked(result) == ["same-bank", "across"]
    across = result[1]
    assert across.straight_m == pytest.approx(200.0, rel=0.01)
    assert across.network_m == pytest.approx(1800 + 200 + 1800, rel=1e-6)
    assert across.via == ("South bank", "Bridge", "North bank")
    assert result[0].network_m == pytest.approx(1300.0, rel=1e-6)


def side_road_links(east_kmh: float) -> list[RoadLink]:
    """Azadi runs west-east through M; a side road leaves it north at M."""
    roads = Roads(W=(0, 0), M=(1000, 0), E=(2000, 0), X=(1000, 500))
    roads.two_way("W", "M", "Azadi").two_way("M", "E", "Azadi", speed_kmh=east_kmh)
    roads.two_way("M", "X", "Side")
    return roads.links


def street_with_a_side_road(east_kmh: float) -> RoadGraph:
    return RoadGraph.build(side_road_links(east_kmh))


def test_a_congested_link_hands_the_incident_to_the_unit_on_the_free_road() -> None:
    incident = Place("M-X", 100.0)
    units = [unit("west", 100, 0), unit("east", 1800, 0)]

    free = rank_units(street_with_a_side_road(36.0), incident, units, now=NOW)
    jammed = rank_units(street_with_a_side_road(5.0), incident, units, now=NOW)

    assert ranked(free) == ["east", "west"]  # 800 m against 900 m at the same speed
    assert ranked(jammed) == ["west", "east"]  # the east unit now crawls at 5 km/h
    assert jammed[1].travel_s == pytest.approx(800 / (5 / 3.6) + 10.0)


def test_silent_and_busy_units_are_listed_after_the_ranking_with_the_reason() -> None:
    graph = street_with_a_side_road(36.0)
    units = [
        unit("silent", 1000, 50, age_s=600),
        unit("busy", 1000, 60, status="on_scene"),
        unit("out", 990, 40, status="out_of_service", age_s=900),
        unit("far", 1900, 0),
    ]

    result = rank_units(graph, Place("M-X", 100.0), units, now=NOW)

    assert ranked(result) == ["far"]
    assert [r.unit_id for r in result[1:]] == ["busy", "silent", "out"]  # nearest first
    assert skipped(result) == {"silent": "stale", "busy": "unavailable", "out": "unavailable"}
    silent = next(r for r in result if r.unit_id == "silent")
    assert silent.position_age_s == pytest.approx(600.0)
    assert silent.travel_s is None
    # A longer tolerance ranks the silent unit again.
    relaxed = rank_units(graph, Place("M-X", 100.0), units, now=NOW, stale_after_s=900)
    assert ranked(relaxed) == ["silent", "far"]


def test_a_position_far_from_every_road_is_off_the_network() -> None:
    graph = street_with_a_side_road(36.0)
    units = [unit("yard", 500, 300), unit("kerb", 500, 150), unit("nowhere", float("nan"), 0)]

    result = rank_units(graph, Place("M-X", 100.0), units, now=NOW)

    assert ranked(result) == ["kerb"]
    assert result[0].off_road_m == pytest.approx(150.0, abs=0.5)
    assert skipped(result) == {"yard": "off_network", "nowhere": "off_network"}
    assert graph.snap(*at(500, 300)) is None
    place, distance = graph.snap(*at(500, 150)) or (None, None)
    assert place is not None
    assert place.segment_id in {"W-M", "M-W"}
    assert distance == pytest.approx(150.0, abs=0.5)


def test_a_unit_on_a_road_with_no_way_to_the_incident_is_unreachable() -> None:
    roads = Roads(A=(0, 0), B=(500, 0), C=(0, 100), D=(500, 100))
    roads.two_way("A", "B", "Mainland").two_way("C", "D", "Island")
    graph = RoadGraph.build(roads.links)

    result = rank_units(graph, Place("A-B", 10.0), [unit("islander", 250, 100)], now=NOW)

    assert skipped(result) == {"islander": "unreachable"}
    assert result[0].snapped_segment_id in {"C-D", "D-C"}


def test_only_the_fastest_few_are_ranked_and_ties_go_to_the_unit_id() -> None:
    graph = street_with_a_side_road(36.0)
    units = [unit(f"u{i}", 1000 - 100 * (i // 2), 0) for i in range(8)]

    result = rank_units(graph, Place("M-X", 100.0), units, now=NOW, limit=3)

    assert ranked(result) == ["u0", "u1", "u2"]
    assert len(result) == 3


def test_an_incident_on_a_segment_the_network_does_not_have_is_refused() -> None:
    graph = street_with_a_side_road(36.0)

    with pytest.raises(RoadNotInNetworkError) as refused:
        rank_units(graph, Place("gone", 0.0), [unit("u", 0, 0)], now=NOW)

    assert refused.value.params == {"segment": "gone"}


def test_the_graph_is_rebuilt_only_when_the_snapshot_version_moves() -> None:
    links = Roads(A=(0, 0), B=(100, 0)).two_way("A", "B", "Short").links
    cache = GraphCache()

    first = cache.graph_for("v1", links)

    assert cache.graph_for("v1", links) is first
    assert cache.graph_for("v2", links) is not first


def test_new_speeds_on_the_same_network_reach_the_ranking() -> None:
    cache = GraphCache()
    incident = Place("M-X", 100.0)
    units = [unit("west", 100, 0), unit("east", 1800, 0)]

    free = cache.graph_for("n1-t1", side_road_links(36.0), network_version="n1")
    jammed = cache.graph_for("n1-t2", side_road_links(5.0), network_version="n1")

    assert ranked(rank_units(free, incident, units, now=NOW)) == ["east", "west"]
    assert ranked(rank_units(jammed, incident, units, now=NOW)) == ["west", "east"]


def test_a_changed_network_is_built_anew() -> None:
    cache = GraphCache()
    short = Roads(A=(0, 0), B=(100, 0), C=(200, 0)).two_way("A", "B", "Short")
    cache.graph_for("n1-t1", short.links, network_version="n1")

    longer = cache.graph_for("n2-t1", short.two_way("B", "C", "Longer").links, network_version="n2")
    # The same network version with other segments (a caller's slip) is built anew too.
    shorter = cache.graph_for("n2-t2", short.links[:2], network_version="n2")

    assert "B-C" in longer.segment_index
    assert "B-C" not in shorter.segment_index
