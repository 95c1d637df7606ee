"""The road network incidents route over, read from traffic: its segments at the live speeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shahr.bootstrap import Container
from shahr.bridges import RoadsForIncidents
from shahr.incidents.domain.routing import Place, RoadGraph, rank_units
from shahr.incidents.gateways.roads import FixedRoads
from shahr.kernel.clock import FixedClock
from shahr.traffic import services
from shahr.traffic.queries.live import LIVE_STATES
from traffic.network import DETECTORS, grid_segments, minute_of_readings, node

from .test_routing import NOW, side_road_links, unit


@pytest.fixture
async def city(container: Container) -> Container:
    """The traffic tests' 3x3 grid (Enghelab, a 60 km/h arterial, across its middle)."""
    await services.import_road_network(
        container.database, segments=grid_segments(), source="test grid", clock=container.clock
    )
    await services.register_detectors(
        container.database, detectors=DETECTORS, clock=container.clock
    )
    return container


async def test_before_any_measurement_every_road_goes_at_its_free_flow_speed(
    city: Container,
) -> None:
    snapshot = await RoadsForIncidents(city).snapshot()

    specs = {spec.id: spec for spec in grid_segments()}
    assert {link.segment_id for link in snapshot.links} == set(specs)
    assert all(link.speed_kmh == link.free_flow_kmh for link in snapshot.links)
    enghelab = next(link for link in snapshot.links if link.segment_id == "s01-11")
    assert (enghelab.from_node, enghelab.to_node, enghelab.name) == ("n01", "n11", "Enghelab")
    assert enghelab.free_flow_kmh == 60.0
    assert enghelab.geometry == (node(0, 1), node(1, 1))
    assert enghelab.length_m == pytest.approx(360.0, rel=0.01)


async def test_a_slow_measured_arterial_slows_the_units_on_it(
    city: Container, clock: FixedClock
) -> None:
    roads = RoadsForIncidents(city)
    before = await roads.snapshot()
    start = clock.now().replace(second=0) - timedelta(minutes=1)
    # 20 km/h measured on the arterial, a third of its free-flow speed.
    await services.ingest_batch(
        city.database, clock, [minute_of_readings(start, count=8, speed_kmh=20.0)]
    )
    city.get(LIVE_STATES).invalidate()

    after = await roads.snapshot()

    assert after.version != before.version
    assert after.network_version == before.network_version != ""  # the same roads
    assert await roads.snapshot() is after  # nothing moved: the same links, not rebuilt
    speeds = {link.segment_id: link.speed_kmh for link in after.links}
    assert speeds["s01-11"] == pytest.approx(20.0, rel=0.05)
    incident = Place("s01-11", 300.0)
    lon, lat = node(0, 1)
    # About 45 m along the arterial, 255 m behind the incident.
    patrol = [replace(unit("patrol", 0, 0), lon=lon + 0.0005, lat=lat)]
    free = rank_units(RoadGraph.build(before.links), incident, patrol, now=NOW)
    slow = rank_units(RoadGraph.build(after.links), incident, patrol, now=NOW)
    assert free[0].snapped_segment_id == slow[0].snapped_segment_id == "s01-11"
    assert free[0].travel_s is not None
    assert slow[0].travel_s == pytest.approx(free[0].travel_s * 3, rel=0.05)


async def test_a_fixed_network_serves_the_same_roads_every_time() -> None:
    links = tuple(side_road_links(36.0))
    roads = FixedRoads(links, version="demo")

    snapshot = await roads.snapshot()

    assert snapshot.links == links
    assert snapshot.version == "demo"
    assert await roads.snapshot() is snapshot
