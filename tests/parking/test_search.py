"""Search: meters near a point or in the map view, nearest first, with live free bays."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import event

from shahr.bootstrap import Container
from shahr.demo.parking import demo_meters, seed_demo_parking
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat
from shahr.parking import queries, services
from shahr.parking.domain import BayKind, TimeWindow, VehicleKind, parse_meter_file
from shahr.parking.queries import MeterAvailability, SearchResult, holds
from shahr.parking.services import PARKING, ParkingPorts

from .flows import (
    OTHER,
    OTHER_CAR,
    TEST_METERS_CSV,
    book,
    pay_last,
    seeded_ports,
    tehran,
)
from .geodata import metro_stations, official_features

HERE = LonLat(51.37000, 35.76000)  # at TEST-A1


async def search(
    ports: ParkingPorts,
    *,
    starts_at: int = 11,
    minutes: int = 60,
    day: int = 26,
    **kw: object,
) -> SearchResult:
    start = tehran(day, starts_at)
    arguments: dict[str, object] = {"near": HERE, "vehicle_kind": VehicleKind.car, **kw}
    return await queries.search_meters(
        ports.database,
        ports.inventory,
        ports.rules,
        now=ports.clock.now(),
        window=TimeWindow(start, start + timedelta(minutes=minutes)),
        **arguments,  # type: ignore[arg-type]
    )


def devices(result: SearchResult) -> list[str]:
    return [found.meter.device_id for found in result.meters]


async def test_meters_come_nearest_first_within_the_radius(container: Container) -> None:
    ports = await seeded_ports(container)

    result = await search(ports, radius_m=1_000)

    assert devices(result) == ["TEST-A1", "TEST-D1", "TEST-D2"]
    distances = [found.distance_m for found in result.meters]
    assert distances == sorted(distances)
    assert distances[0] == 0


async def test_a_map_view_finds_what_lies_inside_it(container: Container) -> None:
    ports = await seeded_ports(container)

    result = await search(ports, near=None, bbox=(51.36, 35.75, 51.41, 35.77))
    small = await search(ports, near=None, bbox=(51.3695, 35.7595, 51.3702, 35.7602))

    assert sorted(devices(result)) == ["TEST-A1", "TEST-B1", "TEST-D1", "TEST-D2"]
    assert devices(small) == ["TEST-A1"]


async def test_only_meters_with_a_bay_for_the_vehicle_are_found(container: Container) -> None:
    ports = await seeded_ports(container)

    motorcycles = await search(ports, vehicle_kind=VehicleKind.motorcycle)
    trucks = await search(ports, vehicle_kind=VehicleKind.light_truck)

    assert devices(motorcycles) == ["TEST-A1"]
    assert [
        (f.bays_total, f.price.total_rial if f.price else None) for f in motorcycles.meters
    ] == [(1, 21_600)]
    assert devices(trucks) == ["TEST-D1"]


async def test_a_price_ceiling_leaves_out_dearer_streets(container: Container) -> None:
    ports = await seeded_ports(container)

    cheap = await search(ports, max_price_rial=70_000)

    assert devices(cheap) == ["TEST-D1", "TEST-D2"]
    assert {f.price.total_rial for f in cheap.meters if f.price} == {60_000}


async def test_free_bays_count_only_holds_that_overlap_the_window(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = next(
        b for b in (await ports.inventory.current()).meters.values() if b.device_id == "TEST-D1"
    ).bays[1]
    await book(ports, bay.id, starts_at=tehran(26, 11), minutes=60)

    overlapping = await search(ports, starts_at=11, minutes=90)
    after = await search(ports, starts_at=12, minutes=60)

    free = {f.meter.device_id: (f.bays_total, f.bays_free) for f in overlapping.meters}
    assert free["TEST-D1"] == (7, 6)
    assert {f.meter.device_id: f.bays_free for f in after.meters}["TEST-D1"] == 7


async def test_available_only_leaves_out_full_meters(container: Container) -> None:
    ports = await seeded_ports(container)
    snapshot = await ports.inventory.current()
    moto_bay = next(m for m in snapshot.meters.values() if m.device_id == "TEST-A1").bays[7]
    directory = ports.vehicles
    directory.add(OTHER, "456-78901", "motorcycle")  # type: ignore[attr-defined]  # static fake
    await book(
        ports, moto_bay.id, starts_at=tehran(26, 11), minutes=60, citizen=OTHER, plate="456-78901"
    )
    assert await pay_last(ports) == "confirmed"

    every = await search(ports, vehicle_kind=VehicleKind.motorcycle)
    available = await search(ports, vehicle_kind=VehicleKind.motorcycle, available_only=True)

    assert [(f.meter.device_id, f.bays_free) for f in every.meters] == [("TEST-A1", 0)]
    assert available.meters == []


async def test_the_answer_names_the_closest_metro_station(container: Container) -> None:
    ports = await seeded_ports(container)
    await services.load_metro_stations(container.database, stations=metro_stations())
    ports.inventory.invalidate()

    result = await search(ports)

    assert result.nearest_metro is not None
    assert result.nearest_metro.name_en == "Meydan-e San'at"
    assert 500 < result.nearest_metro.distance_m < 900
    assert result.meters[0].metro == result.nearest_metro


async def test_on_a_day_off_meters_show_but_cannot_be_booked(container: Container) -> None:
    ports = await seeded_ports(container)

    friday = await search(ports, day=27)

    assert devices(friday)[0] == "TEST-A1"
    assert {(f.bays_free, f.price) for f in friday.meters} == {(0, None)}
    assert all(f.refusal is not None for f in friday.meters)


async def test_the_index_follows_inventory_changes(container: Container) -> None:
    ports = await seeded_ports(container)
    before = await search(ports, radius_m=2_000)
    moved = TEST_METERS_CSV.replace("51.40000,35.75700", "51.37020,35.76010")

    await services.load_meters(
        ports.database, ports.clock, ports.inventory, records=parse_meter_file(moved)
    )
    after = await search(ports, radius_m=2_000)

    assert "TEST-B1" not in devices(before)
    assert devices(after)[:2] == ["TEST-A1", "TEST-B1"]


async def test_another_process_sees_an_inventory_change_within_its_check_interval(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    other_process = dataclasses.replace(
        ports, inventory=queries.InventoryCache(container.database, check_every_s=0)
    )
    await search(other_process)
    moved = TEST_METERS_CSV.replace("51.40000,35.75700", "51.37020,35.76010")

    await services.load_meters(ports.database, ports.clock, None, records=parse_meter_file(moved))

    assert "TEST-B1" in devices(await search(other_process))


async def test_a_meters_bays_show_held_paid_and_fitting_for_the_window(
    container: Container,
) -> None:
    ports = await seeded_ports(container)
    snapshot = await ports.inventory.current()
    meter = next(m for m in snapshot.meters.values() if m.device_id == "TEST-A1")
    await book(ports, meter.bays[0].id, starts_at=tehran(26, 11), minutes=60)
    await book(
        ports,
        meter.bays[1].id,
        starts_at=tehran(26, 11),
        minutes=60,
        citizen=OTHER,
        plate=OTHER_CAR,
    )
    assert await pay_last(ports) == "confirmed"

    detail = await queries.meter_detail(
        ports.database,
        ports.inventory,
        ports.rules,
        meter_id=meter.id,
        window=TimeWindow(tehran(26, 11, 30), tehran(26, 12, 30)),
        vehicle_kind=VehicleKind.car,
        now=ports.clock.now(),
    )

    states = {s.bay.number: (s.reserved, s.paid, s.fits, s.available) for s in detail.bays}
    assert states[1] == (True, False, True, False)
    assert states[2] == (True, True, True, False)
    assert states[3] == (False, False, True, True)
    assert states[8] == (False, False, False, False)  # a motorcycle bay
    assert {s.status for s in detail.bays} == {"unknown"}
    assert detail.price is not None
    assert detail.price.total_rial == 108_000


# --- the demo city's meters ----------------------------------------------------------------


def test_the_demo_has_a_few_hundred_meters_along_streets_of_several_districts() -> None:
    meters = demo_meters()
    districts = [m.zone.district for m in meters]

    assert 300 <= len(meters) <= 500
    assert districts[0] == 2
    assert districts.count(2) > len(meters) / 3
    assert set(districts) == {2, 3, 6, 7}
    assert all(m.demo for m in meters)
    assert len({m.device_id for m in meters}) == len(meters)
    assert all(len(m.bay_kinds) == 8 for m in meters)
    assert {k for m in meters for k in m.bay_kinds} == {
        BayKind.car,
        BayKind.motorcycle,
        BayKind.disabled,
        BayKind.loading,
    }


def test_each_demo_meter_stands_in_its_district_by_the_hand_digitised_polygons() -> None:
    polygons = {f["properties"]["district"]: shape(f["geometry"]) for f in official_features()}

    misplaced = [
        m.device_id
        for m in demo_meters()
        if not polygons[m.zone.district].buffer(0.002).contains(Point(m.lon, m.lat))
    ]

    assert misplaced == []


async def test_seeding_the_demo_meters_twice_changes_nothing(container: Container) -> None:
    first = await seed_demo_parking(container)
    snapshot = await container.get(PARKING).inventory.current()
    second = await seed_demo_parking(container)
    again = await container.get(PARKING).inventory.current()

    assert first == second == len(snapshot.meters)
    assert again.revision == snapshot.revision
    assert len(again.bays) == 8 * first


async def test_a_window_priced_by_an_earlier_search_is_refused_once_it_has_passed(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    start = tehran(26, 11)
    window = TimeWindow(start, start + timedelta(hours=1))

    async def at_hand() -> SearchResult:
        return await queries.search_meters(
            ports.database,
            ports.inventory,
            ports.rules,
            now=clock.now(),
            window=window,
            vehicle_kind=VehicleKind.car,
            near=HERE,
        )

    before = await at_hand()
    clock.set(start + timedelta(minutes=5))
    after = await at_hand()

    assert all(f.price is not None for f in before.meters)
    assert {(f.price, f.bays_free) for f in after.meters} == {(None, 0)}
    assert {f.refusal.message for f in after.meters if f.refusal} == {
        "This time has already passed."
    }


async def test_search_counts_bays_per_vehicle_from_the_same_snapshot_for_each_kind(
    container: Container,
) -> None:
    ports = await seeded_ports(container)

    cars = await search(ports)
    motorcycles = await search(ports, vehicle_kind=VehicleKind.motorcycle)
    cars_again = await search(ports)

    assert [(f.meter.device_id, f.bays_total) for f in cars_again.meters] == [
        (f.meter.device_id, f.bays_total) for f in cars.meters
    ]
    assert [(f.meter.device_id, f.bays_total) for f in motorcycles.meters] == [("TEST-A1", 1)]


# --- the free bays: a short-lived copy of the holds, dropped when told of a write -------------


async def test_a_booking_shows_in_the_very_next_search_of_the_same_process(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(holds, "TTL_S", 3_600.0)  # only the booking's own report drops it
    ports = await seeded_ports(container)
    before = await search(ports)  # the copy of the holds for the window is now kept
    a1 = next(
        m for m in (await ports.inventory.current()).meters.values() if m.device_id == "TEST-A1"
    )

    await book(ports, a1.bays[0].id, starts_at=tehran(26, 11), minutes=60)
    after = await search(ports)

    free = {f.meter.device_id: f.bays_free for f in before.meters}
    assert {f.meter.device_id: f.bays_free for f in after.meters}["TEST-A1"] == free["TEST-A1"] - 1


async def test_another_process_booking_shows_once_the_copy_expires(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(holds, "TTL_S", 3_600.0)  # no expiry before it is asked for
    ports = await seeded_ports(container)
    other_database = Database(container.database.url)
    other_process = dataclasses.replace(ports, database=other_database)
    try:
        await search(other_process)
        a1 = next(
            m for m in (await ports.inventory.current()).meters.values() if m.device_id == "TEST-A1"
        )
        await book(ports, a1.bays[0].id, starts_at=tehran(26, 11), minutes=60)

        # Within the copy's life the other process may still count the bay free ...
        stale = await search(other_process)
        monkeypatch.setattr(holds, "TTL_S", 0.0)
        fresh = await search(other_process)
    finally:
        await other_database.dispose()

    assert {f.meter.device_id: f.bays_free for f in stale.meters}["TEST-A1"] == 7
    # ... and counts it held once the copy has expired.
    assert {f.meter.device_id: f.bays_free for f in fresh.meters}["TEST-A1"] == 6


async def test_searches_finding_the_copy_expired_at_once_share_one_query(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = await seeded_ports(container)
    a1 = next(
        m for m in (await ports.inventory.current()).meters.values() if m.device_id == "TEST-A1"
    )
    await book(ports, a1.bays[0].id, starts_at=tehran(26, 11), minutes=60)
    monkeypatch.setattr(holds, "TTL_S", 0.0)  # every search finds the copy expired
    asked: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "parking_reservation" in statement:
            asked.append(statement)

    engine = container.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(*(search(ports) for _ in range(16)))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert len(asked) == 1
    assert {f.meter.device_id: f.bays_free for f in answers[-1].meters}["TEST-A1"] == 6
    assert all(answer == answers[0] for answer in answers)


async def test_the_answers_meters_equal_ones_built_field_by_field(container: Container) -> None:
    ports = await seeded_ports(container)

    result = await search(ports, radius_m=2_000)

    assert result.meters
    for found in result.meters:
        rebuilt = MeterAvailability(
            **{f.name: getattr(found, f.name) for f in dataclasses.fields(found)}
        )
        assert found == rebuilt
        assert repr(found) == repr(rebuilt)
