"""Traffic's domain events (past tense), published on the bus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SegmentStatesUpdated:
    """An interval's segment states are final (measured and estimated): one event per interval.

    For the live layers, open-data caches and incident detection; they read the states
    themselves through `shahr.traffic.queries`.
    """

    event_id: str
    interval_start: datetime
    measured: int
    estimated: int
    city_speed_kmh: float | None
    congested_share: float  # segments at LOS E or F, as a share of all


@dataclass(frozen=True)
class DetectorHealthChanged:
    """A detector failed a fault check, fell silent, or came back."""

    event_id: str
    detector_id: str
    health: str
    fault: str | None
    changed_at: datetime
