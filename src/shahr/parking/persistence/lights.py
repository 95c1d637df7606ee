"""Bay lights' tables: desired and reported light per bay, and reservations' light windows."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Self, cast

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UnitOfWork, UtcDateTime
from shahr.parking.domain.lights import (
    DEFAULT_COLOR,
    BayLight,
    BayLightKey,
    LightColor,
    LightCommand,
    LightReport,
    LightWindow,
    unset_command,
)
from shahr.parking.persistence.meter_presence import MeterPresenceRepository

log = logging.getLogger(__name__)


class BayLightRow(Base):
    """One bay's light: the desired command (seq never goes back) and what the meter reported.

    `sent_seq` below `desired_seq` means the command is pending: the broker has not taken it.
    `reported_at` is the meter's clock; `reported_received_at` is ours.
    """

    __tablename__ = "parking_bay_light"

    meter_device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bay_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    meter_id: Mapped[int | None] = mapped_column(Integer, index=True)
    desired_color: Mapped[str] = mapped_column(String(8))
    desired_seq: Mapped[int] = mapped_column(BigInteger)
    desired_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    desired_issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_seq: Mapped[int] = mapped_column(BigInteger)
    reported_color: Mapped[str | None] = mapped_column(String(8))
    reported_seq: Mapped[int | None] = mapped_column(BigInteger)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reported_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def reported(self) -> LightReport | None:
        if self.reported_color is None or self.reported_seq is None or self.reported_at is None:
            return None
        return LightReport(
            seq=self.reported_seq, color=LightColor(self.reported_color), at=self.reported_at
        )

    def to_domain(self) -> BayLight:
        return BayLight(
            key=BayLightKey(self.meter_device_id, self.bay_number),
            meter_id=self.meter_id,
            desired=LightCommand(
                seq=self.desired_seq,
                color=LightColor(self.desired_color),
                until=self.desired_until,
                issued_at=self.desired_issued_at,
            ),
            sent_seq=self.sent_seq,
            reported=self.reported(),
        )

    def update_from(self, light: BayLight) -> None:
        if light.meter_id is not None:
            self.meter_id = light.meter_id
        self.desired_color = light.desired.color.value
        self.desired_seq = light.desired.seq
        self.desired_until = light.desired.until
        self.desired_issued_at = light.desired.issued_at
        self.sent_seq = light.sent_seq
        if light.reported is not None:
            self.reported_color = light.reported.color.value
            self.reported_seq = light.reported.seq
            self.reported_at = light.reported.at


class LightWindowRow(Base):
    """A reservation's hold on a bay's light, as its events said (see `LightWindow`)."""

    __tablename__ = "parking_light_window"
    __table_args__ = (
        Index("ix_parking_light_window_bay", "meter_device_id", "bay_number"),
        Index("ix_parking_light_window_ends_at", "ends_at"),
    )

    reservation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    meter_id: Mapped[int | None] = mapped_column(Integer)
    meter_device_id: Mapped[str] = mapped_column(String(64))
    bay_number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))

    def to_domain(self) -> LightWindow:
        return LightWindow(
            reservation_id=self.reservation_id,
            key=BayLightKey(self.meter_device_id, self.bay_number),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            ended_at=self.ended_at,
        )

    def update_from(self, window: LightWindow) -> None:
        self.meter_device_id = window.key.meter_device_id
        self.bay_number = window.key.bay_number
        self.starts_at = window.starts_at
        self.ends_at = window.ends_at
        self.ended_at = window.ended_at


def _live(now: datetime) -> Any:
    """Windows that still hold or will hold a light after `now`."""
    return and_(
        LightWindowRow.starts_at.is_not(None),
        LightWindowRow.ends_at > now,
        or_(LightWindowRow.ended_at.is_(None), LightWindowRow.ended_at > now),
    )


class LightRepository:
    """Bay lights and their windows inside one unit of work.

    Rows read here are kept for the transaction, so saving what was read costs no second
    query: the gateway decides a bay in four round trips.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._light_rows: dict[BayLightKey, BayLightRow | None] = {}
        self._window_rows: dict[str, LightWindowRow | None] = {}

    async def save_window(
        self, window: LightWindow, *, meter_id: int | None, end_reason: str | None = None
    ) -> None:
        if window.reservation_id in self._window_rows:
            row = self._window_rows[window.reservation_id]
        else:
            row = await self._session.get(LightWindowRow, window.reservation_id)
        if row is None:
            row = LightWindowRow(reservation_id=window.reservation_id)
            self._session.add(row)
            self._window_rows[window.reservation_id] = row
        row.update_from(window)
        if meter_id is not None:
            row.meter_id = meter_id
        if end_reason is not None:
            row.end_reason = end_reason

    async def live_windows(self, key: BayLightKey, now: datetime) -> list[LightWindow]:
        """The bay's windows that hold its light now or later."""
        live, _ = await self.windows_of_bays([key], now, reservation_ids=[])
        return live.get(key, [])

    async def bay_light(
        self, key: BayLightKey, now: datetime, *, meter_id: int | None = None
    ) -> BayLight:
        """The bay's light, locked for this transaction; the unset default if never seen."""
        row = await self._session.get(
            BayLightRow, (key.meter_device_id, key.bay_number), with_for_update=True
        )
        self._light_rows[key] = row
        if row is None:
            return BayLight(key=key, meter_id=meter_id, desired=unset_command(now))
        if meter_id is not None and row.meter_id != meter_id:
            row.meter_id = meter_id
        return row.to_domain()

    async def bay_lights(
        self, keys: list[BayLightKey], now: datetime
    ) -> dict[BayLightKey, BayLight]:
        """Several bays' lights in one query, locked; the unset default for bays never seen.

        Rows are locked in key order, so two processes deciding overlapping bays queue up
        rather than deadlock.
        """
        found: dict[BayLightKey, BayLight] = {}
        if keys:
            rows = await self._session.scalars(
                select(BayLightRow)
                .where(
                    tuple_(BayLightRow.meter_device_id, BayLightRow.bay_number).in_(
                        [(key.meter_device_id, key.bay_number) for key in keys]
                    )
                )
                .order_by(BayLightRow.meter_device_id, BayLightRow.bay_number)
                .with_for_update()
            )
            for row in rows:
                light = row.to_domain()
                self._light_rows[light.key] = row
                found[light.key] = light
        for key in keys:
            if key not in found:
                self._light_rows[key] = None
                found[key] = BayLight(key=key, meter_id=None, desired=unset_command(now))
        return found

    async def windows_of_bays(
        self, keys: list[BayLightKey], now: datetime, *, reservation_ids: list[str]
    ) -> tuple[dict[BayLightKey, list[LightWindow]], dict[str, LightWindow]]:
        """In one query: each bay's windows that hold its light now or later, and the
        windows of the named reservations (wherever they are, and whether over or not)."""
        live: dict[BayLightKey, list[LightWindow]] = defaultdict(list)
        own: dict[str, LightWindow] = {}
        conditions = []
        if keys:
            conditions.append(
                and_(
                    tuple_(LightWindowRow.meter_device_id, LightWindowRow.bay_number).in_(
                        [(key.meter_device_id, key.bay_number) for key in keys]
                    ),
                    _live(now),
                )
            )
        if reservation_ids:
            conditions.append(LightWindowRow.reservation_id.in_(reservation_ids))
            for reservation_id in reservation_ids:
                self._window_rows.setdefault(reservation_id, None)
        if not conditions:
            return {}, {}
        wanted = set(keys)
        for row in await self._session.scalars(select(LightWindowRow).where(or_(*conditions))):
            self._window_rows[row.reservation_id] = row
            window = row.to_domain()
            if window.reservation_id in reservation_ids:
                own[window.reservation_id] = window
            end = window.effective_end
            if window.key in wanted and window.complete and end is not None and end > now:
                live[window.key].append(window)
        return dict(live), own

    async def meter_ids_of_devices(self, meter_device_ids: list[str]) -> dict[str, int]:
        """The platform's meter behind each device id, as reservations named them."""
        if not meter_device_ids:
            return {}
        rows = await self._session.execute(
            select(BayLightRow.meter_device_id, BayLightRow.meter_id)
            .where(
                BayLightRow.meter_device_id.in_(meter_device_ids),
                BayLightRow.meter_id.is_not(None),
            )
            .distinct()
        )
        return {device: meter_id for device, meter_id in rows if meter_id is not None}

    async def save_bay_light(self, light: BayLight, *, received_at: datetime | None = None) -> None:
        if light.key in self._light_rows:
            row = self._light_rows[light.key]
        else:
            row = await self._session.get(
                BayLightRow, (light.key.meter_device_id, light.key.bay_number)
            )
        if row is None:
            row = BayLightRow(
                meter_device_id=light.key.meter_device_id, bay_number=light.key.bay_number
            )
            self._session.add(row)
        self._light_rows[light.key] = row
        reported_before = row.reported()
        row.update_from(light)
        if received_at is not None and light.reported != reported_before:
            row.reported_received_at = received_at

    async def mark_sent_many(self, sent: dict[BayLightKey, int]) -> None:
        """The broker took these commands (bay -> seq), in one statement run for each."""
        if not sent:
            return
        table = cast(Table, BayLightRow.__table__)
        await self._session.execute(
            update(table)
            .where(
                table.c.meter_device_id == bindparam("b_device"),
                table.c.bay_number == bindparam("b_bay"),
                table.c.sent_seq < bindparam("b_seq"),
            )
            .values(sent_seq=bindparam("b_seq")),
            # In key order, as every other writer locks these rows, so none deadlocks.
            [
                {"b_device": key.meter_device_id, "b_bay": key.bay_number, "b_seq": seq}
                for key, seq in sorted(sent.items())
            ],
        )

    async def lights_of_devices(self, meter_device_ids: list[str]) -> list[BayLight]:
        rows = await self._session.scalars(
            select(BayLightRow)
            .where(BayLightRow.meter_device_id.in_(meter_device_ids))
            .order_by(BayLightRow.meter_device_id, BayLightRow.bay_number)
        )
        return [row.to_domain() for row in rows]

    async def pending_lights(
        self, limit: int, *, after: BayLightKey | None = None
    ) -> list[BayLight]:
        """Bays whose latest command the broker has not taken yet, a page at a time."""
        query = select(BayLightRow).where(BayLightRow.sent_seq < BayLightRow.desired_seq)
        if after is not None:
            query = query.where(
                or_(
                    BayLightRow.meter_device_id > after.meter_device_id,
                    and_(
                        BayLightRow.meter_device_id == after.meter_device_id,
                        BayLightRow.bay_number > after.bay_number,
                    ),
                )
            )
        rows = await self._session.scalars(
            query.order_by(BayLightRow.meter_device_id, BayLightRow.bay_number).limit(limit)
        )
        # A meter's report of the seq is as good as the broker's word (see BayLight.pending).
        return [light for light in (row.to_domain() for row in rows) if light.pending]

    async def schedule_inputs(
        self, now: datetime
    ) -> tuple[dict[BayLightKey, list[LightWindow]], dict[BayLightKey, BayLight]]:
        """What a restarted gateway rebuilds its schedule from: live windows, lit bays."""
        windows: dict[BayLightKey, list[LightWindow]] = defaultdict(list)
        for row in await self._session.scalars(select(LightWindowRow).where(_live(now))):
            window = row.to_domain()
            windows[window.key].append(window)
        lit = await self._session.scalars(
            select(BayLightRow).where(BayLightRow.desired_color != DEFAULT_COLOR.value)
        )
        return dict(windows), {row.to_domain().key: row.to_domain() for row in lit}


class LightUnitOfWork(UnitOfWork):
    """The bay-light and meter-presence tables in one transaction."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.lights = LightRepository(self.session)
        self.presence = MeterPresenceRepository(self.session)
        return self


async def retry_conflicts(work: Callable[[], Awaitable[None]], attempts: int = 3) -> None:
    """Run a bay-light transaction again when another writer got in the way (a row inserted
    first, a deadlock, a busy SQLite); `work` must decide afresh from what it reads."""
    for attempt in range(1, attempts + 1):
        try:
            await work()
            return
        except (IntegrityError, OperationalError, DBAPIError) as error:
            if attempt == attempts or not _transient(error):
                raise
            log.info("bay-light transaction retried after %s", type(error).__name__)


def _transient(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    text = str(error.orig).lower()
    return any(sign in text for sign in ("deadlock", "could not serialize", "database is locked"))
