"""The field inventory's tables: each detector's history of changes, and the camera registry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.upsert import upsert
from shahr.traffic.domain.cameras import Camera, CameraStatus
from shahr.traffic.domain.detectors import DetectorKind
from shahr.traffic.domain.inventory import ChangeKind, DetectorChange, Placing
from shahr.traffic.persistence.base import is_postgresql


class DetectorChangeRow(Base):
    """One change to a detector: added, moved, changed, retired or restored; by whom, when."""

    __tablename__ = "traffic_detector_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key: the history outlives whatever happens to the detector's row.
    detector_id: Mapped[str] = mapped_column(String(120), index=True)
    change: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    changed_by: Mapped[str] = mapped_column(String(200))
    segment_before: Mapped[str | None] = mapped_column(String(120))
    lane_before: Mapped[int | None] = mapped_column(Integer)
    position_before_m: Mapped[float | None] = mapped_column(Float)
    kind_before: Mapped[str | None] = mapped_column(String(20))
    segment_after: Mapped[str | None] = mapped_column(String(120))
    lane_after: Mapped[int | None] = mapped_column(Integer)
    position_after_m: Mapped[float | None] = mapped_column(Float)
    kind_after: Mapped[str | None] = mapped_column(String(20))

    def to_domain(self) -> DetectorChange:
        before = (
            Placing(
                self.segment_before,
                self.lane_before,
                self.position_before_m,
                DetectorKind(self.kind_before or DetectorKind.loop.value),
            )
            if self.segment_before is not None
            else None
        )
        after = (
            Placing(
                self.segment_after,
                self.lane_after,
                self.position_after_m,
                DetectorKind(self.kind_after or DetectorKind.loop.value),
            )
            if self.segment_after is not None
            else None
        )
        return DetectorChange(
            detector_id=self.detector_id,
            change=ChangeKind(self.change),
            changed_at=self.changed_at,
            changed_by=self.changed_by,
            before=before,
            after=after,
        )


def _placing_columns(placing: Placing | None, suffix: str) -> dict[str, object]:
    return {
        f"segment_{suffix}": placing.segment_id if placing else None,
        f"lane_{suffix}": placing.lane if placing else None,
        f"position_{suffix}_m": placing.position_m if placing else None,
        f"kind_{suffix}": placing.kind.value if placing else None,
    }


class DetectorChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, changes: Sequence[DetectorChange]) -> None:
        if not changes:
            return
        rows = [
            {
                "detector_id": c.detector_id,
                "change": c.change.value,
                "changed_at": c.changed_at,
                "changed_by": c.changed_by[:200],
                **_placing_columns(c.before, "before"),
                **_placing_columns(c.after, "after"),
            }
            for c in changes
        ]
        table = DetectorChangeRow.__table__
        for start in range(0, len(rows), 500):
            await self.session.execute(table.insert(), rows[start : start + 500])  # type: ignore[attr-defined]  # a mapped class's Table

    async def of(self, detector_id: str | None = None, *, limit: int = 200) -> list[DetectorChange]:
        """The latest changes, newest first (of one detector, or of all)."""
        query = select(DetectorChangeRow).order_by(
            DetectorChangeRow.changed_at.desc(), DetectorChangeRow.id.desc()
        )
        if detector_id is not None:
            query = query.where(DetectorChangeRow.detector_id == detector_id)
        rows = await self.session.scalars(query.limit(limit))
        return [row.to_domain() for row in rows]


class CameraRow(Base):
    """A traffic camera of the command centre: where, looking which way, its stream and snapshot."""

    __tablename__ = "traffic_camera"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name_fa: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    view_bearing_deg: Mapped[float | None] = mapped_column(Float)
    # Snapped when registered; no foreign key, so a network reload never blocks on cameras.
    segment_id: Mapped[str | None] = mapped_column(String(120))
    stream_url: Mapped[str | None] = mapped_column(String(500))
    snapshot_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))

    def to_domain(self) -> Camera:
        return Camera(
            id=self.id,
            name_fa=self.name_fa,
            name_en=self.name_en,
            lon=self.lon,
            lat=self.lat,
            view_bearing_deg=self.view_bearing_deg,
            segment_id=self.segment_id,
            stream_url=self.stream_url,
            snapshot_url=self.snapshot_url,
            status=CameraStatus(self.status),
            public=self.public,
        )


CAMERA_FIELDS = (
    "name_fa",
    "name_en",
    "lon",
    "lat",
    "view_bearing_deg",
    "segment_id",
    "stream_url",
    "snapshot_url",
    "status",
    "public",
    "updated_at",
    "updated_by",
)


class CameraRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, *, retired: bool = True) -> list[Camera]:
        query = select(CameraRow).order_by(CameraRow.id)
        if not retired:
            query = query.where(CameraRow.status != CameraStatus.retired.value)
        return [row.to_domain() for row in await self.session.scalars(query)]

    async def get(self, camera_id: str) -> Camera | None:
        row = await self.session.get(CameraRow, camera_id)
        return None if row is None else row.to_domain()

    async def of(self, camera_ids: Sequence[str]) -> dict[str, Camera]:
        rows = await self.session.scalars(select(CameraRow).where(CameraRow.id.in_(camera_ids)))
        return {row.id: row.to_domain() for row in rows}

    async def positions(self, *, public_only: bool) -> list[tuple[str, float, float]]:
        """(id, lon, lat) of every camera in service: the few columns a nearest search reads."""
        c = CameraRow.__table__.c
        query = select(c.id, c.lon, c.lat).where(c.status != CameraStatus.retired.value)
        if public_only:
            query = query.where(c.public.is_(True))
        return [(row.id, row.lon, row.lat) for row in await self.session.execute(query)]

    async def save(self, cameras: Sequence[Camera], *, now: datetime, by: str) -> None:
        """Insert or update by id."""
        table = CameraRow.__table__
        for start in range(0, len(cameras), 500):
            chunk = [
                {
                    "id": c.id,
                    "name_fa": c.name_fa,
                    "name_en": c.name_en,
                    "lon": c.lon,
                    "lat": c.lat,
                    "view_bearing_deg": c.view_bearing_deg,
                    "segment_id": c.segment_id,
                    "stream_url": c.stream_url,
                    "snapshot_url": c.snapshot_url,
                    "status": c.status.value,
                    "public": c.public,
                    "updated_at": now,
                    "updated_by": by[:200],
                }
                for c in cameras[start : start + 500]
            ]
            statement = upsert(table, on_postgresql=is_postgresql(self.session)).values(chunk)
            excluded = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=["id"], set_={name: excluded[name] for name in CAMERA_FIELDS}
            )
            await self.session.execute(statement)
