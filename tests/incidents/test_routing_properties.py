"""On random small networks, every unit's travel time is networkx's shortest path's."""

from __future__ import annotations

import math
from dataclasses import replace

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shahr.incidents.domain.routing import AT_THE_INCIDENT_M, Place, RoadGraph, rank_units
from shahr.incidents.gateways.roads import RoadLink

from .test_routing import NOW, Roads, unit

SPACING_M = 200.0
# Per lattice neighbour pair: no street, one way either way, or both ways.
DIRECTIONS = st.sampled_from(["none", "forward", "backward", "both"])


@st.composite
def lattices(draw: st.DrawFn) -> list[RoadLink]:
    """A lattice of junctions 200 m apart, a random subset of its streets at random speeds."""
    rows, cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    roads = Roads(**{f"n{r}_{c}": (c * SPACING_M, r * SPACING_M) for r in range(rows)
                     for c in range(cols)})  # fmt: skip
    for r in range(rows):
        for c in range(cols):
            for r2, c2 in ((r, c + 1), (r + 1, c)):
                if r2 >= rows or c2 >= cols:
                    continue
                a, b = f"n{r}_{c}", f"n{r2}_{c2}"
                way = draw(DIRECTIONS)
                for start, end in ((a, b), (b, a)):
                    if way == "both" or way == ("forward" if start == a else "backward"):
                        speed = draw(st.floats(4.0, 90.0))
                        roads.one_way(start, end, f"{start}>{end}", speed_kmh=speed)
    return roads.links


def expected_s(links: list[RoadLink], on: RoadLink, offset_m: float, goal: Place) -> float:
    """networkx's fastest time from a point on a segment (or its twin) to the goal place."""
    graph = nx.MultiDiGraph()
    for link in links:
        graph.add_edge(link.from_node, link.to_node, seconds=link.length_m / (link.speed_kmh / 3.6))
    by_id = {link.segment_id: link for link in links}
    target = by_id[goal.segment_id]
    to_goal = nx.single_source_dijkstra_path_length(
        graph.reverse(), target.from_node, weight="seconds"
    )
    last_leg = goal.offset_m / (target.speed_kmh / 3.6)
    twin = by_id.get(f"{on.to_node}-{on.from_node}")
    best = math.inf
    for link, offset in ((on, offset_m), (twin, on.length_m - offset_m)):
        if link is None:
            continue
        speed_ms = link.speed_kmh / 3.6
        if link is target and offset <= goal.offset_m + AT_THE_INCIDENT_M:
            best = min(best, max(goal.offset_m - offset, 0.0) / speed_ms)
        elif link.to_node in to_goal:
            best = min(best, (link.length_m - offset) / speed_ms + to_goal[link.to_node] + last_leg)
    return best


@settings(max_examples=60, deadline=None)
@given(data=st.data(), links=lattices())
def test_travel_times_are_networkx_shortest_paths(
    data: st.DataObject, links: list[RoadLink]
) -> None:
    if not links:
        return
    goal_link = data.draw(st.sampled_from(links))
    goal = Place(goal_link.segment_id, data.draw(st.floats(0.0, 1.0)) * goal_link.length_m)
    # Well inside a segment: only it and its own twin are within a phone fix of the point.
    placed = data.draw(
        st.lists(st.tuples(st.sampled_from(links), st.floats(0.25, 0.75)), min_size=1, max_size=6)
    )
    units = []
    for i, (link, share) in enumerate(placed):
        (a_lon, a_lat), (b_lon, b_lat) = link.geometry
        lon, lat = a_lon + share * (b_lon - a_lon), a_lat + share * (b_lat - a_lat)
        units.append(replace(unit(f"u{i}", 0, 0), lon=lon, lat=lat))

    result = rank_units(RoadGraph.build(links), goal, units, now=NOW, limit=len(units))

    by_unit = {r.unit_id: r for r in result}
    for i, (link, share) in enumerate(placed):
        want = expected_s(links, link, share * link.length_m, goal)
        got = by_unit[f"u{i}"]
        if math.isinf(want):
            assert got.skipped == "unreachable"
        else:
            assert got.skipped is None
            assert got.travel_s == pytest.approx(want, rel=1e-6, abs=1e-6)
    times = [r.travel_s for r in result if r.skipped is None]
    assert times == sorted(times)
