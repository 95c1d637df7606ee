"""An incident: what happened, where, how bad, to which lanes, and its status machine.

Statuses: tentative -> open -> cleared -> closed; tentative -> dismissed (kept, to count
false alarms); cleared -> open (reopen). Every allowed move is in `MOVES`, and only there.
Severity is three levels, minor < major < severe (Open511's MINOR, MODERATE, MAJOR).
Lanes are numbered as SUMO does: index 0 is the rightmost (kerb) lane in the direction of
travel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shahr.incidents.domain.errors import IllegalMoveError, InvalidIncidentError, OutsideCityError
from shahr.incidents.domain.timeline import Mark, Timeline

MAX_LANES = 12
MAX_OFFSET_M = 50_000.0
MAX_DESCRIPTION = 2000
# The city's box (min lon, min lat, max lon, max lat): Tehran with its edges; wiring may
# give another city's. A position outside it is a swapped, mistyped or stale coordinate.
TEHRAN_BOX = (50.95, 35.45, 51.75, 35.90)


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


class IncidentType(StrEnum):
    crash = "crash"
    breakdown = "breakdown"
    roadwork = "roadwork"
    hazard = "hazard"
    flooding = "flooding"
    other = "other"


class Severity(StrEnum):
    minor = "minor"
    major = "major"
    severe = "severe"

    @property
    def rank(self) -> int:
        """1 (minor) to 3 (severe): the queue puts the highest first."""
        return list(Severity).index(self) + 1


class LaneState(StrEnum):
    blocked = "blocked"
    affected = "affected"
    clear = "clear"


class Source(StrEnum):
    operator = "operator"
    police_unit = "police_unit"
    citizen_report = "citizen_report"
    detection = "detection"


class IncidentStatus(StrEnum):
    tentative = "tentative"
    open = "open"
    dismissed = "dismissed"
    cleared = "cleared"
    closed = "closed"


class Action(StrEnum):
    """What may happen to an incident; each accepted one is a row of its audit trail."""

    report = "report"
    confirm = "confirm"
    dismiss = "dismiss"
    clear = "clear"
    reopen = "reopen"
    close = "close"
    update = "update"
    mark = "mark"
    dispatch = "dispatch"
    recall = "recall"


# The status machine: (from, action) -> to. Nothing else moves an incident's status.
MOVES: dict[tuple[IncidentStatus, Action], IncidentStatus] = {
    (IncidentStatus.tentative, Action.confirm): IncidentStatus.open,
    (IncidentStatus.tentative, Action.dismiss): IncidentStatus.dismissed,
    (IncidentStatus.open, Action.clear): IncidentStatus.cleared,
    (IncidentStatus.cleared, Action.reopen): IncidentStatus.open,
    (IncidentStatus.cleared, Action.close): IncidentStatus.closed,
}
ACTIVE = frozenset({IncidentStatus.tentative, IncidentStatus.open})
# Lanes and severity change while the incident is live; the timeline until it is closed.
EDITABLE = ACTIVE
MARKABLE = ACTIVE | {IncidentStatus.cleared}

REFUSAL_MESSAGES = {
    Action.confirm: _("Only a tentative incident can be confirmed."),
    Action.dismiss: _("Only a tentative incident can be dismissed."),
    Action.clear: _("Only an open incident can be cleared."),
    Action.reopen: _("Only a cleared incident can be reopened."),
    Action.close: _("Only a cleared incident can be closed."),
    Action.update: _("A dismissed, cleared or closed incident cannot be changed: reopen it first."),
    Action.mark: _("A dismissed or closed incident's timeline cannot be changed."),
    Action.dispatch: _(
        "Units are sent only to an open incident: confirm a tentative one, reopen a cleared one."
    ),
    Action.report: _("This change is not allowed in the incident's current status."),
    Action.recall: _("This change is not allowed in the incident's current status."),
}


@dataclass(frozen=True)
class CityBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def check(self, lon: float, lat: float, *, field: str = "lon") -> None:
        """Refuse a position outside the city (or not a number)."""
        inside = self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat
        if not inside:  # NaN compares False, so it is refused too
            raise OutsideCityError(
                "This position is outside the city: check the longitude and latitude.",
                field=field,
            )


TEHRAN = CityBox(*TEHRAN_BOX)

COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Location:
    """Where: on a directed segment at `offset_m` from its start, and the point itself."""

    lon: float
    lat: float
    segment_id: str | None = None
    offset_m: float = 0.0
    bearing_deg: float | None = None  # direction of travel, clockwise from north

    def checked(self, box: CityBox) -> Location:
        box.check(self.lon, self.lat)
        if not 0.0 <= self.offset_m <= MAX_OFFSET_M:
            raise InvalidIncidentError(
                "The offset along the segment must be between 0 and {limit} m.",
                field="offset_m",
                limit=int(MAX_OFFSET_M),
            )
        if self.bearing_deg is not None and not 0.0 <= self.bearing_deg < 360.0:
            raise InvalidIncidentError(
                "A direction must be a bearing from 0 to 360 degrees.", field="bearing_deg"
            )
        if self.segment_id is not None and not 0 < len(self.segment_id) <= 200:
            raise InvalidIncidentError("A segment id has 1 to 200 characters.", field="segment_id")
        return self

    @property
    def direction(self) -> str:
        """The compass direction of travel (Open511's road direction), or NONE."""
        if self.bearing_deg is None:
            return "NONE"
        return COMPASS[round(self.bearing_deg / 45.0) % 8]


def checked_lanes(lanes: Sequence[str]) -> tuple[LaneState, ...]:
    if len(lanes) > MAX_LANES:
        raise InvalidIncidentError("Give at most {limit} lanes.", field="lanes", limit=MAX_LANES)
    try:
        return tuple(LaneState(lane) for lane in lanes)
    except ValueError:
        raise InvalidIncidentError(
            "Each lane is blocked, affected or clear.", field="lanes"
        ) from None


@dataclass(frozen=True)
class Incident:
    id: str
    kind: IncidentType
    severity: Severity
    source: Source
    status: IncidentStatus
    location: Location
    created_at: datetime
    updated_at: datetime
    lanes: tuple[LaneState, ...] = ()
    camera_id: str | None = None
    description: str = ""
    timeline: Timeline = field(default_factory=Timeline)
    ended_at: datetime | None = None  # closed or dismissed
    evidence: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1

    @property
    def lanes_blocked(self) -> int:
        return sum(1 for lane in self.lanes if lane is LaneState.blocked)

    def after(self, action: Action, at: datetime) -> Incident:
        """The incident once `action` (a status move) is done at `at`; refused if not allowed."""
        target = MOVES.get((self.status, action))
        if target is None:
            raise IllegalMoveError(REFUSAL_MESSAGES[action], field="status")
        timeline, ended = self.timeline, self.ended_at
        if action is Action.confirm:
            timeline = timeline.first_marked(Mark.verified, at)
        elif action is Action.clear:
            # The lanes are open at the latest when the scene is cleared.
            timeline = timeline.first_marked(Mark.lanes_reopened, at).first_marked(Mark.cleared, at)
        elif action is Action.reopen:
            timeline = replace(timeline, cleared=None, normal_flow=None)
        else:  # dismiss, close
            ended = at
        lanes = tuple(LaneState.clear for _ in self.lanes) if action is Action.clear else self.lanes
        return replace(
            self, status=target, timeline=timeline, ended_at=ended, lanes=lanes, updated_at=at
        )

    def updated(
        self,
        at: datetime,
        *,
        lanes: Sequence[str] | None = None,
        severity: Severity | None = None,
        kind: IncidentType | None = None,
        camera_id: str | None = None,
        description: str | None = None,
    ) -> Incident:
        if self.status not in EDITABLE:
            raise IllegalMoveError(REFUSAL_MESSAGES[Action.update], field="status")
        changed = self
        if lanes is not None:
            changed = replace(changed, lanes=checked_lanes(lanes))
            if changed.lanes and self.lanes_blocked and not changed.lanes_blocked:
                # Lanes all open again: T5, the end of the roadway clearance time.
                changed = replace(
                    changed, timeline=changed.timeline.first_marked(Mark.lanes_reopened, at)
                )
        if severity is not None:
            changed = replace(changed, severity=severity)
        if kind is not None:
            changed = replace(changed, kind=kind)
        if camera_id is not None:
            changed = replace(changed, camera_id=camera_id or None)
        if description is not None:
            changed = replace(changed, description=checked_description(description))
        return replace(changed, updated_at=at)

    def lanes_open(self, at: datetime) -> Incident:
        """Every lane open again (T5), as a unit on the scene reports it."""
        if self.status not in EDITABLE:
            raise IllegalMoveError(REFUSAL_MESSAGES[Action.update], field="status")
        timeline = self.timeline.first_marked(Mark.lanes_reopened, at)
        lanes = tuple(LaneState.clear for _ in self.lanes)
        return replace(self, lanes=lanes, timeline=timeline, updated_at=at)

    def marked(self, mark: Mark, at: datetime | None, *, now: datetime) -> Incident:
        if self.status not in MARKABLE:
            raise IllegalMoveError(REFUSAL_MESSAGES[Action.mark], field="status")
        return replace(self, timeline=self.timeline.marked(mark, at, now=now), updated_at=now)

    def check_dispatchable(self) -> None:
        if self.status is not IncidentStatus.open:
            raise IllegalMoveError(REFUSAL_MESSAGES[Action.dispatch], field="status")


def checked_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise InvalidIncidentError(
            "A description has at most {limit} characters.",
            field="description",
            limit=MAX_DESCRIPTION,
        )
    return text.strip()
