"""The camera registry: loading a camera file, and the cameras nearest an incident.

Over the 3x3 test grid near Vali-Asr square, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.bootstrap import Container
from shahr.bridges import CamerasForIncidents
from shahr.kernel.clock import FixedClock
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat, haversine_m
from shahr.traffic.domain.cameras import (
    CameraStatus,
    StreamKind,
    camera_from_fields,
    stream_kind_of,
)
from shahr.traffic.domain.inventory import InventoryFileError
from shahr.traffic.gateways.inventory_files import read_inventory_text
from shahr.traffic.queries.cameras import cameras, nearest_cameras
from shahr.traffic.services.cameras import import_cameras, retire_camera, save_camera

from .network import node

CENTRE = node(1, 1)
REQUIRED = ("id", "name_fa", "lon", "lat")

CAMERAS_CSV = f"""id,name_fa,name_en,lon,lat,view_bearing_deg,stream_url,snapshot_url,status,public
cam-centre,میدان مرکزی,Centre square,{CENTRE[0]},{CENTRE[1]},90,rtsp://10.0.0.5/live,https://cams.example/centre.jpg,active,true
cam-east,خیابان شرقی,East street,{node(2, 1)[0]},{node(2, 1)[1]},270,https://cams.example/east/index.m3u8,,active,false
cam-north,شمال,North,{node(1, 2)[0]},{node(1, 2)[1]},,,,faulty,yes
cam-far,دور,Far,{node(0, 0)[0]},{node(0, 0)[1]},,,,active,no
"""


def rows_of(text: str) -> list[tuple[int, dict[str, object]]]:
    return list(read_inventory_text(text, geojson=False, required=REQUIRED))


@pytest.fixture
async def registry(network: Container, clock: FixedClock) -> Container:
    await import_cameras(
        network.database, clock, rows=rows_of(CAMERAS_CSV), source="cams.csv", by="t"
    )
    return network


async def test_a_camera_file_is_loaded_with_each_camera_snapped_to_the_road_it_stands_by(
    registry: Container,
) -> None:
    stored = {c.id: c for c in await cameras(registry.database)}

    assert set(stored) == {"cam-centre", "cam-east", "cam-north", "cam-far"}
    centre = stored["cam-centre"]
    assert (centre.public, centre.status, centre.stream_kind) == (
        True,
        CameraStatus.active,
        StreamKind.rtsp,
    )
    assert centre.segment_id is not None
    assert stored["cam-east"].stream_kind is StreamKind.hls
    assert stored["cam-east"].public is False


async def test_loading_the_camera_file_again_changes_nothing_and_an_edit_updates(
    registry: Container, clock: FixedClock
) -> None:
    again = await import_cameras(
        registry.database, clock, rows=rows_of(CAMERAS_CSV), source="cams.csv", by="t"
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    edited = await import_cameras(
        registry.database,
        clock,
        rows=rows_of(CAMERAS_CSV.replace(",faulty,yes", ",active,yes")),
        source="cams.csv",
        by="t",
    )
    assert (edited.added, edited.updated) == (0, 1)


async def test_a_camera_file_with_bad_rows_is_refused_whole_with_each_row_named(
    network: Container, clock: FixedClock
) -> None:
    bad = f"""id,name_fa,lon,lat,stream_url,snapshot_url,status,public
ok,خوب,{CENTRE[0]},{CENTRE[1]},,,active,true
no-name,,{CENTRE[0]},{CENTRE[1]},,,active,true
web-stream,وب,{CENTRE[0]},{CENTRE[1]},https://cams.example/live.mp4,,active,true
ftp-snap,عکس,{CENTRE[0]},{CENTRE[1]},,ftp://cams.example/a.jpg,active,true
swapped,جابجا,{CENTRE[1]},{CENTRE[0]},,,active,true
far,بیرون,52.40,35.71,,,active,true
odd,وضعیت,{CENTRE[0]},{CENTRE[1]},,,broken,true
ok,تکرار,{CENTRE[0]},{CENTRE[1]},,,active,true
"""
    with pytest.raises(InventoryFileError) as refused:
        await import_cameras(network.database, clock, rows=rows_of(bad), source="bad.csv", by="t")

    assert [p.row for p in refused.value.problems] == [3, 4, 5, 6, 7, 8, 9]
    assert await cameras(network.database) == []


async def test_the_nearest_cameras_come_nearest_first_within_the_radius_retired_left_out(
    registry: Container, clock: FixedClock
) -> None:
    near = await nearest_cameras(registry.database, CENTRE[0] + 0.0005, CENTRE[1], limit=3)

    assert [n.camera.id for n in near] == ["cam-centre", "cam-east", "cam-north"]
    assert [n.distance_m for n in near] == sorted(n.distance_m for n in near)
    assert near[0].distance_m == pytest.approx(
        haversine_m(LonLat(CENTRE[0] + 0.0005, CENTRE[1]), LonLat(*CENTRE)), abs=0.01
    )
    within = await nearest_cameras(registry.database, *CENTRE, limit=10, within_m=400)
    assert [n.camera.id for n in within] == ["cam-centre", "cam-east"]

    await retire_camera(registry.database, clock, camera_id="cam-centre", by="op-1")
    after = await nearest_cameras(registry.database, *CENTRE, limit=10, within_m=400)
    assert [n.camera.id for n in after] == ["cam-east"]
    with pytest.raises(DomainError):
        await retire_camera(registry.database, clock, camera_id="cam-centre", by="op-1")


async def test_incidents_see_the_nearest_cameras_in_their_own_plain_values(
    registry: Container,
) -> None:
    directory = CamerasForIncidents(registry.database)

    found = await directory.nearest(CENTRE[0], CENTRE[1], limit=2, within_m=1500)

    assert [c.camera_id for c in found] == ["cam-centre", "cam-east"]
    assert found[0].distance_m == pytest.approx(0.0, abs=0.01)
    assert (found[0].public, found[0].status) == (True, "active")
    assert found[0].snapshot_url == "https://cams.example/centre.jpg"


async def test_a_camera_added_by_hand_must_not_exist_and_an_edit_must(
    network: Container, clock: FixedClock
) -> None:
    fields = {"id": "cam-new", "name_fa": "تازه", "lon": CENTRE[0], "lat": CENTRE[1]}
    added = await save_camera(network.database, clock, fields=fields, by="op", adding=True)
    assert added.status is CameraStatus.active
    with pytest.raises(DomainError) as twice:
        await save_camera(network.database, clock, fields=fields, by="op", adding=True)
    assert twice.value.field == "id"
    with pytest.raises(DomainError):
        await save_camera(
            network.database, clock, fields={**fields, "id": "cam-x"}, by="op", adding=False
        )


@given(
    scheme=st.sampled_from(["rtsp", "rtsps", "http", "https", "ftp", "file", ""]),
    path=st.sampled_from(["/live", "/a/index.m3u8", "/a.mp4", "/A.M3U8", ""]),
)
def test_a_stream_is_rtsp_or_an_hls_playlist_and_nothing_else(scheme: str, path: str) -> None:
    url = f"{scheme}://cams.example{path}" if scheme else f"cams.example{path}"
    kind = stream_kind_of(url)
    if scheme in {"rtsp", "rtsps"}:
        assert kind is StreamKind.rtsp
    elif scheme in {"http", "https"} and path.lower().endswith(".m3u8"):
        assert kind is StreamKind.hls
    else:
        assert kind is None
        with pytest.raises(DomainError) as refused:
            camera_from_fields(
                {"id": "c", "name_fa": "ن", "lon": 51.4, "lat": 35.7, "stream_url": url}
            )
        assert refused.value.field == "stream_url"


def test_a_geojson_camera_takes_its_position_from_the_point() -> None:
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [51.41, 35.71]},
                    "properties": {"id": "g1", "name_fa": "نقطه"},
                }
            ],
        }
    )
    [(row, fields)] = read_inventory_text(text, geojson=True, required=REQUIRED)
    camera = camera_from_fields(fields)
    assert (row, camera.lon, camera.lat) == (1, 51.41, 35.71)
