"""What parking's routes ask for: the area's ports, the signed-in citizen, the window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from shahr.kernel.access import Admits
from shahr.kernel.errors import NotSignedInError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.deps import wired
from shahr.parking.domain import InvalidWindowError, TimeWindow, next_whole_minute
from shahr.parking.services import PARKING, ParkingPorts

PREFIX = "/api/v1/parking"
PUBLIC = Depends(Admits(public=True))
CITIZEN = Depends(Admits(Role.citizen))
CitizenPrincipal = Annotated[Principal | None, CITIZEN]
DEFAULT_STAY = timedelta(hours=1)


async def _ports(request: Request) -> ParkingPorts:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    return wired(request, PARKING)


PortsDep = Annotated[ParkingPorts, Depends(_ports)]


def citizen_id(principal: Principal | None) -> str:
    """The signed-in citizen's id (the guard has already refused everyone else)."""
    if principal is None:
        raise NotSignedInError("Please sign in first.")
    return principal.id


def window_asked(
    ports: ParkingPorts, starts_at: datetime | None, ends_at: datetime | None
) -> TimeWindow:
    """The window asked for; without one, an hour from the next whole minute."""
    start = starts_at or next_whole_minute(ports.clock.now())
    end = ends_at or start + DEFAULT_STAY
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidWindowError("Give times with their time zone.", field="starts_at")
    if end <= start:
        raise InvalidWindowError("The stay must end after it starts.", field="ends_at")
    return TimeWindow(start, end)
