"""One payload item judged: a valid reading or passage, or the reason it is refused; and the
plate's daily keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from shahr.traffic.domain.detectors import DetectorId
from shahr.traffic.domain.readings.payloads import (
    DetectorReading,
    PlatePassage,
    Rejection,
    RejectReason,
)

MAX_PERIOD_S = 3600
MAX_SPEED_KMH = 200.0
# More than one vehicle every 0.5 s past a point is not traffic, whatever the road.
MAX_VEHICLES_PER_S = 2.0
FUTURE_TOLERANCE = timedelta(minutes=2)
LATE_WINDOW = timedelta(minutes=15)
MAX_ID_LENGTH = 120


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
        or len(detector_id) > MAX_ID_LENGTH
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
