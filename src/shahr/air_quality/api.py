"""Air quality's JSON API; so far the map layer of monitoring stations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from shahr.air_quality import queries
from shahr.air_quality.domain import StationDataError
from shahr.air_quality.schemas import StationCollection
from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError
from shahr.kernel.web.deps import DatabaseDep
from shahr.kernel.web.etag import cached_response

ERROR_STATUS: dict[type[DomainError], int] = {StationDataError: 422}

GEOJSON = "application/geo+json"
# Stations move or open rarely; five minutes of caching spares the map.
CACHE_CONTROL = "public, max-age=300"
PUBLIC = Depends(Admits(public=True))

router = APIRouter(prefix="/api/v1/air-quality", tags=["air quality"])


@router.get(
    "/stations",
    dependencies=[PUBLIC],
    response_model=StationCollection,
    responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Not modified"}},
)
async def list_stations(request: Request, database: DatabaseDep) -> Response:
    """Air-quality monitoring stations as GeoJSON points."""
    collection = StationCollection.of(await queries.stations(database))
    body = collection.model_dump_json().encode()
    return cached_response(request, body, media_type=GEOJSON, cache_control=CACHE_CONTROL)
