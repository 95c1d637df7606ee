"""Detector readings and plate passages: the stream payloads, decoded and checked.

A payload is refused with one named reason (counted in `/metrics`), never with an
exception that would stop the consumer. docs/traffic-feeds.md is the device-facing text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shahr.traffic.domain.detectors import DetectorId

MAX_PERIOD_S = 3600
MAX_SPEED_KMH = 200.0
# More than one vehicle every 0.5 s past a point is not traffic, whatever the road.
MAX_VEHICLES_PER_S = 2.0
FUTURE_TOLERANCE = timedelta(minutes=2)
LATE_WINDOW = timedelta(minutes=15)
MAX_BATCH = 10_000


class RejectReason(StrEnum):
    malformed = "malformed"  # not JSON, wrong shape, missing or mistyped fields
    unknown_detector = "unknown_detector"
    negative_value = "negative_value"
    impossible_value = "impossible_value"
    future = "future"  # observed_at too far ahead of the server's clock
    too_late = "too_late"  # older than the late window (back-fill has its own command)
    wrong_kind = "wrong_kind"  # a reading from a plate camera, or a passage from a loop


@dataclass(frozen=True)
class DetectorReading:
    """A detector's counts over `period_s` seconds ending at `observed_at`."""

    detector_id: DetectorId
    observed_at: datetime
    period_s: int
    count: int
    occupancy_pct: float
    speed_kmh: float | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "detector_id": self.detector_id,
            "observed_at": iso(self.observed_at),
            "period_s": self.period_s,
            "count": self.count,
            "occupancy_pct": self.occupancy_pct,
            "speed_kmh": self.speed_kmh,
        }


@dataclass(frozen=True)
class PlatePassage:
    """A plate camera saw a plate at `observed_at`; `plate` is canonical, or already a hash."""

    camera_id: DetectorId
    observed_at: datetime
    plate: str
    lane: int | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "observed_at": iso(self.observed_at),
            "plate": self.plate,
            "lane": self.lane,
        }


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a `Z`, as the payloads carry it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def batch_payload(
    readings: Iterable[DetectorReading] = (), passages: Iterable[PlatePassage] = ()
) -> bytes:
    """One message carrying many readings and passages (the throughput path)."""
    body: dict[str, Any] = {}
    listed_readings = [r.to_payload() for r in readings]
    listed_passages = [p.to_payload() for p in passages]
    if listed_readings:
        body["readings"] = listed_readings
    if listed_passages:
        body["passages"] = listed_passages
    return encode(body)


@dataclass(frozen=True)
class Rejection:
    reason: RejectReason
    detail: str


def split_payload(data: bytes) -> Iterator[dict[str, Any] | Rejection]:
    """The items a message carries: one reading or passage, or a batch of them."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        yield Rejection(RejectReason.malformed, "not JSON")
        return
    if not isinstance(body, dict):
        yield Rejection(RejectReason.malformed, "not a JSON object")
        return
    if "readings" in body or "passages" in body:
        items: list[Any] = []
        for key in ("readings", "passages"):
            listed = body.get(key, [])
            if not isinstance(listed, list):
                yield Rejection(RejectReason.malformed, f"{key} is not a list")
                return
            items.extend(listed)
        if len(items) > MAX_BATCH:
            yield Rejection(RejectReason.malformed, f"more than {MAX_BATCH} items")
            return
        for item in items:
            yield (
                item
                if isinstance(item, dict)
                else Rejection(RejectReason.malformed, "an item is not an object")
            )
        return
    yield body


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text with a zone, else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _within_window(observed_at: datetime, now: datetime, *, backfill: bool) -> Rejection | None:
    if observed_at > now + FUTURE_TOLERANCE:
        return Rejection(RejectReason.future, "observed_at is in the future")
    if not backfill and observed_at < now - LATE_WINDOW:
        return Rejection(RejectReason.too_late, "older than the late window")
    return None


def check_reading(
    item: dict[str, Any], now: datetime, *, backfill: bool = False
) -> DetectorReading | Rejection:
    """A valid reading, or the reason it is refused (the registry is checked by the caller)."""
    detector_id = item.get("detector_id")
    observed_at = parse_time(item.get("observed_at"))
    period = item.get("period_s")
    count = item.get("count")
    occupancy = _number(item.get("occupancy_pct"))
    speed_raw = item.get("speed_kmh")
    speed = None if speed_raw is None else _number(speed_raw)
    if (
        not isinstance(detector_id, str)
        or not detector_id
        or len(detector_id) > 120
        or observed_at is None
        or not isinstance(period, int)
        or isinstance(period, bool)
        or not isinstance(count, int)
        or isinstance(count, bool)
        or occupancy is None
        or (speed_raw is not None and speed is None)
    ):
        return Rejection(RejectReason.malformed, "missing or mistyped fields")
    if count < 0 or occupancy < 0 or (speed is not None and speed < 0) or period < 0:
        return Rejection(RejectReason.negative_value, "a negative value")
    if (
        not 1 <= period <= MAX_PERIOD_S
        or occupancy > 100.0
        or (speed is not None and speed > MAX_SPEED_KMH)
        or count > period * MAX_VEHICLES_PER_S
    ):
        return Rejection(RejectReason.impossible_value, "a value no road can produce")
    late = _within_window(observed_at, now, backfill=backfill)
    if late is not None:
        return late
    return DetectorReading(
        detector_id=DetectorId(detector_id),
        observed_at=observed_at,
        period_s=period,
        count=count,
        occupancy_pct=occupancy,
        speed_kmh=speed,
    )


def check_passage(
    item: dict[str, Any], now: datetime, *, backfill: bool = False
) -> PlatePassage | Rejection:
    camera_id = item.get("camera_id")
    observed_at = parse_time(item.get("observed_at"))
    plate = item.get("plate")
    lane = item.get("lane")
    if (
        not isinstance(camera_id, str)
        or not camera_id
        or len(camera_id) > 120
        or observed_at is None
        or not isinstance(plate, str)
        or not 1 <= len(plate) <= 128
        or (lane is not None and (not isinstance(lane, int) or isinstance(lane, bool)))
    ):
        return Rejection(RejectReason.malformed, "missing or mistyped fields")
    if lane is not None and not 1 <= lane <= 16:
        return Rejection(RejectReason.impossible_value, "no such lane")
    late = _within_window(observed_at, now, backfill=backfill)
    if late is not None:
        return late
    return PlatePassage(
        camera_id=DetectorId(camera_id), observed_at=observed_at, plate=plate, lane=lane
    )


def plate_key(plate: str, observed_at: datetime, secret: str) -> str:
    """A keyed hash of the plate that changes every UTC day: journeys match within a day,
    but nobody holding the table can follow a car across days or read the plate back."""
    day_key = hmac.new(
        secret.encode(), f"traffic-plates:{observed_at.date().isoformat()}".encode(), "sha256"
    ).digest()
    return hmac.new(day_key, plate.strip().upper().encode(), hashlib.sha256).hexdigest()[:32]


def is_reading(item: dict[str, Any]) -> bool:
    return "detector_id" in item


def dedupe_readings(readings: Sequence[DetectorReading]) -> list[DetectorReading]:
    """One reading per (detector, observed_at): the first one seen wins."""
    seen: set[tuple[str, datetime]] = set()
    kept = []
    for reading in readings:
        key = (reading.detector_id, reading.observed_at)
        if key not in seen:
            seen.add(key)
            kept.append(reading)
    return kept
