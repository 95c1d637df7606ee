"""The dashboard's live line: incident and unit changes from the bus, as Server-Sent Events.

The bus hands each change to this process's `DashboardFeed` (subscribed in incidents'
wiring), which copies it to every open stream. A stream carries what changed (ids and
statuses), never names or positions' history; the page then reads itself again. At city
scale, where the replicas share the durable and each sees only a part of the events, the
page's own re-read every few seconds covers the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from shahr.incidents.events import IncidentChanged, UnitChanged
from shahr.kernel.access import Admits
from shahr.kernel.container import Part
from shahr.kernel.principals import Role
from shahr.kernel.web.deps import wired

EVENTS_PATH = "/staff/incidents/events"
KEEPALIVE_S = 15.0
STREAM_MAX_S = 300.0  # EventSource reconnects by itself
BACKLOG = 100  # a stream this far behind loses the oldest: the page re-reads itself anyway
VIEWERS = frozenset({Role.traffic_operator, Role.police_unit, Role.admin})

router = APIRouter(tags=["incidents pages"], include_in_schema=False)


class DashboardFeed:
    """This process's open dashboard streams, each with its own queue of changes."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = set()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def _send(self, kind: str, body: dict[str, Any]) -> None:
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((kind, body))

    async def incident_changed(self, event: IncidentChanged) -> None:
        self._send(
            "incident",
            {
                "id": event.incident_id,
                "action": event.action,
                "status": event.status,
                "severity": event.severity,
                "kind": event.kind,
                "at": event.at.isoformat(),
            },
        )

    async def unit_changed(self, event: UnitChanged) -> None:
        self._send(
            "unit",
            {
                "id": event.unit_id,
                "action": event.action,
                "status": event.status,
                "incident_id": event.incident_id,
                "lon": event.lon,
                "lat": event.lat,
                "at": event.at.isoformat(),
            },
        )

    @contextlib.contextmanager
    def listening(self) -> Iterator[asyncio.Queue[tuple[str, dict[str, Any]]]]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(BACKLOG)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)


DASHBOARD_FEED: Part[DashboardFeed] = Part("incidents.dashboard_feed")


@router.get(EVENTS_PATH, dependencies=[Depends(Admits(*VIEWERS))])
async def events(
    request: Request,
    max_s: Annotated[float, Query(gt=0, le=STREAM_MAX_S)] = STREAM_MAX_S,
) -> StreamingResponse:
    """`incident` and `unit` events as they happen; a comment now and then keeps the line.

    A client that does not ask for `text/event-stream` (a link followed, a crawler) gets the
    stream's first line and its end, not a line held open for minutes.
    """
    feed = wired(request, DASHBOARD_FEED)
    if "text/event-stream" not in request.headers.get("accept", ""):
        max_s = 0.0

    async def lines() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        ends = loop.time() + max_s
        yield b"retry: 3000\n\n"
        with feed.listening() as queue:
            while (left := ends - loop.time()) > 0 and not await request.is_disconnected():
                try:
                    kind, body = await asyncio.wait_for(queue.get(), min(left, KEEPALIVE_S))
                except TimeoutError:
                    yield b": tick\n\n"
                    continue
                data = json.dumps(body, ensure_ascii=False).encode()
                yield b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"

    return StreamingResponse(
        lines(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
