"""The FHWA incident timeline (T0..T7) and the clearance times measured on it.

FHWA's Traffic Incident Management performance measures (FHWA-HOP-10-010, "TIM Performance
Measures"): T0 the incident occurs, T1 first recordable awareness (detected), T2 verified,
T3 response identified (dispatched), T4 first responder on scene (arrived), T5 all lanes
available (lanes reopened), T6 last responder leaves (cleared), T7 traffic back to normal.

- roadway clearance time (RCT) = T5 - T1: first recordable awareness to all lanes open;
- incident clearance time (ICT) = T6 - T1: first recordable awareness to the last responder
  leaving the scene;
- time to return to normal flow = T7 - T6.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shahr.incidents.domain.errors import InvalidIncidentError


class Mark(StrEnum):
    occurred = "occurred"  # T0
    detected = "detected"  # T1
    verified = "verified"  # T2
    dispatched = "dispatched"  # T3
    arrived = "arrived"  # T4
    lanes_reopened = "lanes_reopened"  # T5
    cleared = "cleared"  # T6
    normal_flow = "normal_flow"  # T7


T_INDEX = {mark: index for index, mark in enumerate(Mark)}

# (earlier, later): pairs that must come in this order when both are known. Verification and
# dispatch may come in either order (a unit is often sent to verify), so they are not paired.
ORDER = (
    (Mark.occurred, Mark.detected),
    (Mark.detected, Mark.verified),
    (Mark.detected, Mark.dispatched),
    (Mark.dispatched, Mark.arrived),
    (Mark.detected, Mark.lanes_reopened),
    (Mark.detected, Mark.cleared),
    (Mark.lanes_reopened, Mark.cleared),
    (Mark.arrived, Mark.cleared),
    (Mark.cleared, Mark.normal_flow),
)


@dataclass(frozen=True)
class Timeline:
    """When each step happened (aware UTC), or None while it has not."""

    occurred: datetime | None = None
    detected: datetime | None = None
    verified: datetime | None = None
    dispatched: datetime | None = None
    arrived: datetime | None = None
    lanes_reopened: datetime | None = None
    cleared: datetime | None = None
    normal_flow: datetime | None = None

    def at(self, mark: Mark) -> datetime | None:
        moment: datetime | None = getattr(self, mark.value)
        return moment

    def marked(self, mark: Mark, at: datetime | None, *, now: datetime) -> Timeline:
        """This timeline with `mark` set to `at` (None unsets it), checked for order."""
        if at is not None:
            if at.tzinfo is None:
                raise InvalidIncidentError("Give times with their time zone.", field=mark.value)
            if at > now:
                raise InvalidIncidentError(
                    "A timeline step cannot be in the future.", field=mark.value
                )
        changed = replace(self, **{mark.value: at})
        changed.check_order(mark)
        return changed

    def first_marked(self, mark: Mark, at: datetime) -> Timeline:
        """Set `mark` unless it is already known: the first time counts (FHWA)."""
        if self.at(mark) is not None:
            return self
        return replace(self, **{mark.value: at})

    def check_order(self, changed: Mark) -> None:
        for earlier, later in ORDER:
            first, then = self.at(earlier), self.at(later)
            if changed in (earlier, later) and first and then and then < first:
                raise InvalidIncidentError(
                    "This time comes before an earlier step of the incident's timeline.",
                    field=changed.value,
                )

    def between(self, start: Mark, end: Mark) -> float | None:
        """Seconds from `start` to `end`, or None while either is unknown."""
        first, then = self.at(start), self.at(end)
        if first is None or then is None:
            return None
        return (then - first).total_seconds()

    @property
    def roadway_clearance_s(self) -> float | None:
        """RCT = T5 - T1 (see the module's note)."""
        return self.between(Mark.detected, Mark.lanes_reopened)

    @property
    def incident_clearance_s(self) -> float | None:
        """ICT = T6 - T1 (see the module's note)."""
        return self.between(Mark.detected, Mark.cleared)

    @property
    def to_normal_flow_s(self) -> float | None:
        return self.between(Mark.cleared, Mark.normal_flow)

    def as_dict(self) -> dict[str, datetime | None]:
        return {mark.value: self.at(mark) for mark in Mark}
