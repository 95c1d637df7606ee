"""FIWARE exports: ParkingSpot and OnStreetParking validate against the standard's own schemas.

The schemas (`../shared/standards/fiware/`) refer to common-schema.json by its remote
address; a `referencing` registry maps that address to the local copy, so nothing is
fetched. Normalized entities are checked for NGSI-LD's attribute shapes, then validated
as the keyValues they carry.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Principal
from shahr.parking import fiware
from shahr.web import create_app

from .flows import OTHER, OTHER_CAR, bay_of, book, pay_last, seeded_ports, tehran

FIWARE = Path(__file__).resolve().parents[3] / "shared" / "standards" / "fiware"
COMMON_SCHEMA = "https://smart-data-models.github.io/data-models/common-schema.json"


@cache
def validator(entity_type: str) -> Draft202012Validator:
    common = json.loads((FIWARE / "common-schema.json").read_text(encoding="utf-8"))
    schema = json.loads((FIWARE / f"{entity_type}.schema.json").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        COMMON_SCHEMA, Resource.from_contents(common)
    )
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def problems(entity: dict[str, Any]) -> list[str]:
    found = validator(entity["type"]).iter_errors(entity)
    return [f"{list(e.absolute_path)}: {e.message}" for e in found]


def key_values_of(normalized: dict[str, Any]) -> dict[str, Any]:
    """Undo NGSI-LD normalization, checking each attribute's shape on the way."""
    plain: dict[str, Any] = {}
    for key, value in normalized.items():
        if key in ("id", "type", "@context"):
            plain[key] = value
            continue
        assert isinstance(value, dict), key
        if value["type"] == "Relationship":
            assert key.startswith("ref"), key
            plain[key] = value["object"]
        else:
            assert value["type"] in ("Property", "GeoProperty"), key
            assert (value["type"] == "GeoProperty") == (key == "location"), key
            plain[key] = value["value"]
    return plain


async def test_parking_spots_validate_in_both_representations(container: Container) -> None:
    ports = await seeded_ports(container)

    for key_values in (True, False):
        spots = await fiware.parking_spots(
            ports.database,
            ports.inventory,
            ports.rules,
            city="tehran",
            now=ports.clock.now(),
            key_values=key_values,
        )
        assert len(spots) == 32
        for spot in spots:
            plain = spot if key_values else key_values_of(spot)
            assert problems(plain) == []
            assert plain["status"] in ("free", "occupied", "closed", "unknown")
            assert plain["category"] == ["onStreet"]


async def test_on_street_parkings_validate_in_both_representations(container: Container) -> None:
    ports = await seeded_ports(container)

    for key_values in (True, False):
        sites = await fiware.on_street_parkings(
            ports.database,
            ports.inventory,
            ports.rules,
            city="tehran",
            now=ports.clock.now(),
            key_values=key_values,
        )
        assert len(sites) == 4
        for site in sites:
            plain = site if key_values else key_values_of(site)
            assert problems(plain) == []
            assert plain["totalSpotNumber"] == 8
            assert len(plain["refParkingSpot"]) == 8


async def test_reserved_and_paid_are_attributes_never_a_status(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-A1", 2)
    await book(ports, bay.id, starts_at=tehran(26, 10), minutes=60, citizen=OTHER, plate=OTHER_CAR)
    assert await pay_last(ports) == "confirmed"
    clock.set(tehran(26, 10, 15))

    spots = await fiware.parking_spots(
        ports.database,
        ports.inventory,
        ports.rules,
        city="tehran",
        now=ports.clock.now(),
        key_values=True,
        meter_id=bay.meter_id,
    )
    sites = await fiware.on_street_parkings(
        ports.database,
        ports.inventory,
        ports.rules,
        city="tehran",
        now=clock.now(),
        key_values=True,
    )

    held = next(s for s in spots if s["bayNumber"] == 2)
    assert (held["status"], held["reserved"], held["paid"]) == ("unknown", True, True)
    assert {(s["reserved"], s["paid"]) for s in spots if s["bayNumber"] != 2} == {(False, False)}
    site = next(s for s in sites if s["parkingSiteId"] == "TEST-A1")
    assert site["availableSpotNumber"] == 7
    assert problems(held) == []
    assert site["allowedVehicleType"] == ["car", "van", "motorcycle"]
    assert "forDisabled" in site["category"]


async def test_on_a_friday_every_spot_is_closed(container: Container, clock: FixedClock) -> None:
    ports = await seeded_ports(container)
    clock.set(tehran(27, 11))

    spots = await fiware.parking_spots(
        ports.database,
        ports.inventory,
        ports.rules,
        city="tehran",
        now=clock.now(),
        key_values=True,
    )

    assert {s["status"] for s in spots} == {"closed"}


@pytest.mark.parametrize(
    ("path", "entity_type"),
    [
        ("/api/v1/parking/ngsi-ld/ParkingSpot", "ParkingSpot"),
        ("/api/v1/parking/ngsi-ld/OnStreetParking", "OnStreetParking"),
    ],
)
async def test_the_exports_are_served_as_ngsi_ld_json(
    container: Container, path: str, entity_type: str
) -> None:
    await seeded_ports(container)
    app = create_app(container)

    async def nobody(_request: Request) -> Principal | None:
        return None

    container.resolve_principal = nobody
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        normalized = await client.get(path)
        plain = await client.get(path, params={"options": "keyValues", "limit": 3})

    assert normalized.headers["content-type"] == "application/ld+json"
    assert all(problems(key_values_of(e)) == [] for e in normalized.json())
    assert len(plain.json()) == 3
    assert {e["type"] for e in plain.json()} == {entity_type}
    assert all(problems(e) == [] for e in plain.json())
