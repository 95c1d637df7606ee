"""Raw readings and plate passages (de-duplicated by key), and per-interval detector sums.

Idempotency lives here: a reading is added to its interval's sums only in the transaction
that first inserts it, so a redelivered message inserts nothing and adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base
from shahr.traffic.persistence.base import UtcDateTime, upsert


class ReadingRow(Base):
    """One detector reading as received; the key is what makes a repeat a duplicate."""

    __tablename__ = "traffic_reading"
    __table_args__ = (Index("ix_traffic_reading_observed_at", "observed_at"),)

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
    __table_args__ = (
        Index("ix_traffic_detector_interval_segment", "interval_start", "segment_id"),
    )

    detector_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    segment_id: Mapped[str] = mapped_column(String(120))
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


class ReadingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def interval_sums(
        self, segment_ids: Sequence[str], interval_starts: Sequence[datetime]
    ) -> list[DetectorIntervalRow]:
        """Every detector's sums for these segments over these intervals."""
        rows: list[DetectorIntervalRow] = []
        ids = list(segment_ids)
        for start in range(0, len(ids), 5000):
            found = await self.session.scalars(
                select(DetectorIntervalRow).where(
                    DetectorIntervalRow.interval_start.in_(list(interval_starts)),
                    DetectorIntervalRow.segment_id.in_(ids[start : start + 5000]),
                )
            )
            rows.extend(found)
        return rows

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


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
