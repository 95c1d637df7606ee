"""The field inventory: loading a city's detector file, and each detector's kept history.

Over the 3x3 test grid (two-way streets; row 1, Enghelab, has two lanes each way) and its
seven detectors, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat
from shahr.traffic import services
from shahr.traffic.domain.inventory import (
    ChangeKind,
    InventoryFileError,
    InventoryFormatError,
    detector_entry,
)
from shahr.traffic.domain.network import segment_from_spec
from shahr.traffic.domain.placement import SegmentPlacer
from shahr.traffic.domain.readings import encode
from shahr.traffic.gateways.inventory_files import read_inventory_text
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.inventory import detector_changes, detector_inventory
from shahr.traffic.services.inventory import import_detectors, place_detector, retire_detector

from .network import grid_segments, node, reading

# Halfway along Enghelab eastbound (s01-11), a hair north of its line.
MID_ENGHELAB = ((node(0, 1)[0] + node(1, 1)[0]) / 2, node(0, 1)[1] + 0.00001)

GOOD_CSV = f"""id,kind,segment_id,lon,lat,bearing_deg,lane,position_m
loop-e1,loop,s01-11,,,,1,40
loop-e2,loop,,{MID_ENGHELAB[0]},{MID_ENGHELAB[1]},90,2,
loop-w1,loop,,{MID_ENGHELAB[0]},{MID_ENGHELAB[1]},270,1,
anpr-9,plate_camera,s11-21,,,,,
"""


def rows_of(text: str, *, geojson: bool = False) -> list[tuple[int, dict[str, object]]]:
    return list(read_inventory_text(text, geojson=geojson, required=("id",)))


async def stored_ids(container: Container) -> set[str]:
    async with TrafficUnitOfWork(container.database) as uow:
        return {d.id for d in await uow.detectors.all(retired=True)}


async def test_a_good_file_places_each_detector_on_its_segment_or_by_position_and_bearing(
    network: Container, clock: FixedClock
) -> None:
    report = await import_detectors(
        network.database, clock, rows=rows_of(GOOD_CSV), source="city.csv", by="import:city.csv"
    )

    assert report.counts == {ChangeKind.added: 4}
    lines = {str(line.detector.id): line for line in await detector_inventory(network.database)}
    assert lines["loop-e1"].detector.position_m == 40
    # The same point, told apart by the direction of the traffic each loop counts.
    assert lines["loop-e2"].detector.segment_id == "s01-11"
    assert lines["loop-w1"].detector.segment_id == "s11-01"
    assert lines["loop-e2"].detector.position_m == pytest.approx(180.6, abs=1)
    assert lines["loop-e2"].street == "Enghelab"
    changes = await detector_changes(network.database, "loop-e2")
    assert [(c.change, c.changed_by, c.before) for c in changes] == [
        (ChangeKind.added, "import:city.csv", None)
    ]


async def test_a_file_with_bad_rows_is_refused_whole_with_every_bad_row_named(
    network: Container, clock: FixedClock
) -> None:
    before = await stored_ids(network)
    bad = f"""id,kind,segment_id,lon,lat,bearing_deg,lane,position_m
ok-1,loop,s01-11,,,,1,10
bad-kind,radar,s01-11,,,,1,10
bad-lane,loop,s01-11,,,,3,10
two-way,loop,,{MID_ENGHELAB[0]},{MID_ENGHELAB[1]},,1,
far-away,loop,,51.30,35.60,90,1,
too-far-along,loop,s01-11,,,,1,900
no-place,loop,,,,,1,
ok-1,loop,s01-11,,,,2,10
bad lane text,loop,s01-11,,,,two,
"""
    with pytest.raises(InventoryFileError) as refused:
        await import_detectors(network.database, clock, rows=rows_of(bad), source="bad.csv", by="t")

    problems = {p.row: p.message for p in refused.value.problems}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "unknown kind" in problems[3]
    assert "lane {lane}" in problems[4]
    assert "two-way street" in problems[5]
    assert "within {metres} m" in problems[6]
    assert "placed {position} m along" in problems[7]
    assert "needs a segment_id" in problems[8]
    assert "already on row" in problems[9]
    assert "not a number" in problems[10]
    assert refused.value.params == {"source": "bad.csv", "count": 8}
    assert await stored_ids(network) == before
    assert await detector_changes(network.database, "ok-1") == []


async def test_loading_the_same_file_again_changes_nothing_and_a_move_is_kept(
    network: Container, clock: FixedClock
) -> None:
    await import_detectors(network.database, clock, rows=rows_of(GOOD_CSV), source="a", by="a")
    again = await import_detectors(
        network.database, clock, rows=rows_of(GOOD_CSV), source="a", by="a"
    )
    assert again.counts == {}
    assert again.unchanged == 4

    clock.advance(timedelta(hours=1))
    moved = await import_detectors(
        network.database,
        clock,
        rows=rows_of(
            GOOD_CSV.replace("loop-e1,loop,s01-11,,,,1,40", "loop-e1,loop,s01-11,,,,2,55")
        ),
        source="b",
        by="import:b",
    )

    assert moved.counts == {ChangeKind.moved: 1}
    latest = (await detector_changes(network.database, "loop-e1"))[0]
    assert latest.change is ChangeKind.moved
    assert latest.changed_at == clock.now()
    assert latest.before is not None
    assert latest.after is not None
    assert (latest.before.lane, latest.before.position_m) == (1, 40)
    assert (latest.after.lane, latest.after.position_m) == (2, 55)


async def test_a_retired_detector_has_its_readings_refused_as_unknown_until_restored(
    network: Container, clock: FixedClock
) -> None:
    now = clock.now()
    payload = encode(reading("d-01-11-1", now - timedelta(seconds=5)).to_payload())

    await retire_detector(network.database, clock, detector_id="d-01-11-1", by="op-1")
    refused = await services.ingest_batch(network.database, clock, [payload])

    assert refused.accepted == 0
    assert dict(refused.rejected) == {"unknown_detector": 1}
    lines = {
        str(line.detector.id): line.detector for line in await detector_inventory(network.database)
    }
    assert lines["d-01-11-1"].retired_at == now
    with pytest.raises(DomainError):
        await retire_detector(network.database, clock, detector_id="d-01-11-1", by="op-1")

    restored = await place_detector(
        network.database,
        clock,
        entry=detector_entry(1, {"id": "d-01-11-1", "segment_id": "s01-11", "lane": "1"}),
        by="op-1",
        adding=True,
    )
    assert restored is not None
    assert restored.change is ChangeKind.restored
    accepted = await services.ingest_batch(network.database, clock, [payload])
    assert accepted.accepted == 1
    history = [c.change for c in await detector_changes(network.database, "d-01-11-1")]
    assert history[:2] == [ChangeKind.restored, ChangeKind.retired]


async def test_a_geojson_file_places_points_and_refuses_a_file_that_is_neither_format(
    network: Container, clock: FixedClock
) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(MID_ENGHELAB)},
                "properties": {"id": "geo-1", "kind": "counting_camera", "bearing_deg": 90},
            }
        ],
    }
    report = await import_detectors(
        network.database,
        clock,
        rows=rows_of(json.dumps(collection), geojson=True),
        source="a.geojson",
        by="t",
    )
    assert report.counts == {ChangeKind.added: 1}
    with pytest.raises(InventoryFormatError):
        rows_of("{not json", geojson=True)
    with pytest.raises(InventoryFormatError):
        rows_of("name,lane\nx,1\n")


@given(
    along=st.floats(min_value=0.02, max_value=0.98),
    off_m=st.floats(min_value=-8.0, max_value=8.0),
    eastbound=st.booleans(),
)
def test_a_position_near_a_two_way_street_lands_on_the_side_its_bearing_names(
    along: float, off_m: float, eastbound: bool
) -> None:
    segments = [segment_from_spec(s, source="grid") for s in grid_segments()]
    placer = SegmentPlacer(segments)
    (west_lon, lat), (east_lon, _) = node(0, 1), node(1, 1)
    point = LonLat(west_lon + along * (east_lon - west_lon), lat + off_m / 111_195.0)

    snap = placer.snap(point, bearing_deg=90.0 if eastbound else 270.0, name="d")

    length = {s.id: s.length_m for s in segments}[snap.segment_id]
    assert snap.segment_id == ("s01-11" if eastbound else "s11-01")
    expected = along * length if eastbound else (1 - along) * length
    assert snap.position_m == pytest.approx(expected, abs=0.2)
    assert snap.distance_m == pytest.approx(abs(off_m), abs=0.1)
