"""Detector readings and plate passages: the stream payloads, decoded and checked.

A payload is refused with one named reason (counted in `/metrics`), never with an
exception that would stop the consumer. docs/traffic-feeds.md is the device-facing text.

Two ways to the same verdicts: `check_reading` judges one decoded item, and the throughput
path (`reading_columns` + `refusals`) judges a whole batch as columns with numpy. The column
path takes only items whose every field has the right type; anything else goes item by item,
so both give each item the same reason.
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

import numpy as np
import numpy.typing as npt

from shahr.traffic.domain.detectors import DetectorId

MAX_PERIOD_S = 3600
MAX_SPEED_KMH = 200.0
# More than one vehicle every 0.5 s past a point is not traffic, whatever the road.
MAX_VEHICLES_PER_S = 2.0
FUTURE_TOLERANCE = timedelta(minutes=2)
LATE_WINDOW = timedelta(minutes=15)
MAX_BATCH = 10_000
MAX_ID_LENGTH = 120
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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


def decode(data: bytes) -> Any | Rejection:
    """The JSON a message carries, or a `malformed` rejection."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return Rejection(RejectReason.malformed, "not JSON")


def split_payload(data: bytes) -> Iterator[dict[str, Any] | Rejection]:
    """The items a message carries: one reading or passage, or a batch of them."""
    body = decode(data)
    if isinstance(body, Rejection):
        yield body
        return
    yield from split_body(body)


def reading_items(body: Any) -> list[Any] | None:
    """The items of a body that is only readings (one, or a batch within the limit), else None.

    What the column path may take; everything else goes through `split_body`.
    """
    if type(body) is not dict:
        return None
    if "readings" in body:
        listed = body["readings"]
        if len(body) == 1 and type(listed) is list and len(listed) <= MAX_BATCH:
            return listed
        return None
    if "passages" in body or "detector_id" not in body:
        return None
    return [body]


def split_body(body: Any) -> Iterator[dict[str, Any] | Rejection]:
    """The items of a decoded message body (see `split_payload`)."""
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


def is_reading(item: dict[str, Any]) -> bool:
    return "detector_id" in item


def epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (the key of a reading with its detector)."""
    return (moment - EPOCH) // ONE_US


@dataclass(frozen=True)
class ReadingColumns:
    """Readings as columns, in the order received; `speed_kmh` is NaN where none was sent."""

    detector_id: list[str]
    observed_at: list[datetime]
    observed_us: IntArray
    period_s: IntArray
    count: IntArray
    occupancy_pct: FloatArray
    speed_kmh: FloatArray

    def __len__(self) -> int:
        return len(self.detector_id)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.int64]) -> ReadingColumns:
        """The readings at these positions, in that order."""
        positions = index.tolist()
        return ReadingColumns(
            detector_id=[self.detector_id[i] for i in positions],
            observed_at=[self.observed_at[i] for i in positions],
            observed_us=self.observed_us[index],
            period_s=self.period_s[index],
            count=self.count[index],
            occupancy_pct=self.occupancy_pct[index],
            speed_kmh=self.speed_kmh[index],
        )

    @classmethod
    def of(cls, readings: Sequence[DetectorReading]) -> ReadingColumns:
        return cls(
            detector_id=[r.detector_id for r in readings],
            observed_at=[r.observed_at for r in readings],
            observed_us=np.array([epoch_us(r.observed_at) for r in readings], dtype=np.int64),
            period_s=np.array([r.period_s for r in readings], dtype=np.int64),
            count=np.array([r.count for r in readings], dtype=np.int64),
            occupancy_pct=np.array([r.occupancy_pct for r in readings], dtype=np.float64),
            speed_kmh=np.array(
                [np.nan if r.speed_kmh is None else r.speed_kmh for r in readings],
                dtype=np.float64,
            ),
        )

    @classmethod
    def concat(cls, parts: Sequence[ReadingColumns]) -> ReadingColumns:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.of([])
        return cls(
            detector_id=[d for part in parts for d in part.detector_id],
            observed_at=[t for part in parts for t in part.observed_at],
            observed_us=np.concatenate([part.observed_us for part in parts]),
            period_s=np.concatenate([part.period_s for part in parts]),
            count=np.concatenate([part.count for part in parts]),
            occupancy_pct=np.concatenate([part.occupancy_pct for part in parts]),
            speed_kmh=np.concatenate([part.speed_kmh for part in parts]),
        )


def _types(values: list[Any]) -> set[type]:
    return set(map(type, values))


def reading_columns(items: list[Any]) -> ReadingColumns | None:
    """Readings whose every field has the right type, as columns; None if any does not.

    Only the shape is judged here (what `check_reading` calls malformed); the values are
    judged by `refusals`. None sends the items through `check_reading` one by one.
    """
    if not items:
        return ReadingColumns.of([])
    if _types(items) != {dict}:
        return None
    try:
        detector_id = [item["detector_id"] for item in items]
        stamps = [item["observed_at"] for item in items]
        period = [item["period_s"] for item in items]
        count = [item["count"] for item in items]
        occupancy = [item["occupancy_pct"] for item in items]
    except KeyError:
        return None
    speed = [item.get("speed_kmh") for item in items]
    if (
        _types(detector_id) != {str}
        or _types(stamps) != {str}
        or _types(period) != {int}
        or _types(count) != {int}
        or not _types(occupancy) <= {int, float}
        or not _types(speed) <= {int, float, type(None)}
        or min(map(len, detector_id)) < 1
        or max(map(len, detector_id)) > MAX_ID_LENGTH
    ):
        return None
    # Devices of one feed share their period ends: parse each distinct stamp once.
    parsed = {stamp: parse_time(stamp) for stamp in dict.fromkeys(stamps)}
    if None in parsed.values():
        return None
    micros = {stamp: epoch_us(moment) for stamp, moment in parsed.items() if moment is not None}
    try:
        period_s = np.array(period, dtype=np.int64)
        counts = np.array(count, dtype=np.int64)
        occupancy_pct = np.array(occupancy, dtype=np.float64)
        speed_kmh = np.array(speed, dtype=np.float64)  # None becomes NaN
    except OverflowError:
        return None
    missing_speed = speed.count(None)
    if not np.isfinite(occupancy_pct).all() or (
        np.count_nonzero(~np.isfinite(speed_kmh)) != missing_speed
        or np.count_nonzero(np.isnan(speed_kmh)) != missing_speed
    ):
        return None
    moments = [parsed[stamp] for stamp in stamps]
    return ReadingColumns(
        detector_id=detector_id,
        observed_at=moments,  # type: ignore[arg-type]  # no None: checked above
        observed_us=np.array([micros[stamp] for stamp in stamps], dtype=np.int64),
        period_s=period_s,
        count=counts,
        occupancy_pct=occupancy_pct,
        speed_kmh=speed_kmh,
    )


REASON_CODES = list(RejectReason)
"""A refusal code is the reason's position here; -1 is accepted."""


def refusals(
    readings: ReadingColumns, now: datetime, *, backfill: bool = False
) -> npt.NDArray[np.int8]:
    """For each well-shaped reading, -1 if its values pass, else its reason's code.

    The same order of checks as `check_reading`: negative, impossible, then the time window.
    """
    code = np.full(len(readings), -1, dtype=np.int8)
    speed = readings.speed_kmh
    has_speed = ~np.isnan(speed)
    period, count, occupancy = readings.period_s, readings.count, readings.occupancy_pct
    now_us = epoch_us(now)
    checks = [
        (
            RejectReason.negative_value,
            (count < 0) | (occupancy < 0) | (has_speed & (speed < 0)) | (period < 0),
        ),
        (
            RejectReason.impossible_value,
            (period < 1)
            | (period > MAX_PERIOD_S)
            | (occupancy > 100.0)
            | (has_speed & (speed > MAX_SPEED_KMH))
            | (count > period * MAX_VEHICLES_PER_S),
        ),
        (RejectReason.future, readings.observed_us > now_us + FUTURE_TOLERANCE // ONE_US),
    ]
    if not backfill:
        checks.append(
            (RejectReason.too_late, readings.observed_us < now_us - LATE_WINDOW // ONE_US)
        )
    for reason, failed in checks:
        code[(code < 0) & failed] = REASON_CODES.index(reason)
    return code


def first_of_each_key(detector: IntArray, observed_us: IntArray) -> npt.NDArray[np.intp]:
    """Positions of one reading per (detector, observed_at), the first seen, sorted by key."""
    if len(detector) == 0:
        return np.zeros(0, dtype=np.intp)
    order = np.lexsort((observed_us, detector))  # stable: the first seen leads its key
    d, t = detector[order], observed_us[order]
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = (d[1:] != d[:-1]) | (t[1:] != t[:-1])
    return order[first]
