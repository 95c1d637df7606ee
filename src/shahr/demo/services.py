"""Seed the demo city: districts, metro and air-quality stations, one account per role.

The demo is the composition of the other areas, so it alone may call their services.
"""

from __future__ import annotations

import asyncio
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shahr.air_quality import queries as air_quality_queries
from shahr.air_quality import services as air_quality_services
from shahr.air_quality.domain import AqStation, station_from_source
from shahr.demo.domain import (
    DEMO_CITIZEN_PHONE,
    DEMO_DISPLAY_NAMES,
    DemoDisabledError,
    DemoStaffAccount,
    demo_staff_accounts,
)
from shahr.demo.parking import seed_demo_parking
from shahr.demo.twin.feed import DEMO_RECORDING, seed_twin_network
from shahr.demo.twin.scenario import load_scenario
from shahr.demo.units import seed_demo_units
from shahr.identity import services as identity_services
from shahr.kernel.db import Database
from shahr.kernel.persian import normalise
from shahr.kernel.principals import Role
from shahr.parking import queries as parking_queries
from shahr.parking import services as parking_services
from shahr.parking.domain import DistrictCentroid, MetroStation, parse_metro_stations

if TYPE_CHECKING:
    from shahr.bootstrap import Container

DATA_DIR = Path(__file__).resolve().parent / "data"
DISTRICT_CENTROIDS_FILE = DATA_DIR / "districts" / "district_centroids.csv"
METRO_STATIONS_FILE = DATA_DIR / "metro" / "tehran_metro_stations.geojson"
AQ_STATIONS_FILE = DATA_DIR / "air_quality" / "stations.csv"

DEMO_DISTRICT_SOURCE = (
    "demo: approximate outline (Voronoi cell around the district centroid);"
    " replace with `shahr import areas FILE.geojson`"
)


@dataclass(frozen=True)
class DemoData:
    """The demo city's files, read and checked."""

    centroids: list[DistrictCentroid]
    metro_stations: list[MetroStation]
    aq_stations: list[AqStation]


def read_demo_data() -> DemoData:
    """Read the shipped data files (see `demo/data/README.md` for their sources and licences)."""
    with DISTRICT_CENTROIDS_FILE.open(encoding="utf-8", newline="") as file:
        centroids = [
            DistrictCentroid(
                number=int(row["district"]),
                name_fa=normalise(row["name_fa"]),
                lon=float(row["lon"]),
                lat=float(row["lat"]),
            )
            for row in csv.DictReader(file)
        ]
    metro = parse_metro_stations(json.loads(METRO_STATIONS_FILE.read_text(encoding="utf-8")))
    with AQ_STATIONS_FILE.open(encoding="utf-8", newline="") as file:
        aq = [
            station_from_source(row["name_fa"], lon=float(row["lon"]), lat=float(row["lat"]))
            for row in csv.DictReader(file)
        ]
    return DemoData(centroids=centroids, metro_stations=metro, aq_stations=aq)


async def seed_demo_city(container: Container) -> list[str]:
    """Idempotent: running it twice leaves one copy of everything. Returns lines to print.

    Refuses outside demo mode: it creates accounts whose passwords it prints.
    """
    settings = container.settings
    if not settings.demo:
        raise DemoDisabledError(
            "The demo city is only seeded in demo mode (SHAHR_DEMO=1 or `shahr serve --demo`):"
            " its accounts have publicly known passwords."
        )
    await _seed_places(container)
    staff = await _seed_accounts(container.database)
    return await _summary(container, staff)


async def _seed_places(container: Container) -> None:
    """Districts, metro stations, meters, air-quality stations and the twin's streets."""
    database = container.database
    data = await asyncio.to_thread(read_demo_data)
    await parking_services.seed_approximate_districts(
        database, centroids=data.centroids, source=DEMO_DISTRICT_SOURCE
    )
    await parking_services.load_metro_stations(database, stations=data.metro_stations)
    await seed_demo_parking(container)
    await air_quality_services.load_stations(database, stations=data.aq_stations)
    # The streets are the digital twin's (a synthetic grid over districts 6 and 7), there
    # from the first page, before the twin starts: every street on the map is one it drives.
    twin = await asyncio.to_thread(load_scenario, DEMO_RECORDING)
    await seed_twin_network(database, twin)
    await seed_demo_units(database, container.clock, container.bus, twin)


async def _seed_accounts(database: Database) -> list[DemoStaffAccount]:
    """The staff accounts, one per role, and the demo citizen."""
    staff = demo_staff_accounts()
    for account in staff:
        await identity_services.ensure_staff_account(
            database,
            username=account.username,
            password=account.password,
            display_name=account.display_name,
            roles=frozenset({account.role}),
        )
    await identity_services.ensure_citizen(
        database, phone=DEMO_CITIZEN_PHONE, display_name=DEMO_DISPLAY_NAMES[Role.citizen]
    )
    return staff


async def _summary(container: Container, staff: list[DemoStaffAccount]) -> list[str]:
    """What was seeded and how to sign in, as lines to print."""
    database = container.database
    districts = await parking_queries.districts(database)
    approximate = sum(1 for d in districts if d.approximate)
    outbox = container.settings.var_dir / "sms-outbox.jsonl"
    lines = [
        "Demo city of Tehran:",
        f"  {len(districts)} districts ({approximate} with approximate demo outlines,"
        f" {len(districts) - approximate} official); replace the approximate ones with"
        " `shahr import areas FILE.geojson`",
        f"  {await parking_queries.metro_station_count(database)} metro stations"
        " (tehran-metro-data, ODbL 1.0)",
        f"  {await air_quality_queries.station_count(database)} air-quality monitoring stations",
        "Demo accounts (DEMO ONLY: these passwords are public; never seed them on a real city):",
        f"  {'role':<21} sign in with",
    ]
    lines += [
        f"  {a.role.value:<21} username {a.username}, password {a.password} at /staff/sign-in"
        for a in staff
    ]
    lines.append(
        f"  {Role.citizen.value:<21} phone {DEMO_CITIZEN_PHONE} at /sign-in, then the one-time"
        f" code the server prints on its console and appends to {outbox}"
    )
    return lines
