"""Map layers: districts and metro stations as GeoJSON, cached by their ETag."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from shahr.kernel.web.deps import DatabaseDep
from shahr.kernel.web.etag import cached_response
from shahr.parking import queries
from shahr.parking.api.deps import PREFIX, PUBLIC
from shahr.parking.schemas import DistrictCollection, MetroStationCollection

GEOJSON = "application/geo+json"
# Districts and stations change only on an import; five minutes of caching spares the map.
CACHE_CONTROL = "public, max-age=300"

router = APIRouter(prefix=PREFIX, tags=["parking"])


def cached_geojson(request: Request, body: bytes) -> Response:
    """The body with an ETag; a client that already holds it gets 304 and no body."""
    return cached_response(request, body, media_type=GEOJSON, cache_control=CACHE_CONTROL)


@router.get(
    "/districts",
    dependencies=[PUBLIC],
    response_model=DistrictCollection,
    responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Not modified"}},
)
async def list_districts(request: Request, database: DatabaseDep) -> Response:
    """The municipal districts as GeoJSON polygons; `approximate` marks demo outlines."""
    collection = DistrictCollection.of(await queries.districts(database))
    return cached_geojson(request, collection.model_dump_json().encode())


@router.get(
    "/metro-stations",
    dependencies=[PUBLIC],
    response_model=MetroStationCollection,
    responses={200: {"content": {GEOJSON: {}}}, 304: {"description": "Not modified"}},
)
async def list_metro_stations(request: Request, database: DatabaseDep) -> Response:
    """Metro stations as GeoJSON points, with the data set's ODbL attribution."""
    collection = MetroStationCollection.of(await queries.metro_stations(database))
    return cached_geojson(request, collection.model_dump_json().encode())
