"""Police units: kind, crew, last position, and the status machine every change goes through.

available -> dispatched -> en_route -> on_scene -> returning -> available; a dispatched or
en-route unit may be recalled (-> available); a returning unit may be sent on at once
(-> dispatched); only an available or returning unit goes out of service, and comes back
available. Each change is timestamped (the unit's status history).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shahr.incidents.domain.errors import IllegalMoveError, InvalidUnitError, UnitUnavailableError
from shahr.incidents.domain.incident import CityBox

MAX_CALL_SIGN = 40
MAX_CREW = 8
MAX_NAME = 120
STALE_AFTER_S = 120.0  # a phone silent this long is flagged stale and not recommended


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


class UnitKind(StrEnum):
    patrol_car = "patrol_car"
    motorcycle = "motorcycle"
    tow_truck = "tow_truck"
    ambulance_liaison = "ambulance_liaison"


class UnitStatus(StrEnum):
    available = "available"
    dispatched = "dispatched"
    en_route = "en_route"
    on_scene = "on_scene"
    returning = "returning"
    out_of_service = "out_of_service"


S = UnitStatus
# The status machine: from -> the statuses it may move to. Nothing else moves a unit.
UNIT_MOVES: dict[UnitStatus, frozenset[UnitStatus]] = {
    S.available: frozenset({S.dispatched, S.out_of_service}),
    S.dispatched: frozenset({S.en_route, S.available}),
    S.en_route: frozenset({S.on_scene, S.available}),
    S.on_scene: frozenset({S.returning}),
    S.returning: frozenset({S.available, S.dispatched, S.out_of_service}),
    S.out_of_service: frozenset({S.available}),
}
DISPATCHABLE = frozenset(
    status for status, targets in UNIT_MOVES.items() if S.dispatched in targets
)
# On an incident: the unit's assignment is live.
ASSIGNED = frozenset({S.dispatched, S.en_route, S.on_scene})

UNIT_REFUSAL_MESSAGES = {
    S.en_route: _("Only a dispatched unit can accept an incident."),
    S.on_scene: _("Only a unit on its way can report its arrival."),
    S.returning: _("Only a unit on the scene can report the incident cleared."),
    S.available: _("A unit on the scene cannot be made available: report the incident cleared."),
    S.out_of_service: _("A unit on an incident cannot go out of service: recall it first."),
}


@dataclass(frozen=True)
class Position:
    lon: float
    lat: float
    reported_at: datetime

    def age_s(self, now: datetime) -> float:
        return max(0.0, (now - self.reported_at).total_seconds())


@dataclass(frozen=True)
class Unit:
    id: str
    call_sign: str
    kind: UnitKind
    crew: tuple[str, ...]
    status: UnitStatus
    status_changed_at: datetime
    position: Position | None = None
    incident_id: str | None = None
    version: int = 1

    def moved_to(self, status: UnitStatus, at: datetime, *, incident_id: str | None = None) -> Unit:
        """The unit in `status` from `at`; refused if the machine does not allow it."""
        if status not in UNIT_MOVES[self.status]:
            if status is S.dispatched:
                raise UnitUnavailableError(
                    "This unit is not available: it is on another incident or out of service.",
                    field="unit_id",
                )
            raise IllegalMoveError(UNIT_REFUSAL_MESSAGES[status], field="status")
        keeps = incident_id if status is S.dispatched else self.incident_id
        return replace(
            self,
            status=status,
            status_changed_at=at,
            incident_id=keeps if status in ASSIGNED else None,
        )

    def reported(self, position: Position, box: CityBox) -> Unit:
        """The unit at a newly reported position; an older report than the last is ignored."""
        box.check(position.lon, position.lat)
        if self.position and position.reported_at <= self.position.reported_at:
            return self
        return replace(self, position=position)

    def is_stale(self, now: datetime, stale_after_s: float = STALE_AFTER_S) -> bool:
        """No position, or none for `stale_after_s`: the phone or AVL has gone silent."""
        return self.position is None or self.position.age_s(now) > stale_after_s


def checked_call_sign(text: str) -> str:
    call_sign = text.strip()
    if not 0 < len(call_sign) <= MAX_CALL_SIGN:
        raise InvalidUnitError(
            "A call sign has 1 to {limit} characters.", field="call_sign", limit=MAX_CALL_SIGN
        )
    return call_sign


def checked_crew(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    crew = tuple(name.strip() for name in names if name.strip())
    if len(crew) > MAX_CREW or any(len(name) > MAX_NAME for name in crew):
        raise InvalidUnitError(
            "A crew has at most {limit} members, each name at most 120 characters.",
            field="crew",
            limit=MAX_CREW,
        )
    return crew
