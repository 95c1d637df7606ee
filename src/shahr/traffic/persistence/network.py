"""The road network's table, and the registry version that tells caches to reload."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, case, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.geo import LonLat
from shahr.kernel.upsert import upsert
from shahr.traffic.domain.network import NodeId, RoadClass, Segment, SegmentId
from shahr.traffic.persistence.base import is_postgresql


class SegmentRow(Base):
    """One direction of a road between two intersections."""

    __tablename__ = "traffic_segment"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    road_class: Mapped[str] = mapped_column(String(20))
    lanes: Mapped[int] = mapped_column(Integer)
    from_node: Mapped[str] = mapped_column(String(120), index=True)
    to_node: Mapped[str] = mapped_column(String(120), index=True)
    geometry: Mapped[list[list[float]]] = mapped_column(JSON)
    length_m: Mapped[float] = mapped_column(Float)
    bearing_deg: Mapped[float] = mapped_column(Float)
    free_flow_kmh: Mapped[float] = mapped_column(Float)
    capacity_veh_h: Mapped[int] = mapped_column(Integer)
    capacity_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    district: Mapped[int | None] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    signal_cycle_s: Mapped[float | None] = mapped_column(Float)
    green_share: Mapped[float | None] = mapped_column(Float)
    yields: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_domain(self) -> Segment:
        return Segment(
            id=SegmentId(self.id),
            name=self.name,
            road_class=RoadClass(self.road_class),
            lanes=self.lanes,
            from_node=NodeId(self.from_node),
            to_node=NodeId(self.to_node),
            geometry=tuple(LonLat(lon, lat) for lon, lat in self.geometry),
            length_m=self.length_m,
            bearing_deg=self.bearing_deg,
            free_flow_kmh=self.free_flow_kmh,
            capacity_veh_h=self.capacity_veh_h,
            capacity_overridden=self.capacity_overridden,
            district=self.district,
            source=self.source,
            signal_cycle_s=self.signal_cycle_s,
            green_share=self.green_share,
            yields=bool(self.yields),
        )


class RegistryVersionRow(Base):
    """One row: bumped whenever segments or detectors change, so every process reloads."""

    __tablename__ = "traffic_registry_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


def segment_values(segment: Segment, now: datetime) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "road_class": segment.road_class.value,
        "lanes": segment.lanes,
        "from_node": segment.from_node,
        "to_node": segment.to_node,
        "geometry": [[round(p.lon, 7), round(p.lat, 7)] for p in segment.geometry],
        "length_m": round(segment.length_m, 2),
        "bearing_deg": round(segment.bearing_deg, 1),
        "free_flow_kmh": segment.free_flow_kmh,
        "capacity_veh_h": segment.capacity_veh_h,
        "capacity_overridden": segment.capacity_overridden,
        "district": segment.district,
        "source": segment.source,
        "signal_cycle_s": segment.signal_cycle_s,
        "green_share": segment.green_share,
        "yields": segment.yields,
        "updated_at": now,
    }


class NetworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Segment]:
        rows = await self.session.scalars(select(SegmentRow).order_by(SegmentRow.id))
        return [row.to_domain() for row in rows]

    async def ids(self) -> set[str]:
        return set(await self.session.scalars(select(SegmentRow.id)))

    async def get(self, segment_id: str) -> Segment | None:
        row = await self.session.get(SegmentRow, segment_id)
        return None if row is None else row.to_domain()

    async def lanes_of(self, segment_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(SegmentRow.id, SegmentRow.lanes).where(SegmentRow.id.in_(list(segment_ids)))
        )
        return {row.id: row.lanes for row in rows}

    async def save(self, segments: Sequence[Segment], now: datetime) -> None:
        """Insert or replace; a capacity set by hand and a known district survive a re-import."""
        table = SegmentRow.__table__
        for start in range(0, len(segments), 500):
            chunk = [segment_values(s, now) for s in segments[start : start + 500]]
            into = upsert(table, on_postgresql=is_postgresql(self.session))
            statement = into.values(chunk)
            excluded = statement.excluded
            kept: dict[str, Any] = {
                c.name: excluded[c.name] for c in table.columns if c.name != "id"
            }
            by_hand = table.c.capacity_overridden & ~excluded.capacity_overridden
            kept["capacity_veh_h"] = case(
                (by_hand, table.c.capacity_veh_h), else_=excluded.capacity_veh_h
            )
            kept["capacity_overridden"] = table.c.capacity_overridden | excluded.capacity_overridden
            # A file without districts leaves the districts found before.
            kept["district"] = func.coalesce(excluded.district, table.c.district)
            statement = statement.on_conflict_do_update(index_elements=["id"], set_=kept)
            await self.session.execute(statement)

    async def set_capacity(self, segment_id: str, capacity_veh_h: int | None, default: int) -> None:
        await self.session.execute(
            update(SegmentRow)
            .where(SegmentRow.id == segment_id)
            .values(
                capacity_veh_h=capacity_veh_h if capacity_veh_h is not None else default,
                capacity_overridden=capacity_veh_h is not None,
            )
        )

    async def version(self) -> int:
        return int(
            await self.session.scalar(
                select(RegistryVersionRow.version).where(RegistryVersionRow.id == 1)
            )
            or 0
        )

    async def bump_version(self, now: datetime) -> None:
        into = upsert(RegistryVersionRow.__table__, on_postgresql=is_postgresql(self.session))
        statement = into.values(id=1, version=1, changed_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={"version": RegistryVersionRow.__table__.c.version + 1, "changed_at": now},
        )
        await self.session.execute(statement)
