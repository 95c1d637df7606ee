"""The stream payloads: readings and passages, how a message carries them, and the named
reason a payload is refused."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shahr.traffic.domain.detectors import DetectorId

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


def is_reading(item: dict[str, Any]) -> bool:
    return "detector_id" in item
