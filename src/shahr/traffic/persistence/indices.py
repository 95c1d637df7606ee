"""History: hourly rollups per segment, hourly and daily rollups per area, and job marks.

Areas are `city` (id "tehran"), `district` (its number) and `corridor` (a road's name).
Each row holds additive sums, so any wider window is a plain sum of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.upsert import upsert
from shahr.traffic.persistence.base import is_postgresql

ROLLUP_COLUMNS = (
    "intervals",
    "estimated_intervals",
    "vkt",
    "vht",
    "ff_vht",
    "p95_ratio",
    "flow_veh_h",
)


class SegmentHourRow(Base):
    """A segment's hour: vehicle-km, vehicle-hours and free-flow vehicle-hours."""

    __tablename__ = "traffic_segment_hour"

    segment_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True, index=True)
    intervals: Mapped[int] = mapped_column(Integer)
    estimated_intervals: Mapped[int] = mapped_column(Integer)
    vkt: Mapped[float] = mapped_column(Float)
    vht: Mapped[float] = mapped_column(Float)
    ff_vht: Mapped[float] = mapped_column(Float)
    p95_ratio: Mapped[float] = mapped_column(Float)  # 95th-pct interval travel time / free flow
    flow_veh_h: Mapped[float] = mapped_column(Float)


class AreaHourRow(Base):
    __tablename__ = "traffic_area_hour"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    intervals: Mapped[int] = mapped_column(Integer)
    estimated_intervals: Mapped[int] = mapped_column(Integer)
    vkt: Mapped[float] = mapped_column(Float)
    vht: Mapped[float] = mapped_column(Float)
    ff_vht: Mapped[float] = mapped_column(Float)
    p95_ratio: Mapped[float] = mapped_column(Float)
    flow_veh_h: Mapped[float] = mapped_column(Float)


class AreaDayRow(Base):
    """An area's day (Tehran's calendar day), kept for year-over-year comparisons."""

    __tablename__ = "traffic_area_day"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    intervals: Mapped[int] = mapped_column(Integer)
    estimated_intervals: Mapped[int] = mapped_column(Integer)
    vkt: Mapped[float] = mapped_column(Float)
    vht: Mapped[float] = mapped_column(Float)
    ff_vht: Mapped[float] = mapped_column(Float)
    p95_ratio: Mapped[float] = mapped_column(Float)
    flow_veh_h: Mapped[float] = mapped_column(Float)


class JobMarkRow(Base):
    """How far a job has got (rolled up until, pruned until), so a rerun repeats nothing."""

    __tablename__ = "traffic_job_mark"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    done_until: Mapped[datetime] = mapped_column(UtcDateTime())


class HistoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _replace(self, table: Any, keys: list[str], rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        statement = upsert(table, on_postgresql=is_postgresql(self.session))
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: excluded[name] for name in ROLLUP_COLUMNS}
        )
        for start in range(0, len(rows), 2000):
            await self.session.execute(statement, list(rows[start : start + 2000]))

    async def save_segment_hours(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._replace(SegmentHourRow.__table__, ["segment_id", "hour_start"], rows)

    async def save_area_hours(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._replace(AreaHourRow.__table__, ["scope", "scope_id", "hour_start"], rows)

    async def save_area_days(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._replace(AreaDayRow.__table__, ["scope", "scope_id", "day"], rows)

    async def segment_hours(
        self, since: datetime, until: datetime, segment_ids: Sequence[str] | None = None
    ) -> list[SegmentHourRow]:
        statement = select(SegmentHourRow).where(
            SegmentHourRow.hour_start >= since, SegmentHourRow.hour_start < until
        )
        if segment_ids is not None:
            statement = statement.where(SegmentHourRow.segment_id.in_(list(segment_ids)))
        return list(await self.session.scalars(statement))

    async def area_hours(
        self, scope: str, since: datetime, until: datetime, scope_id: str | None = None
    ) -> list[AreaHourRow]:
        statement = select(AreaHourRow).where(
            AreaHourRow.scope == scope,
            AreaHourRow.hour_start >= since,
            AreaHourRow.hour_start < until,
        )
        if scope_id is not None:
            statement = statement.where(AreaHourRow.scope_id == scope_id)
        return list(await self.session.scalars(statement))

    async def area_days(
        self, scope: str, since: date, until: date, scope_id: str | None = None
    ) -> list[AreaDayRow]:
        statement = select(AreaDayRow).where(
            AreaDayRow.scope == scope, AreaDayRow.day >= since, AreaDayRow.day < until
        )
        if scope_id is not None:
            statement = statement.where(AreaDayRow.scope_id == scope_id)
        return list(await self.session.scalars(statement))

    async def mark(self, job: str) -> datetime | None:
        row = await self.session.get(JobMarkRow, job)
        return None if row is None else row.done_until

    async def set_mark(self, job: str, done_until: datetime) -> None:
        into = upsert(JobMarkRow.__table__, on_postgresql=is_postgresql(self.session))
        statement = into.values(job=job, done_until=done_until)
        statement = statement.on_conflict_do_update(
            index_elements=["job"], set_={"done_until": done_until}
        )
        await self.session.execute(statement)

    async def prune_segment_hours(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(SegmentHourRow).where(SegmentHourRow.hour_start < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def prune_area_hours(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(AreaHourRow).where(AreaHourRow.hour_start < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
