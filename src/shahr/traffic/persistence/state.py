"""Segment state per interval: measured by ingest, estimated by the interval job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, SmallInteger, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base
from shahr.traffic.persistence.base import UtcDateTime, aware, upsert

STATE_COLUMNS = (
    "flow_veh_h",
    "speed_kmh",
    "occupancy_pct",
    "density_veh_km",
    "vc_ratio",
    "los",
    "congestion_level",
    "confidence",
    "estimated",
    "source",
    "updated_at",
)


class SegmentStateRow(Base):
    """A segment's state over one interval."""

    __tablename__ = "traffic_segment_state"
    __table_args__ = (
        Index("ix_traffic_segment_state_interval", "interval_start"),
        Index("ix_traffic_segment_state_updated", "updated_at"),
    )

    segment_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    flow_veh_h: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)
    occupancy_pct: Mapped[float | None] = mapped_column(Float)
    density_veh_km: Mapped[float] = mapped_column(Float)
    vc_ratio: Mapped[float] = mapped_column(Float)
    los: Mapped[int] = mapped_column(SmallInteger)
    congestion_level: Mapped[int] = mapped_column(SmallInteger)
    confidence: Mapped[float] = mapped_column(Float)
    estimated: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(24))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save_measured(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace: a measurement always wins over an estimate."""
        if not rows:
            return
        table = SegmentStateRow.__table__
        statement = upsert(self.session, table)  # type: ignore[arg-type]
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["segment_id", "interval_start"],
            set_={name: excluded[name] for name in STATE_COLUMNS},
        )
        await self.session.execute(statement, list(rows))

    async def save_estimates(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert estimates where nothing is stored yet, or refresh older estimates."""
        if not rows:
            return
        table = SegmentStateRow.__table__
        statement = upsert(self.session, table)  # type: ignore[arg-type]
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["segment_id", "interval_start"],
            set_={name: excluded[name] for name in STATE_COLUMNS},
            where=table.c.estimated,
        )
        await self.session.execute(statement, list(rows))

    async def at_interval(self, interval_start: datetime) -> list[SegmentStateRow]:
        found = await self.session.scalars(
            select(SegmentStateRow).where(SegmentStateRow.interval_start == interval_start)
        )
        return list(found)

    async def between(self, since: datetime, until: datetime) -> list[SegmentStateRow]:
        found = await self.session.scalars(
            select(SegmentStateRow).where(
                SegmentStateRow.interval_start >= since, SegmentStateRow.interval_start < until
            )
        )
        return list(found)

    async def latest_interval(
        self, *, at_or_before: datetime | None = None, measured: bool = True
    ) -> datetime | None:
        statement = select(func.max(SegmentStateRow.interval_start))
        if measured:
            statement = statement.where(SegmentStateRow.estimated.is_(False))
        if at_or_before is not None:
            statement = statement.where(SegmentStateRow.interval_start <= at_or_before)
        found: datetime | None = await self.session.scalar(statement)
        return aware(found)

    async def last_update(self) -> datetime | None:
        found: datetime | None = await self.session.scalar(
            select(func.max(SegmentStateRow.updated_at))
        )
        return aware(found)

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(SegmentStateRow).where(SegmentStateRow.interval_start < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
