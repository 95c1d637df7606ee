"""The demo city: seeded idempotently, labelled approximate, and only in demo mode."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select

from shahr import bootstrap
from shahr.air_quality import queries as air_quality_queries
from shahr.bootstrap import Container
from shahr.demo.domain import DEMO_CITIZEN_PHONE, DemoDisabledError
from shahr.demo.services import read_demo_data, seed_demo_city
from shahr.identity.persistence import CitizenRow, StaffRoleRow, StaffRow
from shahr.identity.services import sign_in_staff
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import STAFF_ROLES, Role
from shahr.kernel.settings import Settings
from shahr.parking import queries as parking_queries
from shahr.parking.services import import_district_areas

OFFICIAL_DISTRICTS = (
    Path(__file__).resolve().parents[3] / "shared/data/tehran/districts/tehran_districts.geojson"
)


async def roles_of_accounts(container: Container) -> Counter[str]:
    """How many accounts hold each role: staff by their roles, citizens by phone."""
    async with container.database.session() as session:
        roles = Counter((await session.scalars(select(StaffRoleRow.role))).all())
        citizens = await session.scalar(select(func.count()).select_from(CitizenRow))
        staff = await session.scalar(select(func.count()).select_from(StaffRow))
    assert staff == sum(roles.values())
    roles[Role.citizen.value] = citizens or 0
    return roles


async def test_seeding_twice_leaves_one_copy_of_everything_and_one_account_per_role(
    container: Container,
) -> None:
    await seed_demo_city(container)
    await seed_demo_city(container)

    database = container.database
    assert await parking_queries.district_count(database) == 22
    assert await parking_queries.metro_station_count(database) == 150
    assert await air_quality_queries.station_count(database) == 35
    assert await roles_of_accounts(container) == Counter({role.value: 1 for role in Role})


async def test_the_demo_districts_are_labelled_approximate(container: Container) -> None:
    await seed_demo_city(container)

    districts = await parking_queries.districts(container.database)

    assert all(d.approximate for d in districts)
    assert all("approximate" in d.source for d in districts)
    centroids = {c.number: c for c in read_demo_data().centroids}
    for district in districts:
        centroid = centroids[district.number]
        assert shape(district.geometry).contains(Point(centroid.lon, centroid.lat))
        assert (district.centroid_lon, district.centroid_lat) == (centroid.lon, centroid.lat)


async def test_a_seed_after_an_import_keeps_the_official_polygons(container: Container) -> None:
    await seed_demo_city(container)
    await import_district_areas(
        container.database, geojson=OFFICIAL_DISTRICTS.read_bytes(), source="official.geojson"
    )
    imported = await parking_queries.districts(container.database)

    await seed_demo_city(container)

    assert await parking_queries.districts(container.database) == imported
    assert not any(d.approximate for d in imported)


async def test_each_demo_staff_account_signs_in_with_its_printed_password(
    container: Container,
) -> None:
    lines = await seed_demo_city(container)

    for role in sorted(STAFF_ROLES):
        assert any(f"password demo-{role.value}" in line for line in lines)
        signed_in = await sign_in_staff(
            container.database,
            container.clock,
            container.cache,
            container.rate_limiter,
            container.settings,
            username=role.value,
            password=f"demo-{role.value}",
            client_address="127.0.0.1",
        )
        assert signed_in.staff.roles == frozenset({role})


async def test_the_seed_prints_how_each_demo_account_signs_in(container: Container) -> None:
    lines = await seed_demo_city(container)

    text = "\n".join(lines)
    assert "DEMO ONLY" in text
    assert "22 districts (22 with approximate demo outlines, 0 official)" in text
    assert "150 metro stations" in text
    assert "35 air-quality monitoring stations" in text
    citizen = next(line for line in lines if line.strip().startswith("citizen"))
    assert DEMO_CITIZEN_PHONE in citizen
    assert str(container.settings.var_dir / "sms-outbox.jsonl") in citizen
    assert sum(1 for line in lines if "username" in line) == len(STAFF_ROLES)


async def test_seeding_outside_demo_mode_is_refused_and_changes_nothing(
    settings: Settings, clock: FixedClock
) -> None:
    built = bootstrap.build(settings.model_copy(update={"demo": False}), clock=clock)
    await built.start()
    try:
        with pytest.raises(DemoDisabledError, match="only seeded in demo mode"):
            await seed_demo_city(built)

        assert await parking_queries.district_count(built.database) == 0
        assert await roles_of_accounts(built) == Counter({Role.citizen.value: 0})
    finally:
        await built.stop()
