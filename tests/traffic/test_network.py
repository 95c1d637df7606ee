"""Road networks from OpenStreetMap and SUMO files, and the `shahr import roads` command."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shahr.bootstrap import Container
from shahr.cli import app
from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat, haversine_m
from shahr.kernel.settings import Settings
from shahr.traffic import services
from shahr.traffic.domain import InvalidNetworkError, RoadClass
from shahr.traffic.gateways import read_osm, read_sumo
from shahr.traffic.persistence import TrafficUnitOfWork

PAYLOADS = Path(__file__).parent / "payloads"
OSM_FILE = PAYLOADS / "test_streets.osm"
SUMO_FILE = PAYLOADS / "test_grid.net.xml"
# A square round the test streets standing for a district outline.
DISTRICT_6 = {
    "type": "Polygon",
    "coordinates": [
        [[51.40, 35.69], [51.42, 35.69], [51.42, 35.71], [51.40, 35.71], [51.40, 35.69]]
    ],
}


def test_osm_ways_split_at_intersections_into_one_segment_per_direction() -> None:
    specs = {s.id: s for s in read_osm(OSM_FILE)}

    # The secondary street crosses the boulevard at node 2: two pieces, both directions.
    assert {"w100-0f", "w100-0b", "w100-1f", "w100-1b"} <= specs.keys()
    assert (specs["w100-0f"].from_node, specs["w100-0f"].to_node) == ("n1", "n2")
    assert (specs["w100-0b"].from_node, specs["w100-0b"].to_node) == ("n2", "n1")
    # lanes=4 on a two-way street: two each way; maxspeed=50 is its free-flow speed.
    assert specs["w100-1f"].lanes == 2
    assert specs["w100-1f"].free_flow_kmh == 50.0
    assert len(specs["w100-1f"].geometry) == 3  # the shape node stays
    # The one-way boulevard has no backward segments and keeps its three lanes.
    assert "w101-0b" not in specs
    assert specs["w101-0f"].lanes == 3
    assert specs["w101-0f"].road_class is RoadClass.major_arterial
    # A footway and a building are not roads.
    assert not any(s.startswith(("w103", "w104")) for s in specs)
    assert specs["w102-0f"].road_class is RoadClass.local


def test_a_sumo_network_keeps_edge_ids_and_is_projected_back_to_wgs84() -> None:
    specs = {s.id: s for s in read_sumo(SUMO_FILE)}

    assert specs.keys() == {"E1", "-E1", "E2"}  # no internal edge
    e1 = specs["E1"]
    assert (e1.from_node, e1.to_node, e1.lanes) == ("J0", "J1", 2)
    assert e1.road_class is RoadClass.major_arterial
    assert e1.free_flow_kmh == pytest.approx(60.0, abs=0.1)
    assert specs["E2"].lanes == 1  # the footpath lane is no traffic lane
    (lon0, lat0), (lon1, lat1) = e1.geometry
    assert 51.3 < lon0 < 51.5
    assert 35.6 < lat0 < 35.8
    # 300 m in the projection is 300 m on the ground (to a UTM scale error of < 0.1 %).
    assert haversine_m(LonLat(lon0, lat0), LonLat(lon1, lat1)) == pytest.approx(300, rel=2e-3)


def test_a_file_that_is_not_a_network_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.net.xml"
    bad.write_text("<html><body>not a network</body></html>")
    with pytest.raises(InvalidNetworkError):
        read_sumo(bad)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    with pytest.raises(InvalidNetworkError):
        read_osm(empty)


async def test_import_places_segments_in_districts_and_keeps_a_capacity_set_by_hand(
    container: Container,
) -> None:
    database, clock = container.database, container.clock
    report = await services.import_road_network(
        database,
        segments=read_osm(OSM_FILE),
        source="test",
        districts=[(6, DISTRICT_6)],
        clock=clock,
    )
    assert (report.segments, report.with_district) == (8, 8)
    await services.set_segment_capacity(
        database, clock, segment_id="w100-0f", capacity_veh_h_override=1234
    )

    await services.import_road_network(
        database, segments=read_osm(OSM_FILE), source="again", clock=clock
    )

    async with TrafficUnitOfWork(database) as uow:
        segment = await uow.network.get("w100-0f")
    assert segment is not None
    assert (segment.capacity_veh_h, segment.capacity_overridden) == (1234, True)
    assert segment.district == 6


def _segment_count(url: str) -> int:
    async def count() -> int:
        database = Database(Settings(database_url=url).sqlalchemy_url)
        try:
            async with TrafficUnitOfWork(database) as uow:
                return len(await uow.network.all())
        finally:
            await database.dispose()

    return asyncio.run(count())


def test_shahr_import_roads_reads_osm_and_sumo_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    runner = CliRunner()

    osm = runner.invoke(app, ["import", "roads", str(OSM_FILE)], env={"SHAHR_DATABASE_URL": url})
    sumo = runner.invoke(app, ["import", "roads", str(SUMO_FILE)], env={"SHAHR_DATABASE_URL": url})

    assert osm.exit_code == 0, osm.output
    assert "Imported 8 road segments (6 nodes) from test_streets.osm" in osm.output
    assert sumo.exit_code == 0, sumo.output
    assert _segment_count(url) == 11


def test_shahr_import_roads_refuses_a_bad_file_and_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.net.xml"
    bad.write_text("<net></net>")
    result = CliRunner().invoke(
        app,
        ["import", "roads", str(bad)],
        env={"SHAHR_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"},
    )
    assert result.exit_code == 1
    assert "nothing was imported. The file holds no roads to import." in result.output
