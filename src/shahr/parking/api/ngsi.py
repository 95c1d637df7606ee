"""FIWARE (NGSI-LD) exports: bays as `ParkingSpot`, meters as `OnStreetParking`."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from shahr.kernel.web.deps import SettingsDep
from shahr.parking import fiware
from shahr.parking.api.deps import PREFIX, PUBLIC, PortsDep

LD_JSON = "application/ld+json"

router = APIRouter(prefix=PREFIX, tags=["parking"])


NgsiOptions = Annotated[
    Literal["keyValues", "normalized"],
    Query(description="NGSI-LD representation: keyValues or normalized"),
]


@router.get(
    "/ngsi-ld/ParkingSpot",
    dependencies=[PUBLIC],
    response_model=list[dict[str, Any]],
    responses={200: {"content": {LD_JSON: {}}}},
)
async def ngsi_parking_spots(
    ports: PortsDep,
    settings: SettingsDep,
    options: NgsiOptions = "normalized",
    meter_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Bays as FIWARE `ParkingSpot` entities: occupancy `status`, and `reserved`, `paid`."""
    entities = await fiware.parking_spots(
        ports.database,
        ports.inventory,
        ports.rules,
        city=settings.city,
        now=ports.clock.now(),
        key_values=options == "keyValues",
        meter_id=meter_id,
        limit=limit,
        offset=offset,
    )
    return Response(json.dumps(entities, ensure_ascii=False), media_type=LD_JSON)


@router.get(
    "/ngsi-ld/OnStreetParking",
    dependencies=[PUBLIC],
    response_model=list[dict[str, Any]],
    responses={200: {"content": {LD_JSON: {}}}},
)
async def ngsi_on_street_parking(
    ports: PortsDep,
    settings: SettingsDep,
    options: NgsiOptions = "normalized",
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Meters as FIWARE `OnStreetParking` entities, with how many bays are free now."""
    entities = await fiware.on_street_parkings(
        ports.database,
        ports.inventory,
        ports.rules,
        city=settings.city,
        now=ports.clock.now(),
        key_values=options == "keyValues",
        limit=limit,
        offset=offset,
    )
    return Response(json.dumps(entities, ensure_ascii=False), media_type=LD_JSON)
