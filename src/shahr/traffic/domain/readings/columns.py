"""The throughput path: a batch of readings as numpy columns, judged with the same verdicts
as `check_reading` gives one item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from shahr.traffic.domain.readings.checks import (
    FUTURE_TOLERANCE,
    LATE_WINDOW,
    MAX_ID_LENGTH,
    MAX_PERIOD_S,
    MAX_SPEED_KMH,
    MAX_VEHICLES_PER_S,
    parse_time,
)
from shahr.traffic.domain.readings.payloads import DetectorReading, RejectReason

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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
