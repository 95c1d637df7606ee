"""Holds: the rows that may keep a bay, read for search, availability and the booking check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shahr.kernel.db import Database
from shahr.parking.domain import HOLDING_STATUSES, ReservationStatus, TimeWindow
from shahr.parking.persistence.reservation_rows import ReservationRow

HOLDING = tuple(s.value for s in HOLDING_STATUSES)


@dataclass(frozen=True)
class Hold:
    """A row that may hold a bay: enough to tell what it holds at a given moment."""

    reservation_id: str
    bay_id: int
    meter_id: int
    status: ReservationStatus
    starts_at: datetime
    ends_at: datetime
    extension_from: datetime | None
    hold_expires_at: datetime | None

    def held(self, now: datetime) -> TimeWindow | None:
        """The range this row holds at `now`: a lapsed hold or extension no longer counts."""
        if self.status is ReservationStatus.pending:
            if self.hold_expires_at is None or now >= self.hold_expires_at:
                return None
            return TimeWindow(self.starts_at, self.ends_at)
        if self.status is not ReservationStatus.confirmed:
            return None
        if self.extension_from is not None and (
            self.hold_expires_at is None or now >= self.hold_expires_at
        ):
            return TimeWindow(self.starts_at, self.extension_from)
        return TimeWindow(self.starts_at, self.ends_at)


def holds_query() -> Any:
    r = ReservationRow
    return select(
        r.id,
        r.bay_id,
        r.meter_id,
        r.status,
        r.starts_at,
        r.ends_at,
        r.extension_from,
        r.hold_expires_at,
    ).where(r.status.in_(HOLDING))


async def holds_on_meters(
    database: Database, meter_ids: Iterable[int], window: TimeWindow
) -> list[Hold]:
    """Rows that may hold bays of these meters during the window."""
    ids = list(meter_ids)
    if not ids:
        return []
    return await holds_between(database, window.starts_at, window.ends_at, meter_ids=ids)


async def holds_between(
    database: Database,
    starts_at: datetime,
    ends_at: datetime,
    *,
    meter_ids: list[int] | None = None,
) -> list[Hold]:
    """Rows that may hold bays (of these meters, or of any) between the two times (read
    side, no session: search runs this on every request, or once a second per span)."""
    query = holds_query().where(
        ReservationRow.starts_at < ends_at, ReservationRow.ends_at > starts_at
    )
    if meter_ids is not None:
        query = query.where(ReservationRow.meter_id.in_(meter_ids))
    return [hold_of(row) for row in await database.read(query)]


def hold_of(row: Any) -> Hold:
    """A hold from a row of reservation columns (id, bay, meter, status and times)."""
    return Hold(
        reservation_id=row.id,
        bay_id=row.bay_id,
        meter_id=row.meter_id,
        status=ReservationStatus(row.status),
        starts_at=_aware(row.starts_at),
        ends_at=_aware(row.ends_at),
        extension_from=_aware(row.extension_from) if row.extension_from else None,
        hold_expires_at=_aware(row.hold_expires_at) if row.hold_expires_at else None,
    )


def _aware(moment: datetime) -> datetime:
    # Column-level selects go through UtcDateTime too; this only guards a raw driver value.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
