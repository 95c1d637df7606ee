"""Incidents' domain events (past tense), published on the bus after each commit.

The dashboard streams them (SSE) and reads what changed through `shahr.incidents.queries`;
the events carry ids and the new status, never people's names or positions' history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IncidentChanged:
    """An incident was reported, confirmed, dismissed, updated, marked, dispatched to, cleared,
    reopened or closed: one event per accepted change (one audit row)."""

    event_id: str
    incident_id: str
    action: str
    status: str
    severity: str
    kind: str
    segment_id: str | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class UnitChanged:
    """A unit was registered, changed status, or reported a position (`action` "position")."""

    event_id: str
    unit_id: str
    action: str
    status: str
    incident_id: str | None
    lon: float | None
    lat: float | None
    at: datetime
