"""Traffic's JSON API: live state (GeoJSON, SSE), detectors, journey times, indices, FIWARE."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Role
from shahr.kernel.web.deps import ClockDep, DatabaseDep, SettingsDep, wired
from shahr.kernel.web.etag import cached_response
from shahr.kernel.web.instants import Instant
from shahr.traffic import fiware, services
from shahr.traffic.domain import (
    DetectorNotFoundError,
    InvalidDetectorError,
    InvalidNetworkError,
    InvalidQueryError,
    NoTrafficDataError,
    SegmentNotFoundError,
)
from shahr.traffic.domain.errors import CameraNotFoundError, InvalidCameraError
from shahr.traffic.domain.inventory import InventoryFormatError
from shahr.traffic.domain.network import Segment
from shahr.traffic.queries import indices as index_queries
from shahr.traffic.queries.indices import Scope, detector_position, week_start_of
from shahr.traffic.queries.live import LIVE_STATES, LiveStates
from shahr.traffic.queries.registry import current_registry
from shahr.traffic.queries.state import state_snapshot
from shahr.traffic.schemas import (
    CapacityUpdate,
    ComparisonOut,
    ComparisonReport,
    DistrictCardOut,
    IndicesOut,
    IndicesReport,
    JourneyTimeOut,
    ProfileCellOut,
    SegmentOut,
    SegmentStateOut,
)

ERROR_STATUS: dict[type[DomainError], int] = {
    InvalidNetworkError: 422,
    InvalidDetectorError: 422,
    InvalidQueryError: 422,
    SegmentNotFoundError: 404,
    DetectorNotFoundError: 404,
    NoTrafficDataError: 404,
    InvalidCameraError: 422,
    CameraNotFoundError: 404,
    InventoryFormatError: 422,
}

PUBLIC = Depends(Admits(public=True))
STAFF = Depends(Admits(Role.traffic_operator, Role.police_unit, Role.admin))
OPERATORS = Depends(Admits(Role.traffic_operator, Role.admin))
GEOJSON = "application/geo+json"
# The live state changes each interval; a client checks again after a few seconds.
LIVE_CACHE = "public, max-age=5, must-revalidate"
LIVE_KEEPALIVE_S = 1.0
LIVE_MAX_S = 300.0  # a stream ends after this and the browser reconnects by itself
# What the routes that build their own Response send, for the API document.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified"}}
_OBJECT = {"schema": {"type": "object"}}
_LIST = {"schema": {"type": "array", "items": {"type": "object"}}}

router = APIRouter(prefix="/api/v1/traffic", tags=["traffic"])


def live_states(request: Request) -> LiveStates:
    """The process's live-state cache (traffic's wiring makes one per process)."""
    return wired(request, LIVE_STATES)


LiveDep = Annotated[LiveStates, Depends(live_states)]


@router.get(
    "/segments",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={200: {"content": {GEOJSON: _OBJECT}}, **NOT_MODIFIED},
)
async def segments_geojson(request: Request, live: LiveDep) -> Response:
    """Every segment with its latest state, as a GeoJSON FeatureCollection (ETag, cached)."""
    view = await live.view()
    geojson = view.geojson
    return cached_response(
        request, geojson.body, media_type=GEOJSON, cache_control=LIVE_CACHE, etag=geojson.etag
    )


@router.get("/states", dependencies=[PUBLIC], response_model=list[SegmentStateOut])
async def states(
    database: DatabaseDep,
    at: Annotated[
        Instant | None, Query(description="An instant in the past (ISO 8601, with its zone)")
    ] = None,
) -> list[SegmentStateOut]:
    """Every segment's state for the latest interval, or the interval holding `at`.

    Speed is the space-mean speed over the link, signal delay included where the signal is
    known; `source` says what each state used and `confidence` how far it can be trusted.
    """
    snapshot = await state_snapshot(database, at=at)
    return [SegmentStateOut.of(s) for s in snapshot.states]


@router.get(
    "/history",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={200: {"content": {"application/json": _OBJECT}}},
)
async def history(request: Request, database: DatabaseDep, at: Instant) -> Response:
    """The compact state (los, speed, flow, estimated) at a past instant, for the time slider."""
    snapshot = await state_snapshot(database, at=at)
    body = {
        "interval_start": snapshot.interval_start.isoformat() if snapshot.interval_start else None,
        "states": {
            s.segment_id: [s.los, round(s.speed_kmh, 1), round(s.flow_veh_h), int(s.estimated)]
            for s in snapshot.states
        },
    }
    return JSONResponse(body, headers={"cache-control": "public, max-age=60"})


@router.get(
    "/live",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": _OBJECT, "text/event-stream": {}},
            "description": "The current state once, or `states` events as it changes",
        },
        **NOT_MODIFIED,
    },
)
async def live_stream(
    request: Request,
    live: LiveDep,
    max_s: Annotated[
        float, Query(gt=0, le=LIVE_MAX_S, description="Seconds before the stream ends")
    ] = LIVE_MAX_S,
) -> Response:
    """Server-Sent Events: a `states` event with the compact state whenever it changes.

    A client that does not ask for `text/event-stream` gets the current state once, as JSON.
    The stream ends after `max_s`; EventSource reconnects by itself.
    """
    if "text/event-stream" not in request.headers.get("accept", ""):
        view = await live.view()
        compact = view.compact
        return cached_response(
            request,
            compact.body,
            media_type="application/json",
            cache_control=LIVE_CACHE,
            etag=compact.etag,
        )

    async def events() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        started = quiet_since = loop.time()
        yield b"retry: 2000\n\n"
        # A new view is pushed as soon as the live cache's half-second check finds one;
        # between them a comment now and then keeps proxies from closing the line.
        async with contextlib.aclosing(live.changes()) as changes:
            async for view in changes:
                if loop.time() - started >= max_s or await request.is_disconnected():
                    return
                if view is not None:
                    quiet_since = loop.time()
                    yield b"event: states\ndata: " + view.compact.body + b"\n\n"
                elif loop.time() - quiet_since >= LIVE_KEEPALIVE_S:
                    quiet_since = loop.time()
                    yield b": tick\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.get("/segments/{segment_id}", dependencies=[PUBLIC], response_model=SegmentOut)
async def segment(segment_id: str, database: DatabaseDep, live: LiveDep) -> SegmentOut:
    """One segment, what it is and its latest state."""
    registry = await current_registry(database)
    index = registry.segment_index.get(segment_id)
    if index is None:
        raise SegmentNotFoundError("No road segment has this id.")
    view = await live.view()
    state = next((s for s in view.snapshot.states if s.segment_id == segment_id), None)
    return SegmentOut.of(registry.segments[index], state)


@router.put("/segments/{segment_id}/capacity", dependencies=[OPERATORS], response_model=SegmentOut)
async def set_capacity(
    segment_id: str, body: CapacityUpdate, database: DatabaseDep, clock: ClockDep, live: LiveDep
) -> SegmentOut:
    """Override a segment's capacity (veh/h), or with null go back to class x lanes."""
    updated = await services.set_segment_capacity(
        database, clock, segment_id=segment_id, capacity_veh_h_override=body.capacity_veh_h
    )
    live.invalidate()
    return SegmentOut.of(updated, None)


@router.get(
    "/detectors",
    dependencies=[STAFF],
    response_class=Response,
    responses={200: {"content": {GEOJSON: _OBJECT}}},
)
async def detectors(database: DatabaseDep) -> Response:
    """Detectors and cameras with their health, as GeoJSON points (staff only)."""
    registry = await current_registry(database)
    features = []
    for detector in registry.detectors:
        position = detector_position(registry, detector.id)
        if position is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": detector.id,
                "geometry": {"type": "Point", "coordinates": [position.lon, position.lat]},
                "properties": {
                    "id": detector.id,
                    "kind": detector.kind.value,
                    "segment_id": detector.segment_id,
                    "lane": detector.lane,
                    "health": detector.health.value,
                    "fault": detector.fault.value if detector.fault else None,
                    "health_since": detector.health_since.isoformat()
                    if detector.health_since
                    else None,
                    "last_seen_at": detector.last_seen_at.isoformat()
                    if detector.last_seen_at
                    else None,
                },
            }
        )
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return Response(body, media_type=GEOJSON, headers={"cache-control": "no-store"})


def _period(
    clock: ClockDep, since: datetime | None, until: datetime | None, days: int = 7
) -> tuple[datetime, datetime]:
    end = until or clock.now()
    return since or end - timedelta(days=days), end


@router.get("/journey-times", dependencies=[PUBLIC], response_model=list[JourneyTimeOut])
async def journey_times(
    database: DatabaseDep,
    clock: ClockDep,
    since: Instant | None = None,
    until: Instant | None = None,
) -> list[JourneyTimeOut]:
    """Travel times between plate cameras (the last 15 minutes unless a period is given)."""
    end = until or clock.now()
    start = since or end - timedelta(minutes=15)
    found = await index_queries.journey_times(database, since=start, until=end)
    return [JourneyTimeOut.of(j) for j in found]


@router.get("/indices", dependencies=[PUBLIC], response_model=IndicesReport)
async def indices(
    database: DatabaseDep,
    clock: ClockDep,
    scope: Scope = Scope.city,
    id: Annotated[str | None, Query(description="District number, corridor or segment")] = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> IndicesReport:
    """Travel time, planning time and buffer indices, congestion and VKT (default: 7 days)."""
    start, end = _period(clock, since, until)
    found = await index_queries.indices(database, scope=scope, scope_id=id, since=start, until=end)
    return IndicesReport(
        scope=scope.value, id=id, since=start, until=end, indices=IndicesOut.of(found)
    )


@router.get("/indices/profile", dependencies=[PUBLIC], response_model=list[ProfileCellOut])
async def index_profile(
    database: DatabaseDep,
    clock: ClockDep,
    scope: Scope = Scope.city,
    id: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> list[ProfileCellOut]:
    """The indices by day of week (Saturday = 0) and hour of day in Tehran (default: 28 days)."""
    start, end = _period(clock, since, until, days=28)
    cells = await index_queries.index_profile(
        database, scope=scope, scope_id=id, since=start, until=end
    )
    return [ProfileCellOut.of(c) for c in cells]


@router.get("/districts", dependencies=[PUBLIC], response_model=list[DistrictCardOut])
async def district_cards(
    database: DatabaseDep, clock: ClockDep, live: LiveDep
) -> list[DistrictCardOut]:
    """Each district now: speed, travel time index, against its usual, with the last hours."""
    view = await live.view()
    cards = await index_queries.district_cards(database, view.snapshot, now=clock.now())
    return [DistrictCardOut.of(c) for c in cards]


@router.get("/comparison", dependencies=[PUBLIC], response_model=ComparisonReport)
async def comparison(
    database: DatabaseDep,
    clock: ClockDep,
    week_start: Annotated[
        date | None, Query(description="The Saturday the week starts (default: last week)")
    ] = None,
    scope: Scope = Scope.district,
) -> ComparisonReport:
    """A week against the same week a year before, area by area (VKT, travel time index)."""
    start = week_start or week_start_of(clock.now()) - timedelta(weeks=1)
    areas = await index_queries.week_comparison(database, week_start=start, scope=scope)
    return ComparisonReport(
        week_start=start,
        last_year_week_start=start - timedelta(weeks=52),
        areas=[ComparisonOut.of(a) for a in areas],
    )


@router.get(
    "/fiware/TrafficFlowObserved",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={200: {"content": {"application/json": _LIST, "application/ld+json": _LIST}}},
)
async def traffic_flow_observed(
    settings: SettingsDep,
    live: LiveDep,
    options: Literal["keyValues", "normalized"] = "keyValues",
) -> Response:
    """The latest measured states as FIWARE TrafficFlowObserved entities (NGSI-LD)."""
    view = await live.view()
    segments: dict[str, Segment] = {s.id: s for s in view.snapshot.registry.segments}
    entities: list[dict[str, Any]] = fiware.traffic_flow_observed(
        view.snapshot.states, segments, city=settings.city, key_values=options == "keyValues"
    )
    media = "application/json" if options == "keyValues" else "application/ld+json"
    return Response(json.dumps(entities, ensure_ascii=False), media_type=media)
