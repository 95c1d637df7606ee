"""Bay lights, read only: what each bay of a meter should show and what the meter reports.

`GET .../lights` answers once; `GET .../lights/stream` is Server-Sent Events for the
confirmation page, which watches the light turn green live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from shahr.kernel.access import Admits
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.web.deps import ClockDep, DatabaseDep, wired
from shahr.kernel.web.i18n import gettext
from shahr.parking.domain import DEFAULT_COLOR, BayLight, BayLightKey, LightColor, unset_command
from shahr.parking.persistence import MeterLights, meter_lights
from shahr.parking.queries import InventoryCache
from shahr.parking.services import PARKING

PUBLIC = Depends(Admits(public=True))
EVENT_STREAM = "text/event-stream"
# How often the stream looks for a change, and says it is alive when nothing changes.
POLL_S = 0.5
KEEPALIVE_S = 15.0

router = APIRouter(prefix="/api/v1/parking/meters", tags=["parking"])


def _inventory(request: Request) -> InventoryCache:
    return wired(request, PARKING).inventory


InventoryDep = Annotated[InventoryCache, Depends(_inventory)]


class LightState(StrEnum):
    """Where a bay's light stands, for people: shown, on its way, or stuck."""

    shown = "shown"
    sending = "sending"
    waiting_for_broker = "waiting_for_broker"
    meter_offline = "meter_offline"


class DesiredLightOut(BaseModel):
    color: LightColor
    seq: int
    until: datetime | None
    issued_at: datetime | None
    pending: bool


class ReportedLightOut(BaseModel):
    color: LightColor
    seq: int
    at: datetime
    received_at: datetime | None


class BayLightOut(BaseModel):
    bay_number: int
    desired: DesiredLightOut
    reported: ReportedLightOut | None
    in_step: bool
    state: LightState
    message: str


class MeterLightsOut(BaseModel):
    """Desired and reported light per bay, and whether the meter is connected."""

    meter_id: int
    meter_device_id: str
    online: bool | None
    online_since: datetime | None
    last_seen_at: datetime | None
    bays: list[BayLightOut]


def _message(state: LightState, color: LightColor) -> str:
    """A sentence for people; each is a literal msgid so the catalog check finds it."""
    if state is LightState.meter_offline:
        return gettext(
            "The meter is offline; its light will change as soon as it reconnects."
            " Your reservation holds either way."
        )
    if state is LightState.waiting_for_broker:
        return gettext(
            "The light command is waiting for the meter network and will be sent"
            " when it is back. Your reservation holds either way."
        )
    if state is LightState.sending:
        if color is LightColor.green:
            return gettext("The meter is turning the bay light green…")
        if color is LightColor.red:
            return gettext("The meter is turning the bay light red…")
        return gettext("The meter is turning the bay light off…")
    if color is LightColor.green:
        return gettext("The bay light is green: the bay is reserved.")
    if color is LightColor.red:
        return gettext("The bay light is red: the bay is closed.")
    return gettext("The bay light is off: the bay is not reserved.")


def _bay_out(
    light: BayLight, received_at: datetime | None, online: bool | None, now: datetime
) -> BayLightOut:
    desired = light.desired
    wanted = desired.color_at(now)
    if light.in_step(now) or (desired.seq == 0 and wanted is DEFAULT_COLOR):
        state = LightState.shown
    elif light.pending:
        state = LightState.waiting_for_broker
    elif online is False:
        state = LightState.meter_offline
    else:
        state = LightState.sending
    reported = light.reported
    return BayLightOut(
        bay_number=light.key.bay_number,
        desired=DesiredLightOut(
            color=wanted,
            seq=desired.seq,
            until=desired.until,
            issued_at=desired.issued_at if desired.seq else None,
            pending=light.pending,
        ),
        reported=None
        if reported is None
        else ReportedLightOut(
            color=reported.color, seq=reported.seq, at=reported.at, received_at=received_at
        ),
        in_step=light.in_step(now),
        state=state,
        message=_message(state, wanted),
    )


async def lights_now(
    database: Database, inventory: InventoryCache, clock: Clock, meter_id: int
) -> MeterLightsOut:
    """Each bay's light of a meter now: what the API, the stream and the operators' page show."""
    meter = (await inventory.current()).meter(meter_id)
    known: MeterLights | None = await meter_lights(database, meter_id, meter.device_id)
    now = clock.now()
    by_number = {bay.light.key.bay_number: bay for bay in known.bays} if known else {}
    presence = known.presence if known else None
    online = None if presence is None else presence.online
    bays = []
    for bay in sorted((b for b in meter.bays if b.in_service), key=lambda b: b.number):
        view = by_number.get(bay.number)
        if view is None:
            unlit = BayLight(BayLightKey(meter.device_id, bay.number), meter.id, unset_command(now))
            bays.append(_bay_out(unlit, None, online, now))
        else:
            bays.append(_bay_out(view.light, view.reported_received_at, online, now))
    return MeterLightsOut(
        meter_id=meter.id,
        meter_device_id=meter.device_id,
        online=online,
        online_since=None if presence is None else presence.since,
        last_seen_at=None if presence is None else presence.last_seen_at,
        bays=bays,
    )


@router.get("/{meter_id}/lights", dependencies=[PUBLIC], response_model=MeterLightsOut)
async def get_meter_lights(
    meter_id: int, database: DatabaseDep, inventory: InventoryDep, clock: ClockDep
) -> MeterLightsOut:
    """Each bay's desired light (what the platform commands) and reported light (what the
    meter says it shows), kept apart, with the meter's presence."""
    return await lights_now(database, inventory, clock, meter_id)


@router.get(
    "/{meter_id}/lights/stream",
    dependencies=[PUBLIC],
    response_class=StreamingResponse,
    responses={200: {"content": {EVENT_STREAM: {}}, "description": "`lights` events"}},
)
async def stream_meter_lights(
    meter_id: int,
    request: Request,
    database: DatabaseDep,
    inventory: InventoryDep,
    clock: ClockDep,
    max_s: Annotated[
        float, Query(ge=1, le=3600, description="Close after this long; EventSource reconnects.")
    ] = 300,
) -> StreamingResponse:
    """Server-Sent Events: a `lights` event (the body of `GET .../lights`) now and on every
    change, so a page sees the bay light turn green live."""
    first = await lights_now(database, inventory, clock, meter_id)  # 404 before streaming

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        async for snapshot in light_changes(
            first, lambda: lights_now(database, inventory, clock, meter_id), max_s=max_s
        ):
            if await request.is_disconnected():
                return
            yield snapshot

    return StreamingResponse(
        events(),
        media_type=EVENT_STREAM,
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def light_changes(
    first: MeterLightsOut,
    read: Callable[[], Awaitable[MeterLightsOut]],
    *,
    max_s: float,
    poll_s: float = POLL_S,
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[str]:
    """SSE frames: the first snapshot, then each changed one, with keep-alive comments."""
    deadline = time.monotonic() + max_s
    last = first.model_dump_json()
    yield f"event: lights\ndata: {last}\n\n"
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(poll_s)
        current = (await read()).model_dump_json()
        if current != last:
            last = current
            quiet_since = time.monotonic()
            yield f"event: lights\ndata: {current}\n\n"
        elif time.monotonic() - quiet_since >= keepalive_s:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
