"""Segment state per interval: measured by ingest, estimated by the interval job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.upsert import upsert
from shahr.traffic.domain.link_speed import source_text
from shahr.traffic.domain.state import SegmentStates, interval_at
from shahr.traffic.persistence.base import aware, is_postgresql, stage

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


VIEW_COLUMNS = STATE_COLUMNS[:-1]  # what a reader is shown: all but updated_at


STATE_FILLFACTOR = 50
SOURCE_LENGTH = 120


class SegmentStateRow(Base):
    """A segment's state over one interval.

    Ingest rewrites a segment's current state with each batch that reaches it: no index
    holds a column that such an update changes (when the states last changed is kept in
    `StateVersionRow`, not by an index on `updated_at`) and half of each page is left
    free, so the update stays on its page and adds no index entries (HOT).
    """

    __tablename__ = "traffic_segment_state"
    __table_args__ = (
        Index("ix_traffic_segment_state_interval", "interval_start"),
        {"postgresql_with": {"fillfactor": STATE_FILLFACTOR}},
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
    # What the state used, "+"-joined (e.g. "loops+occupancy+signal_delay+journeys").
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StateVersionRow(Base):
    """One row: when segment states last changed, written last by each transaction that
    changes them (`StateRepository.touch`): what the live map checks twice a second."""

    __tablename__ = "traffic_state_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


STAGED_STATE = {
    "segment_id": "text",
    "interval_start": "timestamptz",
    "flow_veh_h": "float8",
    "speed_kmh": "float8",
    "occupancy_pct": "float8",
    "density_veh_km": "float8",
    "vc_ratio": "float8",
    "los": "int2",
    "congestion_level": "int2",
    "confidence": "float8",
    "source": "text",
}

_MEASURED = f"""
INSERT INTO traffic_segment_state (segment_id, interval_start, {", ".join(STATE_COLUMNS)})
SELECT {", ".join(c for c in STAGED_STATE if c != "source")}, false, source,
    CAST(:updated_at AS timestamptz)
FROM traffic_staged_state
ON CONFLICT (segment_id, interval_start) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in STATE_COLUMNS)}
"""  # noqa: S608  # only this module's own column names are formatted in


# Per (segment, interval), in one order for every worker, so two never wait on each other.
# PostgreSQL evaluates a volatile function in the select list after ORDER BY (since 9.6).
_LOCK_SEGMENT_INTERVALS = """
SELECT pg_advisory_xact_lock(key, interval_index)
FROM (
    SELECT DISTINCT hashtext('shahr.traffic.segment-state:' || segment_id) AS key, interval_index
    FROM unnest(CAST(:segment_id AS text[]), CAST(:interval_index AS int[]))
        AS wanted (segment_id, interval_index)
) AS keys
ORDER BY key, interval_index
"""


class StateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_segment_intervals(self, segment_id: list[str], interval: list[int]) -> None:
        """Hold these (segment, interval index) pairs until the transaction ends.

        A segment's state is computed from all its detectors' sums for the interval, and
        two workers may store different lanes of one segment and minute at once: each would
        read the other's sums before they were committed and save a state without them. With
        the pair held from before the sums are added until the commit, the second worker
        reads the first's sums. One advisory lock per pair: for the few pairs whose lanes
        came apart, not for every pair of a batch (ten thousand locks a batch cut ingest
        tenfold). SQLite has one writer at a time, so nothing to do there.
        """
        if segment_id and is_postgresql(self.session):
            await self.session.execute(
                text(_LOCK_SEGMENT_INTERVALS),
                {"segment_id": segment_id, "interval_index": interval},
            )

    async def save_measured_states(
        self,
        segment_id: list[str],
        states: SegmentStates,
        updated_at: datetime,
    ) -> None:
        """Measured states as columns (`segment_id` names each row's segment); see save_measured.

        Each row's `source` names what its state used (`link_speed.source_text`).
        """
        if not segment_id:
            return
        starts = {index: interval_at(index) for index in set(states.interval.tolist())}
        interval_start = [starts[index] for index in states.interval.tolist()]
        density = states.density_veh_km.tolist()
        columns: dict[str, list[Any]] = {
            "segment_id": segment_id,
            "interval_start": interval_start,
            "flow_veh_h": states.flow_veh_h.tolist(),
            "speed_kmh": states.speed_kmh.tolist(),
            "occupancy_pct": states.occupancy_pct.tolist(),
            "density_veh_km": density,
            "vc_ratio": states.vc_ratio.tolist(),
            "los": states.los.tolist(),
            "congestion_level": states.congestion_level.tolist(),
            "confidence": states.confidence.tolist(),
            "source": source_text(states.source_flags),
        }
        if is_postgresql(self.session):
            await stage(self.session, "traffic_staged_state", STAGED_STATE, columns)
            await self.session.execute(text(_MEASURED), {"updated_at": updated_at})
            return
        await self.save_measured(
            [
                {
                    **dict(zip(columns, values, strict=True)),
                    "estimated": False,
                    "updated_at": updated_at,
                }
                for values in zip(*columns.values(), strict=True)
            ]
        )

    async def save_measured(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace: a measurement always wins over an estimate."""
        if not rows:
            return
        table = SegmentStateRow.__table__
        statement = upsert(table, on_postgresql=is_postgresql(self.session))
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
        statement = upsert(table, on_postgresql=is_postgresql(self.session))
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["segment_id", "interval_start"],
            set_={name: excluded[name] for name in STATE_COLUMNS},
            where=table.c.estimated,
        )
        await self.session.execute(statement, list(rows))

    async def at_interval(self, interval_start: datetime) -> Sequence[Any]:
        """Every segment's state over this interval: rows of (segment_id, *VIEW_COLUMNS).

        Plain rows, not entities: the live map reads the whole city on each change, and
        ORM objects cost ten times as much.
        """
        table = SegmentStateRow.__table__
        found = await self.session.execute(
            select(table.c.segment_id, *(table.c[name] for name in VIEW_COLUMNS)).where(
                table.c.interval_start == interval_start
            )
        )
        return found.all()

    async def of_segments(
        self, segment_id: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[Any]:
        """These segments' states in [since, until): rows of (segment_id, interval_start,
        flow_veh_h, estimated, source), for journey fusion."""
        table = SegmentStateRow.__table__
        found = await self.session.execute(
            select(
                table.c.segment_id,
                table.c.interval_start,
                table.c.flow_veh_h,
                table.c.estimated,
                table.c.source,
            ).where(
                table.c.segment_id.in_(list(segment_id)),
                table.c.interval_start >= since,
                table.c.interval_start < until,
            )
        )
        return found.all()

    async def measured_speeds(self, interval_start: datetime) -> Sequence[Any]:
        """Measured states over one interval: rows of (segment_id, speed_kmh, flow_veh_h).

        Asked per interval, so no timestamp is converted per row (plain rows: see
        `at_interval`).
        """
        table = SegmentStateRow.__table__
        found = await self.session.execute(
            select(table.c.segment_id, table.c.speed_kmh, table.c.flow_veh_h).where(
                table.c.interval_start == interval_start,
                table.c.estimated.is_(False),
            )
        )
        return found.all()

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

    async def touch(self, now: datetime) -> None:
        """Record that states changed, as the LAST write of the transaction that changed them.

        The version row is locked until commit: written last, a transaction holds it only
        while it commits, and never while it waits for another transaction's rows. On
        PostgreSQL the value only moves forward (by a microsecond at least, so that every
        commit changes it, whichever of two workers' clocks was earlier); SQLite has one
        writer at a time.
        """
        table = StateVersionRow.__table__
        into = upsert(table, on_postgresql=is_postgresql(self.session))
        statement = into.values(id=1, changed_at=now)
        changed_at: Any = statement.excluded.changed_at
        if is_postgresql(self.session):
            later = table.c.changed_at + literal_column("interval '1 microsecond'")
            changed_at = func.greatest(later, changed_at)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={"changed_at": changed_at}
        )
        await self.session.execute(statement)

    async def last_update(self) -> datetime | None:
        """When the states last changed (the committing transaction's clock)."""
        found: datetime | None = await self.session.scalar(
            select(StateVersionRow.changed_at).where(StateVersionRow.id == 1)
        )
        return aware(found)

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(SegmentStateRow).where(SegmentStateRow.interval_start < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
