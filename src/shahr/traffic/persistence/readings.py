"""Raw readings and plate passages (de-duplicated by key), and per-interval detector sums.

Idempotency lives here: a reading is added to its interval's sums only in the transaction
that first inserts it, so a redelivered message inserts nothing and adds nothing.

The ingest path takes columns: on PostgreSQL each step copies its rows into a temporary
table and runs one statement over them, so a batch of tens of thousands of readings costs
a few round trips and no per-row SQL; on SQLite the same steps run as executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Float, Index, Integer, String, delete, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.traffic.domain.readings import ReadingColumns, epoch_us
from shahr.traffic.domain.state import INTERVAL_S, DetectorIntervalSums, interval_at
from shahr.traffic.persistence.base import is_postgresql, stage, upsert

SUMS_FILLFACTOR = 50


class ReadingRow(Base):
    """One detector reading as received; the key is what makes a repeat a duplicate."""

    __tablename__ = "traffic_reading"
    # Only `prune` reads by observed_at, and rows arrive in about that order: a BRIN index
    # (a few pages, touched once per range of pages) instead of a B-tree entry per row.
    __table_args__ = (
        Index("ix_traffic_reading_observed_at", "observed_at", postgresql_using="brin"),
    )

    detector_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    period_s: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    occupancy_pct: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DetectorIntervalRow(Base):
    """A detector's sums over one interval (see `domain.state.DetectorIntervalSums`)."""

    __tablename__ = "traffic_detector_interval"
    # A row is inserted by one batch and its sums updated by the next (lanes report 30 s
    # apart): half of each page is left free so that the update stays on the page, with
    # no new index entries (a HOT update; no indexed column changes). Only the health
    # check (the last hours) and the prune read by interval, and rows arrive in about
    # that order: a BRIN index, not a B-tree entry per row.
    __table_args__ = (
        Index("ix_traffic_detector_interval_start", "interval_start", postgresql_using="brin"),
        {"postgresql_with": {"fillfactor": SUMS_FILLFACTOR}},
    )

    detector_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    readings: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    period_s: Mapped[float] = mapped_column(Float)
    occupancy_s: Mapped[float] = mapped_column(Float)
    speed_count: Mapped[float] = mapped_column(Float)
    inv_speed: Mapped[float] = mapped_column(Float)


class PassageRow(Base):
    """A plate camera's sighting; the plate itself is never stored, only a daily keyed hash."""

    __tablename__ = "traffic_passage"
    __table_args__ = (Index("ix_traffic_passage_plate", "plate_key", "observed_at"),)

    camera_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    plate_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    lane: Mapped[int | None] = mapped_column(Integer)


class JourneyRow(Base):
    """One plate seen at two cameras: a journey time between them."""

    __tablename__ = "traffic_journey"
    __table_args__ = (Index("ix_traffic_journey_pair", "from_camera", "to_camera", "arrived_at"),)

    to_camera: Mapped[str] = mapped_column(String(120), primary_key=True)
    plate_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    from_camera: Mapped[str] = mapped_column(String(120))
    departed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    travel_time_s: Mapped[float] = mapped_column(Float)


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


_INTERVAL_INDEX = f"floor(extract(epoch FROM interval_start) / {INTERVAL_S})::bigint"

STAGED_READING = {
    "n": "int",
    "detector_id": "text",
    "observed_at": "timestamptz",
    "period_s": "int",
    "count": "int",
    "occupancy_pct": "float8",
    "speed_kmh": "float8",
}
STAGED_SUMS = {
    "detector_id": "text",
    "interval_start": "timestamptz",
    "readings": "int",
    "count": "int",
    "period_s": "float8",
    "occupancy_s": "float8",
    "speed_count": "float8",
    "inv_speed": "float8",
}

_INSERT_READINGS = """
WITH inserted AS (
    INSERT INTO traffic_reading
        (detector_id, observed_at, period_s, count, occupancy_pct, speed_kmh, received_at)
    SELECT detector_id, observed_at, period_s, count, occupancy_pct, speed_kmh,
        CAST(:received_at AS timestamptz)
    FROM traffic_staged_reading
    ON CONFLICT (detector_id, observed_at) DO NOTHING
    RETURNING detector_id, observed_at
)
SELECT staged.n FROM traffic_staged_reading AS staged
LEFT JOIN inserted USING (detector_id, observed_at)
WHERE inserted.detector_id IS NULL
"""

_INTERVAL_INDEX = f"floor(extract(epoch FROM interval_start) / {INTERVAL_S})::bigint"
_TOTALS = ", ".join(f"array_agg({c})" for c in ("detector_id", "interval", *SUM_COLUMNS))

# The totals come back as one row of arrays, which asyncpg decodes far faster than rows.
_ADD_SUMS = f"""
WITH totals AS (
    INSERT INTO traffic_detector_interval ({", ".join(STAGED_SUMS)})
    SELECT {", ".join(STAGED_SUMS)} FROM traffic_staged_sums
    ON CONFLICT (detector_id, interval_start) DO UPDATE SET
        {", ".join(f"{c} = traffic_detector_interval.{c} + excluded.{c}" for c in SUM_COLUMNS)}
    RETURNING detector_id, {_INTERVAL_INDEX} AS interval, {", ".join(SUM_COLUMNS)}
)
SELECT {_TOTALS} FROM totals
"""  # noqa: S608  # only this module's own column names are formatted in

_TOTALS_OF = f"""
WITH found AS (
    SELECT detector_id, {_INTERVAL_INDEX} AS interval, {", ".join(SUM_COLUMNS)}
    FROM traffic_detector_interval
    WHERE (detector_id, interval_start) IN (
        SELECT * FROM unnest(CAST(:detector_id AS text[]), CAST(:interval_start AS timestamptz[]))
    )
)
SELECT {_TOTALS} FROM found
"""  # noqa: S608  # only this module's own column names are formatted in


class ReadingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_readings(
        self, readings: ReadingColumns, received_at: datetime
    ) -> npt.NDArray[np.bool_]:
        """Insert readings, skipping any already stored; which of them were inserted.

        The keys must be distinct within the call (ingest keeps the first of each).
        """
        inserted = np.ones(len(readings), dtype=np.bool_)
        if not len(readings):
            return inserted
        speed = [None if np.isnan(v) else v for v in readings.speed_kmh.tolist()]
        if is_postgresql(self.session):
            staged = {
                "n": list(range(len(readings))),
                "detector_id": readings.detector_id,
                "observed_at": readings.observed_at,
                "period_s": readings.period_s.tolist(),
                "count": readings.count.tolist(),
                "occupancy_pct": readings.occupancy_pct.tolist(),
                "speed_kmh": speed,
            }
            await stage(self.session, "traffic_staged_reading", STAGED_READING, staged)
            result = await self.session.execute(
                text(_INSERT_READINGS), {"received_at": received_at}
            )
            inserted[[int(row[0]) for row in result]] = False
            return inserted
        keys = await self.insert_new(
            [
                {
                    "detector_id": detector_id,
                    "observed_at": observed_at,
                    "period_s": period_s,
                    "count": count,
                    "occupancy_pct": occupancy_pct,
                    "speed_kmh": speed_kmh,
                    "received_at": received_at,
                }
                for detector_id, observed_at, period_s, count, occupancy_pct, speed_kmh in zip(
                    readings.detector_id,
                    readings.observed_at,
                    readings.period_s.tolist(),
                    readings.count.tolist(),
                    readings.occupancy_pct.tolist(),
                    speed,
                    strict=True,
                )
            ]
        )
        stored = {(detector_id, epoch_us(moment)) for detector_id, moment in keys}
        inserted[:] = [
            key in stored
            for key in zip(readings.detector_id, readings.observed_us.tolist(), strict=True)
        ]
        return inserted

    async def add_sums(self, detector_id: list[str], sums: DetectorIntervalSums) -> IntervalTotals:
        """Add each (detector, interval)'s new sums to what it holds; the totals after.

        `detector_id` names the detector of each row of `sums`.
        """
        columns: dict[str, list[Any]] = {
            "detector_id": detector_id,
            "interval_start": _interval_starts(sums.interval),
            "readings": sums.readings.astype(np.int64).tolist(),
            "count": sums.count.astype(np.int64).tolist(),
            **{name: getattr(sums, name).tolist() for name in SUM_COLUMNS[2:]},
        }
        if is_postgresql(self.session):
            await stage(self.session, "traffic_staged_sums", STAGED_SUMS, columns)
            result = await self.session.execute(text(_ADD_SUMS))
            return IntervalTotals.of_arrays(result.one())
        rows = [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]
        return _totals(await self.add_to_intervals(rows))

    async def totals_of(
        self, detector_id: list[str], interval: npt.NDArray[np.int64]
    ) -> IntervalTotals:
        """The stored sums of these (detector, interval index) pairs (those that exist)."""
        if not detector_id:
            return IntervalTotals.of_rows([])
        starts = _interval_starts(interval)
        if is_postgresql(self.session):
            result = await self.session.execute(
                text(_TOTALS_OF), {"detector_id": detector_id, "interval_start": starts}
            )
            return IntervalTotals.of_arrays(result.one())
        return _totals(await self.sums_of(list(zip(detector_id, starts, strict=True))))

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, datetime]]:
        """Insert readings, skipping any already stored; the keys of those inserted."""
        if not rows:
            return set()
        table = ReadingRow.__table__
        statement = (
            upsert(self.session, table)  # type: ignore[arg-type]
            .on_conflict_do_nothing(index_elements=["detector_id", "observed_at"])
            .returning(table.c.detector_id, table.c.observed_at)
        )
        result = await self.session.execute(statement, list(rows))
        return {(row[0], _utc(row[1])) for row in result}

    async def add_to_intervals(self, sums: Sequence[dict[str, Any]]) -> list[IntervalSums]:
        """Add each (detector, interval)'s new sums to what it holds; the totals after."""
        if not sums:
            return []
        table = DetectorIntervalRow.__table__
        statement = upsert(self.session, table)  # type: ignore[arg-type]
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["detector_id", "interval_start"],
            set_={name: table.c[name] + excluded[name] for name in SUM_COLUMNS},
        ).returning(*(table.c[name] for name in RETURNED))
        result = await self.session.execute(statement, list(sums))
        return [IntervalSums(*row) for row in result]

    async def sums_of(self, keys: Sequence[tuple[str, datetime]]) -> list[IntervalSums]:
        """The stored sums of these (detector, interval) pairs (those that exist)."""
        table = DetectorIntervalRow.__table__
        found: list[IntervalSums] = []
        for start in range(0, len(keys), 2000):
            chunk = list(keys[start : start + 2000])
            rows = await self.session.execute(
                select(*(table.c[name] for name in RETURNED)).where(
                    tuple_(table.c.detector_id, table.c.interval_start).in_(chunk)
                )
            )
            found.extend(IntervalSums(*row) for row in rows)
        return found

    async def sums_between(self, since: datetime, until: datetime) -> list[DetectorIntervalRow]:
        found = await self.session.scalars(
            select(DetectorIntervalRow)
            .where(
                DetectorIntervalRow.interval_start >= since,
                DetectorIntervalRow.interval_start < until,
            )
            .order_by(DetectorIntervalRow.detector_id, DetectorIntervalRow.interval_start)
        )
        return list(found)

    async def insert_passages(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert passages, skipping repeats; those inserted."""
        if not rows:
            return []
        table = PassageRow.__table__
        statement = (
            upsert(self.session, table)  # type: ignore[arg-type]
            .on_conflict_do_nothing(index_elements=["camera_id", "observed_at", "plate_key"])
            .returning(table.c.camera_id, table.c.observed_at, table.c.plate_key)
        )
        result = await self.session.execute(statement, list(rows))
        inserted = {(r[0], _utc(r[1]), r[2]) for r in result}
        return [r for r in rows if (r["camera_id"], r["observed_at"], r["plate_key"]) in inserted]

    async def sightings_of(
        self, plate_keys: Sequence[str], since: datetime, until: datetime
    ) -> list[tuple[str, str, datetime]]:
        keys = list(set(plate_keys))
        found: list[tuple[str, str, datetime]] = []
        for start in range(0, len(keys), 5000):
            rows = await self.session.execute(
                select(PassageRow.plate_key, PassageRow.camera_id, PassageRow.observed_at).where(
                    PassageRow.plate_key.in_(keys[start : start + 5000]),
                    PassageRow.observed_at >= since,
                    PassageRow.observed_at <= until,
                )
            )
            found.extend((r[0], r[1], _utc(r[2])) for r in rows)
        return found

    async def save_journeys(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        statement = upsert(self.session, JourneyRow.__table__).on_conflict_do_nothing(  # type: ignore[arg-type]
            index_elements=["to_camera", "plate_key", "arrived_at"]
        )
        await self.session.execute(statement, list(rows))

    async def journeys_between(self, since: datetime, until: datetime) -> list[JourneyRow]:
        found = await self.session.scalars(
            select(JourneyRow).where(JourneyRow.arrived_at >= since, JourneyRow.arrived_at < until)
        )
        return list(found)

    async def prune(self, *, readings_before: datetime, sums_before: datetime) -> int:
        """Delete raw readings, passages, journeys and sums older than the policy keeps."""
        removed = 0
        for statement in (
            delete(ReadingRow).where(ReadingRow.observed_at < readings_before),
            delete(PassageRow).where(PassageRow.observed_at < readings_before),
            delete(JourneyRow).where(JourneyRow.arrived_at < sums_before),
            delete(DetectorIntervalRow).where(DetectorIntervalRow.interval_start < sums_before),
        ):
            result = await self.session.execute(statement)
            removed += int(getattr(result, "rowcount", 0) or 0)
        return removed


def _interval_starts(interval: npt.NDArray[np.int64]) -> list[datetime]:
    starts = {index: interval_at(index) for index in set(interval.tolist())}
    return [starts[index] for index in interval.tolist()]


def _totals(rows: Sequence[IntervalSums]) -> IntervalTotals:
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


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
