"""The readings repository: insert once, add to the interval sums, read back, prune."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shahr.kernel.upsert import upsert
from shahr.traffic.domain.readings import ReadingColumns, epoch_us
from shahr.traffic.domain.state import DetectorIntervalSums
from shahr.traffic.persistence.base import is_postgresql, stage
from shahr.traffic.persistence.readings.staged import (
    ADD_SUMS,
    INSERT_READINGS,
    STAGED_READING,
    STAGED_SUMS,
    TOTALS_OF,
)
from shahr.traffic.persistence.readings.tables import (
    DetectorIntervalRow,
    JourneyRow,
    PassageRow,
    ReadingRow,
)
from shahr.traffic.persistence.readings.totals import (
    RETURNED,
    SUM_COLUMNS,
    IntervalSums,
    IntervalTotals,
    interval_starts,
    totals_of_sums,
)


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
            result = await self.session.execute(text(INSERT_READINGS), {"received_at": received_at})
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
            "interval_start": interval_starts(sums.interval),
            "readings": sums.readings.astype(np.int64).tolist(),
            "count": sums.count.astype(np.int64).tolist(),
            **{name: getattr(sums, name).tolist() for name in SUM_COLUMNS[2:]},
        }
        if is_postgresql(self.session):
            await stage(self.session, "traffic_staged_sums", STAGED_SUMS, columns)
            result = await self.session.execute(text(ADD_SUMS))
            return IntervalTotals.of_arrays(result.one())
        rows = [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]
        return totals_of_sums(await self.add_to_intervals(rows))

    async def totals_of(
        self, detector_id: list[str], interval: npt.NDArray[np.int64]
    ) -> IntervalTotals:
        """The stored sums of these (detector, interval index) pairs (those that exist)."""
        if not detector_id:
            return IntervalTotals.of_rows([])
        starts = interval_starts(interval)
        if is_postgresql(self.session):
            result = await self.session.execute(
                text(TOTALS_OF), {"detector_id": detector_id, "interval_start": starts}
            )
            return IntervalTotals.of_arrays(result.one())
        return totals_of_sums(await self.sums_of(list(zip(detector_id, starts, strict=True))))

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, datetime]]:
        """Insert readings, skipping any already stored; the keys of those inserted."""
        if not rows:
            return set()
        table = ReadingRow.__table__
        statement = (
            upsert(table, on_postgresql=is_postgresql(self.session))
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
        into = upsert(table, on_postgresql=is_postgresql(self.session))
        statement = into.on_conflict_do_update(
            index_elements=["detector_id", "interval_start"],
            set_={name: table.c[name] + into.excluded[name] for name in SUM_COLUMNS},
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
            upsert(table, on_postgresql=is_postgresql(self.session))
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
        into = upsert(JourneyRow.__table__, on_postgresql=is_postgresql(self.session))
        statement = into.on_conflict_do_nothing(
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
