"""What happened in identity, for other areas to react to (published after the commit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CitizenRegistered:
    event_id: str
    citizen_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class VehicleRegistered:
    event_id: str
    citizen_id: str
    vehicle_id: str
    plate: str
    kind: str
    occurred_at: datetime


@dataclass(frozen=True)
class VehicleRemoved:
    event_id: str
    citizen_id: str
    vehicle_id: str
    plate: str
    occurred_at: datetime


@dataclass(frozen=True)
class ApiKeyRevoked:
    event_id: str
    api_key_id: str
    occurred_at: datetime
