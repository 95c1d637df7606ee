"""The detector and camera registry, with each one's health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)
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
from shahr.traffic.domain.link_speed import (
    LENGTH_FREE_FLOW_OCCUPANCY_PCT,
    LENGTH_FREE_FLOW_SPEED_SHARE,
    LENGTH_MIN_INTERVALS,
    LENGTH_MIN_VEHICLES,
    VEHICLE_LENGTH_RANGE_M,
)
from shahr.traffic.domain.network import SegmentId
from shahr.traffic.persistence.base import is_postgresql
from shahr.traffic.persistence.network import SegmentRow
from shahr.traffic.persistence.readings.tables import DetectorIntervalRow


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
    # Out of service since then (kept for its history and readings), NULL while in service.
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Effective vehicle length (vehicle + loop) learnt from the detector's free-flow
    # minutes, NULL until enough are seen; and the sums it is learnt from.
    vehicle_length_m: Mapped[float | None] = mapped_column(Float)
    length_speed_occupancy: Mapped[float] = mapped_column(Float, default=0.0)
    length_vehicles: Mapped[float] = mapped_column(Float, default=0.0)
    length_intervals: Mapped[int] = mapped_column(Integer, default=0)
    length_learnt_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

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
            retired_at=self.retired_at,
        )


class DetectorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, *, retired: bool = False) -> list[Detector]:
        """The detectors in service (and, with `retired`, those taken out of it too)."""
        query = select(DetectorRow).order_by(DetectorRow.id)
        if not retired:
            query = query.where(DetectorRow.retired_at.is_(None))
        rows = await self.session.scalars(query)
        return [row.to_domain() for row in rows]

    async def of(self, detector_ids: Sequence[str]) -> dict[str, Detector]:
        """These detectors as stored, retired ones too, by id."""
        found: dict[str, Detector] = {}
        for start in range(0, len(detector_ids), 500):
            rows = await self.session.scalars(
                select(DetectorRow).where(DetectorRow.id.in_(detector_ids[start : start + 500]))
            )
            found.update((row.id, row.to_domain()) for row in rows)
        return found

    async def retire(self, detector_id: str, now: datetime) -> None:
        await self.session.execute(
            update(DetectorRow).where(DetectorRow.id == detector_id).values(retired_at=now)
        )

    async def get(self, detector_id: str) -> Detector | None:
        row = await self.session.get(DetectorRow, detector_id)
        return None if row is None else row.to_domain()

    async def save(self, detectors: Sequence[Detector]) -> None:
        """Insert or move (a retired one comes back in service); a detector keeps its
        health when it is registered again."""
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
                    "retired_at": None,
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
                    "retired_at": excluded.retired_at,
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

    async def vehicle_lengths(self) -> dict[str, float]:
        """The detectors whose effective vehicle length has been learnt."""
        rows = await self.session.execute(
            select(DetectorRow.id, DetectorRow.vehicle_length_m).where(
                DetectorRow.vehicle_length_m.is_not(None)
            )
        )
        return {row.id: row.vehicle_length_m for row in rows}

    async def learn_vehicle_lengths(self, until: datetime) -> int:
        """Add each detector's free-flow minutes up to `until` to its sums; set its length.

        A free-flow minute: counted vehicles with spot speeds, occupancy under 15 % and the
        spot speed at least 60 % of the segment's free flow. For one minute L = v x o / q;
        over many, L = Σ v x occupancy-seconds / (360 Σ vehicles) in metres (speeds in km/h).
        Each detector's minutes are added once: only those after its `length_learnt_until`.
        Returns how many detectors had new minutes.
        """
        if is_postgresql(self.session):
            # Two workers learning at once would add the same minutes twice.
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('shahr.traffic.vehicle-length'))")
            )
        d = DetectorRow.__table__.c
        minutes = _free_flow_minutes(until)
        total_so = d.length_speed_occupancy + minutes.c.so
        total_n = d.length_vehicles + minutes.c.n
        total_k = d.length_intervals + minutes.c.k
        low, high = VEHICLE_LENGTH_RANGE_M
        raw = total_so / (360.0 * total_n)
        # SQLite's two-argument min/max are PostgreSQL's least/greatest.
        learnt: Any = (
            func.least(func.greatest(raw, low), high)
            if is_postgresql(self.session)
            else func.min(func.max(raw, low), high)
        )
        enough = and_(total_k >= LENGTH_MIN_INTERVALS, total_n >= LENGTH_MIN_VEHICLES)
        result = await self.session.execute(
            update(DetectorRow.__table__)  # type: ignore[arg-type]  # a mapped class's Table
            .where(d.id == minutes.c.detector_id)
            .values(
                length_speed_occupancy=total_so,
                length_vehicles=total_n,
                length_intervals=total_k,
                length_learnt_until=until,
                vehicle_length_m=case((enough, learnt), else_=d.vehicle_length_m),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _free_flow_minutes(until: datetime) -> Any:
    """Per detector, its free-flow minutes not yet learnt from: Σ v x occupancy-s, Σ n, count."""
    i, s = DetectorIntervalRow.__table__.c, SegmentRow.__table__.c
    spot = i.speed_count / i.inv_speed
    return (
        select(
            i.detector_id.label("detector_id"),
            func.sum(spot * i.occupancy_s).label("so"),
            func.sum(i.count).label("n"),
            func.count().label("k"),
        )
        .join(DetectorRow, DetectorRow.id == i.detector_id)
        .join(SegmentRow, SegmentRow.id == DetectorRow.segment_id)
        .where(
            or_(
                DetectorRow.length_learnt_until.is_(None),
                i.interval_start > DetectorRow.length_learnt_until,
            ),
            i.interval_start <= until,
            i.speed_count > 0,
            i.inv_speed > 0,
            i.count > 0,
            i.occupancy_s > 0,
            i.occupancy_s < LENGTH_FREE_FLOW_OCCUPANCY_PCT * i.period_s,
            spot >= LENGTH_FREE_FLOW_SPEED_SHARE * s.free_flow_kmh,
        )
        .group_by(i.detector_id)
        .subquery()
    )
