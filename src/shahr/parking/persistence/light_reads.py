"""Bay lights, read only: what the API and the confirmation page show, and which reservations
the lights have not caught up with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select

from shahr.kernel.db import Database
from shahr.parking.domain import EndReason, ReservationStatus
from shahr.parking.domain.lights import BayLight, BayLightKey, MeterPresence, WindowChange
from shahr.parking.persistence.inventory import BayRow, MeterRow
from shahr.parking.persistence.lights import BayLightRow, LightWindowRow
from shahr.parking.persistence.meter_presence import MeterPresenceRow
from shahr.parking.persistence.reservation_rows import ReservationRow


@dataclass(frozen=True)
class MeterLights:
    """A meter's bays as the platform wants them and as the meter reports them."""

    meter_id: int
    meter_device_id: str | None
    presence: MeterPresence | None
    bays: list[BayLightView]


@dataclass(frozen=True)
class BayLightView:
    light: BayLight
    reported_received_at: datetime | None


async def meter_lights(
    database: Database, meter_id: int, meter_device_id: str | None = None
) -> MeterLights | None:
    """Desired and reported light of each bay of a meter, with its presence; None if unknown.

    Pass the device id when the inventory knows it: the meter may have announced itself
    before any reservation named its meter id.
    """
    async with database.session() as session:
        # By device id when known: bays a meter reported before any reservation named its
        # meter id have none yet.
        same_meter = (
            BayLightRow.meter_id == meter_id
            if meter_device_id is None
            else BayLightRow.meter_device_id == meter_device_id
        )
        rows = list(
            await session.scalars(
                select(BayLightRow).where(same_meter).order_by(BayLightRow.bay_number)
            )
        )
        device_id = meter_device_id or (rows[0].meter_device_id if rows else None)
        presence_row = None
        if device_id is not None:
            presence_row = await session.get(MeterPresenceRow, device_id)
        if presence_row is None:
            presence_row = await session.scalar(
                select(MeterPresenceRow).where(MeterPresenceRow.meter_id == meter_id).limit(1)
            )
        if not rows and presence_row is None:
            return None
        presence = None if presence_row is None else presence_row.to_domain()
        return MeterLights(
            meter_id=meter_id,
            meter_device_id=device_id or (presence.meter_device_id if presence else None),
            presence=presence,
            bays=[BayLightView(row.to_domain(), row.reported_received_at) for row in rows],
        )


async def bay_light(database: Database, key: BayLightKey) -> BayLight | None:
    """One bay's light as stored, or None if the platform never heard of it."""
    async with database.session() as session:
        row = await session.get(BayLightRow, (key.meter_device_id, key.bay_number))
        return None if row is None else row.to_domain()


async def meter_presence(database: Database, meter_device_id: str) -> MeterPresence | None:
    async with database.session() as session:
        row = await session.get(MeterPresenceRow, meter_device_id)
        return None if row is None else row.to_domain()


# Stays that stopped before their paid end: their light must go back early. (An expired
# stay's light goes back at the window's own end.)
_STOPPED_EARLY = (EndReason.ended_early.value, EndReason.cancelled.value)
# The statuses of a reservation that was confirmed: still held, or stopped since.
_CONFIRMED_ONCE = (
    ReservationStatus.confirmed.value,
    ReservationStatus.ended.value,
    ReservationStatus.cancelled.value,
)


async def windows_behind_reservations(
    database: Database, now: datetime, *, settled_before: datetime, limit: int
) -> list[WindowChange]:
    """Confirmed reservations that still matter to a light (their paid end is ahead) whose
    light window says less than they do: none at all, an earlier end (an extension), or
    no early stop; each as the change its events would have made. Only changes older
    than `settled_before`, so events still on their way are not taken for lost."""
    r, w = ReservationRow, LightWindowRow
    paid_end = func.coalesce(r.extension_from, r.ends_at)
    stopped_early = and_(
        r.ended_at.is_not(None), r.end_reason.in_(_STOPPED_EARLY), r.ended_at < settled_before
    )
    query = (
        select(
            r.id,
            MeterRow.device_id,
            BayRow.number,
            r.meter_id,
            r.starts_at,
            paid_end.label("paid_end"),
            r.ended_at,
            r.end_reason,
        )
        .join(BayRow, BayRow.id == r.bay_id)
        .join(MeterRow, MeterRow.id == r.meter_id)
        .outerjoin(w, w.reservation_id == r.id)
        .where(
            # Status and end first: what the (status, ends_at) index finds quickly.
            r.status.in_(_CONFIRMED_ONCE),
            r.ends_at > now,
            r.confirmed_at.is_not(None),
            r.confirmed_at < settled_before,
            paid_end > now,
            or_(
                w.reservation_id.is_(None),
                w.starts_at.is_(None),
                w.ends_at.is_(None),
                w.ends_at < paid_end,
                and_(stopped_early, or_(w.ended_at.is_(None), w.ended_at > r.ended_at)),
            ),
        )
        .order_by(r.confirmed_at, r.id)
        .limit(limit)
    )
    return [_change_of(row) for row in await database.read(query)]


def _change_of(row: Row[Any]) -> WindowChange:
    """The change the reservation's events would have made to its window."""
    # Only a stay stopped before its paid end ends the window early.
    stopped = row.end_reason in _STOPPED_EARLY and row.ended_at is not None
    return WindowChange(
        reservation_id=row.id,
        key=BayLightKey(row.device_id, row.number),
        meter_id=row.meter_id,
        starts_at=row.starts_at,
        ends_at=row.paid_end,
        ended_at=row.ended_at if stopped else None,
        end_reason=row.end_reason if stopped else None,
    )
