"""The detector and camera registry, with each one's health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.upsert import upsert
from shahr.traffic.domain.detectors import (
    Detector,
    DetectorHealth,
    DetectorId,
    DetectorKind,
    Fault,
)
from shahr.traffic.domain.network import SegmentId
from shahr.traffic.persistence.base import is_postgresql


class DetectorRow(Base):
    """A loop detector, counting camera or plate camera, placed on a segment and lane."""

    __tablename__ = "traffic_detector"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    segment_id: Mapped[str] = mapped_column(
        String(120), ForeignKey("traffic_segment.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    lane: Mapped[int | None] = mapped_column(Integer)
    position_m: Mapped[float | None] = mapped_column(Float)
    health: Mapped[str] = mapped_column(String(10), default=DetectorHealth.ok.value)
    fault: Mapped[str | None] = mapped_column(String(24))
    health_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def to_domain(self) -> Detector:
        return Detector(
            id=DetectorId(self.id),
            segment_id=SegmentId(self.segment_id),
            kind=DetectorKind(self.kind),
            lane=self.lane,
            position_m=self.position_m,
            health=DetectorHealth(self.health),
            fault=Fault(self.fault) if self.fault else None,
            health_since=self.health_since,
            last_seen_at=self.last_seen_at,
        )


class DetectorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Detector]:
        rows = await self.session.scalars(select(DetectorRow).order_by(DetectorRow.id))
        return [row.to_domain() for row in rows]

    async def get(self, detector_id: str) -> Detector | None:
        row = await self.session.get(DetectorRow, detector_id)
        return None if row is None else row.to_domain()

    async def save(self, detectors: Sequence[Detector]) -> None:
        """Insert or move; a detector keeps its health when it is registered again."""
        table = DetectorRow.__table__
        for start in range(0, len(detectors), 500):
            chunk = [
                {
                    "id": d.id,
                    "segment_id": d.segment_id,
                    "kind": d.kind.value,
                    "lane": d.lane,
                    "position_m": d.position_m,
                    "health": d.health.value,
                }
                for d in detectors[start : start + 500]
            ]
            statement = upsert(table, on_postgresql=is_postgresql(self.session)).values(chunk)
            excluded = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "segment_id": excluded.segment_id,
                    "kind": excluded.kind,
                    "lane": excluded.lane,
                    "position_m": excluded.position_m,
                },
            )
            await self.session.execute(statement)

    async def set_health(
        self, detector_id: str, health: DetectorHealth, fault: Fault | None, now: datetime
    ) -> None:
        await self.session.execute(
            update(DetectorRow)
            .where(DetectorRow.id == detector_id)
            .values(health=health.value, fault=fault.value if fault else None, health_since=now)
        )

    async def mark_seen(self, seen: dict[str, datetime]) -> None:
        """Move each detector's `last_seen_at` forward (never back: readings come late)."""
        if not seen:
            return
        rows = await self.session.execute(
            select(DetectorRow.id, DetectorRow.last_seen_at).where(DetectorRow.id.in_(list(seen)))
        )
        newer = [
            {"b_id": row.id, "b_seen": seen[row.id]}
            for row in rows
            if row.last_seen_at is None or row.last_seen_at < seen[row.id]
        ]
        if newer:
            table = DetectorRow.__table__
            statement = (
                update(table)  # type: ignore[arg-type]  # a mapped class's Table
                .where(table.c.id == bindparam("b_id"))
                .values(last_seen_at=bindparam("b_seen"))
            )
            await self.session.execute(statement, newer)
