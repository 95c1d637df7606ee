"""A detector's sums over an interval as the repository hands them back: one by one, or as
columns for the throughput path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from shahr.traffic.domain.state import INTERVAL_S, interval_at

SUM_COLUMNS = ("readings", "count", "period_s", "occupancy_s", "speed_count", "inv_speed")
RETURNED = ("detector_id", "interval_start", *SUM_COLUMNS)


@dataclass(frozen=True, slots=True)
class IntervalSums:
    """A detector's sums over an interval, as plain values."""

    detector_id: str
    interval_start: datetime
    readings: int
    count: int
    period_s: float
    occupancy_s: float
    speed_count: float
    inv_speed: float


@dataclass(frozen=True)
class IntervalTotals:
    """(detector, interval) sums as columns; `interval` is the interval index."""

    detector_id: list[str]
    interval: npt.NDArray[np.int64]
    readings: npt.NDArray[np.float64]
    count: npt.NDArray[np.float64]
    period_s: npt.NDArray[np.float64]
    occupancy_s: npt.NDArray[np.float64]
    speed_count: npt.NDArray[np.float64]
    inv_speed: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.detector_id)

    @classmethod
    def of_rows(cls, rows: Sequence[Sequence[Any]]) -> IntervalTotals:
        """From rows of (detector_id, interval index, *SUM_COLUMNS)."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * 8
        return cls(
            detector_id=list(columns[0]),
            interval=np.array(columns[1], dtype=np.int64),
            readings=np.array(columns[2], dtype=np.float64),
            count=np.array(columns[3], dtype=np.float64),
            period_s=np.array(columns[4], dtype=np.float64),
            occupancy_s=np.array(columns[5], dtype=np.float64),
            speed_count=np.array(columns[6], dtype=np.float64),
            inv_speed=np.array(columns[7], dtype=np.float64),
        )

    @classmethod
    def of_arrays(cls, arrays: Sequence[list[Any] | None]) -> IntervalTotals:
        """From one list per column (detector_id, interval index, *SUM_COLUMNS)."""
        if arrays[0] is None:  # array_agg over no rows
            return cls.of_rows([])
        columns = [list(a or ()) for a in arrays]
        return cls(
            detector_id=columns[0],
            interval=np.array(columns[1], dtype=np.int64),
            **{
                name: np.array(column, dtype=np.float64)
                for name, column in zip(SUM_COLUMNS, columns[2:], strict=True)
            },
        )

    @classmethod
    def concat(cls, first: IntervalTotals, second: IntervalTotals) -> IntervalTotals:
        return cls(
            detector_id=first.detector_id + second.detector_id,
            **{
                name: np.concatenate([getattr(first, name), getattr(second, name)])
                for name in ("interval", *SUM_COLUMNS)
            },
        )


def interval_starts(interval: npt.NDArray[np.int64]) -> list[datetime]:
    starts = {index: interval_at(index) for index in set(interval.tolist())}
    return [starts[index] for index in interval.tolist()]


def totals_of_sums(rows: Sequence[IntervalSums]) -> IntervalTotals:
    return IntervalTotals.of_rows(
        [
            (
                r.detector_id,
                int(r.interval_start.timestamp()) // INTERVAL_S,
                *(getattr(r, name) for name in SUM_COLUMNS),
            )
            for r in rows
        ]
    )
