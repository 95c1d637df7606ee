"""Search and a meter's bays: what a citizen looks at before choosing."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from shahr.kernel.geo import LonLat
from shahr.kernel.web.instants import Instant
from shahr.parking import queries
from shahr.parking.api.deps import PREFIX, PUBLIC, PortsDep, window_asked
from shahr.parking.api.errors import SearchAreaError
from shahr.parking.domain import VehicleKind
from shahr.parking.schemas import MeterOut, SearchOut

router = APIRouter(prefix=PREFIX, tags=["parking"])


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise SearchAreaError("Give the map view as min_lon,min_lat,max_lon,max_lat.", field="bbox")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise SearchAreaError("Give the map view as min_lon,min_lat,max_lon,max_lat.", field="bbox")
    return min_lon, min_lat, max_lon, max_lat


# What the document can say of a choice it has no keyword for: one of the two is required.
_NEEDS_A_PLACE = "Required: a point (`lon` and `lat`) or a map view (`bbox`)."
_NO_PLACE: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Neither a point nor a map view was given, or the view is unreadable "
        "(problem+json, `field` names the parameter)",
    }
}


@router.get(
    "/search",
    dependencies=[PUBLIC],
    response_model=SearchOut,
    responses=_NO_PLACE,
)
async def search(
    ports: PortsDep,
    lon: Annotated[
        float | None, Query(ge=-180, le=180, description=f"With `lat`. {_NEEDS_A_PLACE}")
    ] = None,
    lat: Annotated[
        float | None, Query(ge=-90, le=90, description=f"With `lon`. {_NEEDS_A_PLACE}")
    ] = None,
    radius_m: Annotated[
        float, Query(gt=0, le=5_000, description="Around the point; ignored with `bbox`")
    ] = 1_000,
    bbox: Annotated[
        str | None,
        Query(
            max_length=120,
            description=f"min_lon,min_lat,max_lon,max_lat. {_NEEDS_A_PLACE}",
            examples=["51.36,35.75,51.41,35.77"],
        ),
    ] = None,
    vehicle_kind: VehicleKind = VehicleKind.car,
    starts_at: Annotated[Instant | None, Query(description="Default: now")] = None,
    ends_at: Annotated[Instant | None, Query(description="Default: an hour on")] = None,
    max_price_rial: Annotated[int | None, Query(ge=0)] = None,
    available_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Meters near a point (or in the map view), nearest first, with free bays for the window.

    Give a point (`lon` and `lat`) or a map view (`bbox`); a call with neither is refused.

    Counts only bays that take the vehicle; leaves out meters dearer than `max_price_rial`
    for the window. Names the closest metro station to the place searched (park and ride).
    """
    box = _bbox(bbox) if bbox else None
    if box is None and (lon is None or lat is None):
        raise SearchAreaError("Give a point (lon and lat) or a map view (bbox).", field="lon")
    result = await queries.search_meters(
        ports.database,
        ports.inventory,
        ports.rules,
        now=ports.clock.now(),
        window=window_asked(ports, starts_at, ends_at),
        vehicle_kind=vehicle_kind,
        near=LonLat(lon, lat) if lon is not None and lat is not None else None,
        radius_m=radius_m,
        bbox=box,
        max_price_rial=max_price_rial,
        available_only=available_only,
        limit=limit,
    )
    # Serialised here, once: returned as a model, it would be validated against
    # `response_model` again, turned into dicts, then into JSON (the route's hottest cost).
    return Response(SearchOut.of(result).model_dump_json(), media_type="application/json")


@router.get("/meters/{meter_id}", dependencies=[PUBLIC], response_model=MeterOut)
async def get_meter(
    meter_id: int,
    ports: PortsDep,
    starts_at: Annotated[Instant | None, Query(description="Default: now")] = None,
    ends_at: Annotated[Instant | None, Query(description="Default: an hour on")] = None,
    vehicle_kind: VehicleKind | None = None,
) -> MeterOut:
    """A meter, its zone's rules, and each bay's state for the window (the bay picker)."""
    detail = await queries.meter_detail(
        ports.database,
        ports.inventory,
        ports.rules,
        meter_id=meter_id,
        window=window_asked(ports, starts_at, ends_at),
        vehicle_kind=vehicle_kind,
        now=ports.clock.now(),
    )
    return MeterOut.of_detail(detail)
