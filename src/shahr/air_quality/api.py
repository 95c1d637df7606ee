"""Air quality's JSON API; so far the map layer of monitoring stations."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, Request, Response

from shahr.air_quality import queries
from shahr.air_quality.domain import StationDataError
from shahr.air_quality.schemas import StationCollection
from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError
from shahr.kernel.web.deps import DatabaseDep

ERROR_STATUS: dict[type[DomainError], int] = {StationDataError: 422}

GEOJSON = "application/geo+json"
# Stations move or open rarely; five minutes of caching spares the map.
CACHE_CONTROL = "public, max-age=300"
PUBLIC = Depends(Admits(public=True))

router = APIRouter(prefix="/api/v1/air-quality", tags=["air quality"])


def cached_geojson(request: Request, body: bytes) -> Response:
    """The body with an ETag; a client that already holds it gets 304 and no body."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"etag": etag, "cache-control": CACHE_CONTROL}
    held = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in held.split(",")) or held == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get(
    "/stations",
    dependencies=[PUBLIC],
    response_model=StationCollection,
    responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Not modified"}},
)
async def list_stations(request: Request, database: DatabaseDep) -> Response:
    """Air-quality monitoring stations as GeoJSON points."""
    collection = StationCollection.of(await queries.stations(database))
    return cached_geojson(request, collection.model_dump_json().encode())
