"""The operators' meter board: meters with their presence and bays by state, one page at a time,
and what each bay of one meter holds right now."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from shahr.kernel.db import Database
from shahr.parking.domain import ReservationStatus, TimeWindow
from shahr.parking.persistence import (
    BayRow,
    Hold,
    MeterPresenceRow,
    MeterRow,
    ReservationRow,
    ZoneRow,
    hold_of,
    holds_on_meters,
)
from shahr.parking.persistence.holds import HOLDING

# Meters on one page of the board: the demo city has hundreds, a real one thousands.
METERS_PER_PAGE = 25
# "Now" as a window: the holds that cover this instant.
_INSTANT = timedelta(microseconds=1)


class Presence(StrEnum):
    """Whether a meter is connected, as its retained status and last will said."""

    online = "online"
    offline = "offline"
    never_heard = "never_heard"


@dataclass(frozen=True)
class MeterFilter:
    district: int | None = None
    presence: Presence | None = None
    page: int = 1


@dataclass(frozen=True)
class BayCounts:
    """A meter's bays now: paid for, held awaiting payment, free, and out of service."""

    reserved: int = 0
    awaiting_payment: int = 0
    free: int = 0
    out_of_service: int = 0


@dataclass(frozen=True)
class MeterLine:
    meter_id: int
    device_id: str
    district: int
    zone_name_fa: str
    zone_name_en: str
    street_fa: str
    street_en: str
    presence: Presence
    last_seen_at: datetime | None
    bays: BayCounts


@dataclass(frozen=True)
class MeterBoard:
    lines: list[MeterLine]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class CurrentStay:
    """The reservation holding a bay now (its plate is for the page to mask)."""

    reservation_id: str
    bay_id: int
    plate: str
    paid: bool
    starts_at: datetime
    ends_at: datetime


async def meter_districts(database: Database) -> list[int]:
    """The districts that have meters, in order: what the board's filter offers."""
    rows = await database.read(
        select(ZoneRow.district)
        .distinct()
        .join(MeterRow, MeterRow.zone_code == ZoneRow.code)
        .order_by(ZoneRow.district)
    )
    return [row[0] for row in rows]


def _filtered(query: Any, wanted: MeterFilter) -> Any:
    """The query narrowed to the wanted district and presence (a SELECT over the joins)."""
    presence = MeterPresenceRow
    if wanted.district is not None:
        query = query.where(ZoneRow.district == wanted.district)
    if wanted.presence is Presence.online:
        query = query.where(presence.online.is_(True))
    elif wanted.presence is Presence.offline:
        query = query.where(presence.online.is_(False))
    elif wanted.presence is Presence.never_heard:
        query = query.where(presence.meter_device_id.is_(None))
    return query


async def meter_board(
    database: Database, wanted: MeterFilter, *, now: datetime, per_page: int = METERS_PER_PAGE
) -> MeterBoard:
    """One page of meters by district and street, with presence and bays by state now."""
    m, z, p = MeterRow, ZoneRow, MeterPresenceRow
    joined = (
        select(m.id).join(z, z.code == m.zone_code).outerjoin(p, p.meter_device_id == m.device_id)
    )
    counted = _filtered(joined, wanted).subquery()
    total = (await database.read(select(func.count()).select_from(counted)))[0][0]
    pages = max(1, math.ceil(total / per_page))
    page = min(wanted.page, pages)
    query = _filtered(
        select(
            m.id,
            m.device_id,
            m.street_fa,
            m.street_en,
            z.district,
            z.name_fa,
            z.name_en,
            p.online,
            p.last_seen_at,
        )
        .join(z, z.code == m.zone_code)
        .outerjoin(p, p.meter_device_id == m.device_id),
        wanted,
    )
    rows = await database.read(
        query.order_by(z.district, m.street_en, m.id).limit(per_page).offset((page - 1) * per_page)
    )
    counts = await _bay_counts(database, [row.id for row in rows], now)
    lines = [
        MeterLine(
            meter_id=row.id,
            device_id=row.device_id,
            district=row.district,
            zone_name_fa=row.name_fa,
            zone_name_en=row.name_en,
            street_fa=row.street_fa,
            street_en=row.street_en,
            presence=_presence(row.online),
            last_seen_at=row.last_seen_at,
            bays=counts.get(row.id, BayCounts()),
        )
        for row in rows
    ]
    return MeterBoard(lines=lines, total=total, page=page, pages=pages)


def _presence(online: bool | None) -> Presence:
    if online is None:
        return Presence.never_heard
    return Presence.online if online else Presence.offline


def _holding_now(hold: Hold, now: datetime) -> bool:
    span = hold.held(now)
    return span is not None and span.starts_at <= now < span.ends_at


async def _bay_counts(
    database: Database, meter_ids: list[int], now: datetime
) -> dict[int, BayCounts]:
    if not meter_ids:
        return {}
    rows = await database.read(
        select(BayRow.meter_id, BayRow.in_service, func.count().label("bays"))
        .where(BayRow.meter_id.in_(meter_ids))
        .group_by(BayRow.meter_id, BayRow.in_service)
    )
    in_service: Counter[int] = Counter()
    out_of_service: Counter[int] = Counter()
    for row in rows:
        (in_service if row.in_service else out_of_service)[row.meter_id] += row.bays
    reserved: Counter[int] = Counter()
    awaiting: Counter[int] = Counter()
    holds = await holds_on_meters(database, meter_ids, TimeWindow(now, now + _INSTANT))
    # One bay counts once, even if a lapsed extension and its stay both name it.
    holding = {h.bay_id: h for h in holds if _holding_now(h, now)}
    for hold in holding.values():
        paid = hold.status is ReservationStatus.confirmed
        (reserved if paid else awaiting)[hold.meter_id] += 1
    return {
        meter_id: BayCounts(
            reserved=reserved[meter_id],
            awaiting_payment=awaiting[meter_id],
            free=max(0, in_service[meter_id] - reserved[meter_id] - awaiting[meter_id]),
            out_of_service=out_of_service[meter_id],
        )
        for meter_id in meter_ids
    }


async def current_stays(
    database: Database, meter_id: int, *, now: datetime
) -> dict[int, CurrentStay]:
    """The reservation holding each bay of a meter now, by bay id (bays not held are left out)."""
    r = ReservationRow
    rows = await database.read(
        select(
            r.id,
            r.bay_id,
            r.meter_id,
            r.status,
            r.plate,
            r.starts_at,
            r.ends_at,
            r.extension_from,
            r.hold_expires_at,
        ).where(
            r.meter_id == meter_id,
            r.status.in_(HOLDING),
            r.starts_at <= now,
            r.ends_at > now,
        )
    )
    stays: dict[int, CurrentStay] = {}
    for row in rows:
        hold = hold_of(row)
        span = hold.held(now)
        if span is None or not span.starts_at <= now < span.ends_at:
            continue  # a lapsed hold or extension
        stays[row.bay_id] = CurrentStay(
            reservation_id=row.id,
            bay_id=row.bay_id,
            plate=row.plate,
            paid=hold.status is ReservationStatus.confirmed,
            starts_at=span.starts_at,
            ends_at=span.ends_at,
        )
    return stays
