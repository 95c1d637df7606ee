"""Place search and the offline base layer, for every map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from shahr.kernel.access import Admits
from shahr.kernel.web.deps import wired
from shahr.kernel.web.etag import cached_response
from shahr.maps.domain import MAX_QUERY_CHARS, PlaceQueryError, checked_query
from shahr.maps.queries import ATLAS, AtlasCache
from shahr.maps.schemas import PlaceList, PlaceOut

GEOJSON = "application/geo+json"
PUBLIC = Depends(Admits(public=True))
ERROR_STATUS = {PlaceQueryError: 422}

router = APIRouter(prefix="/api/v1", tags=["maps"])


async def _atlas(request: Request) -> AtlasCache:
    return wired(request, ATLAS)


AtlasDep = Annotated[AtlasCache, Depends(_atlas)]


@router.get(
    "/places",
    dependencies=[PUBLIC],
    response_model=PlaceList,
    responses={422: {"description": "Nothing to search for, or more than 100 characters"}},
)
async def search_places(
    atlas: AtlasDep,
    # Checked here rather than by Query's own limits, so the refusal says what to do in the
    # user's language; the limits are still declared for the API document.
    q: Annotated[
        str,
        Query(
            description="A place's name or part of it, in Persian or English: a district, "
            "parking zone, metro station or street. Arabic ي/ك and Persian or Arabic digits "
            "are read as their Persian and ASCII forms.",
            json_schema_extra={"minLength": 1, "maxLength": MAX_QUERY_CHARS},
            examples=["تجریش", "Azadi", "منطقه ۷"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> PlaceList:
    """Places whose name matches, best first: the whole name, its start, a word's start, a part."""
    found = (await atlas.current()).places.search(checked_query(q), limit=limit)
    return PlaceList(query=q, places=[PlaceOut.of(f) for f in found])


@router.get(
    "/maps/base-layer",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={
        200: {
            "content": {GEOJSON: {}},
            "description": "Districts, roads, metro lines and stations as one FeatureCollection",
        },
        304: {"description": "Not modified"},
    },
)
async def base_layer(request: Request, atlas: AtlasDep) -> Response:
    """The offline base layer the maps draw when no tile server is set, simplified once."""
    current = await atlas.current()
    return cached_response(
        request,
        current.base_layer,
        media_type=GEOJSON,
        cache_control="public, max-age=300",
        etag=current.base_layer_etag,
    )
