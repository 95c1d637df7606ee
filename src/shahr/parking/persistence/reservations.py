"""Reservations' tables, their repository, and the unit of work that books without overlap.

No bay is held twice for overlapping times (docs/decisions/0011): every write that sets a
holding range is one statement that writes only if no other row holds the bay over the
window (`ReservationRepository.hold` and `rehold`, which raise `BayTakenError`). On SQLite
that check is the whole guard (one writer at a time); on PostgreSQL an exclusion
constraint also refuses a concurrent writer's overlap. Callers never see the difference.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Self, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    exists,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from shahr.kernel.db import Database, UnitOfWork
from shahr.kernel.upsert import upsert
from shahr.parking.domain import (
    Reservation,
    ReservationStatus,
    TimeWindow,
    bay_taken,
)
from shahr.parking.persistence.holds import HOLDING, Hold, hold_of, holds_query
from shahr.parking.persistence.inventory import InventoryRepository
from shahr.parking.persistence.reservation_rows import (
    NO_OVERLAP_CONSTRAINT,
    ReservationRow,
    row_values,
)
from shahr.parking.persistence.stay_records import StayRecordRepository

# The booking path writes through the tables, not the ORM: one statement each, without the
# unit of work's flush or a read of the row before it is saved. The statements are built
# once and take their values as parameters: built per call, each value became a bound
# parameter to coerce and hash into the statement's cache key, every time.
_RESERVATIONS = cast(Table, ReservationRow.__table__)
_COLUMNS = [c for c in _RESERVATIONS.c if c.name != "id"]
_SAVE_RESERVATION = update(_RESERVATIONS).where(
    _RESERVATIONS.c.id == bindparam("saved_id")  # not "id": a SET column keeps that name
)


def _holding_over(bay_id: Any, starts_at: Any, ends_at: Any, exclude: Any = None) -> Any:
    """EXISTS a row holding the bay over part of [starts_at, ends_at) (the constraint's rule)."""
    other = _RESERVATIONS.alias("other")
    condition = and_(
        other.c.bay_id == bay_id,
        other.c.status.in_(HOLDING),
        other.c.starts_at < ends_at,
        other.c.ends_at > starts_at,
    )
    if exclude is not None:
        condition = and_(condition, other.c.id != exclude)
    return exists().where(condition)


def _hold_statement(*, on_postgresql: bool) -> ReturningInsert[tuple[str]]:
    """INSERT the row unless the bay is held over its window or its quote was used.

    On SQLite, which has no exclusion constraint, the NOT EXISTS decides (the statement runs
    under the write lock); on PostgreSQL the exclusion constraint has the last word over
    concurrent writers, and ON CONFLICT DO NOTHING turns its refusal into "no row", as it
    does the quote's unique index on both.
    """
    values = {"id": bindparam("id", type_=_RESERVATIONS.c.id.type)} | {
        c.name: bindparam(c.name, type_=c.type) for c in _COLUMNS
    }
    free = ~_holding_over(values["bay_id"], values["starts_at"], values["ends_at"])
    return (
        upsert(_RESERVATIONS, on_postgresql=on_postgresql)
        .from_select(list(values), select(*values.values()).where(free))
        .on_conflict_do_nothing()
        .returning(_RESERVATIONS.c.id)
    )


# Keyed by "is SQLite", as the repository knows its database.
_HOLD = {is_sqlite: _hold_statement(on_postgresql=not is_sqlite) for is_sqlite in (True, False)}
# A saved row whose held range grows (re-held, extended) only if nobody else holds it.
_REHOLD = _SAVE_RESERVATION.where(
    ~_holding_over(
        _RESERVATIONS.c.bay_id,
        bindparam("held_from", type_=_RESERVATIONS.c.starts_at.type),
        bindparam("held_to", type_=_RESERVATIONS.c.ends_at.type),
        exclude=_RESERVATIONS.c.id,
    )
)


class ReservationRepository:
    """Reservations and the holds they put on bays, inside one unit of work."""

    def __init__(self, session: AsyncSession, *, is_sqlite: bool) -> None:
        self._session = session
        self._is_sqlite = is_sqlite

    async def get(self, reservation_id: str, *, lock: bool = False) -> Reservation | None:
        query = select(ReservationRow).where(ReservationRow.id == reservation_id)
        if lock:
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else row.to_domain()

    async def by_quote(self, quote_id: str) -> Reservation | None:
        row = await self._session.scalar(
            select(ReservationRow).where(ReservationRow.quote_id == quote_id)
        )
        return None if row is None else row.to_domain()

    async def hold(self, reservation: Reservation, now: datetime) -> Reservation:
        """Write the reservation, holding its bay; or answer the one its quote already made.

        Raises `BayTakenError` if someone else holds the bay over part of the window. The
        usual case is one statement; only when it writes nothing are the bay's lapsed holds
        let go and the write tried once more, and only then is the quote looked up.
        """
        values = {"id": reservation.id, **row_values(reservation)}
        for attempt in range(2):
            if attempt:
                await self.release_lapsed(reservation.bay_id, now)
            if await self._session.scalar(_HOLD[self._is_sqlite], values) is not None:
                return reservation
        made = await self.by_quote(reservation.quote_id)
        if made is None:
            raise bay_taken(())
        return made

    async def rehold(self, reservation: Reservation, now: datetime) -> None:
        """Save a reservation whose held range grows (confirmed after its hold lapsed, or
        extended); raises `BayTakenError`, changing nothing, if another row holds the bay."""
        values = {
            "saved_id": reservation.id,
            "held_from": reservation.starts_at,
            "held_to": reservation.ends_at,
            **row_values(reservation),
        }
        for attempt in range(2):
            if attempt:
                await self.release_lapsed(reservation.bay_id, now)
            try:
                # A savepoint: on PostgreSQL a concurrent writer's row can still trip the
                # exclusion constraint, which must fail only this statement.
                async with self._session.begin_nested():
                    result = await self._session.execute(_REHOLD, values)
            except IntegrityError as error:
                if NO_OVERLAP_CONSTRAINT not in str(error.orig):
                    raise
                break
            if cast(CursorResult[Any], result).rowcount:
                self._forget_loaded(reservation.id)
                return
        raise bay_taken(())

    async def save(self, reservation: Reservation) -> None:
        result = await self._session.execute(
            _SAVE_RESERVATION, {"saved_id": reservation.id, **row_values(reservation)}
        )
        if cast(CursorResult[Any], result).rowcount == 0:
            raise LookupError(reservation.id)
        self._forget_loaded(reservation.id)

    def _forget_loaded(self, reservation_id: str) -> None:
        """A copy of the row this session loaded earlier is stale now: forget it, so that a
        later read in the same transaction loads the row as saved."""
        stale = self._session.identity_map.get(Session.identity_key(ReservationRow, reservation_id))
        if stale is not None:
            self._session.expunge(stale)

    async def delete_unpaid(self, reservation_id: str) -> None:
        """Forget a hold whose payment never started: nothing was booked."""
        row = await self._session.get(ReservationRow, reservation_id)
        if row is not None and row.paid_rial == 0:
            await self._session.delete(row)
            await self._session.flush()

    async def release_lapsed(self, bay_id: int, now: datetime) -> None:
        """Let go of this bay's unpaid holds and extensions whose time has run out."""
        table = ReservationRow
        await self._session.execute(
            update(table)
            .where(
                table.bay_id == bay_id,
                table.status == ReservationStatus.pending.value,
                table.hold_expires_at <= now,
            )
            .values(status=ReservationStatus.lapsed.value, hold_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(
            update(table)
            .where(
                table.bay_id == bay_id,
                table.status == ReservationStatus.confirmed.value,
                table.extension_from.is_not(None),
                table.hold_expires_at <= now,
            )
            .values(
                ends_at=table.extension_from,
                extension_from=None,
                extension_rial=None,
                hold_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def overlapping(
        self, bay_id: int, window: TimeWindow, *, exclude: str | None = None
    ) -> list[Hold]:
        """The rows holding this bay over any part of the window (run after release_lapsed)."""
        query = self._holds().where(
            ReservationRow.bay_id == bay_id,
            ReservationRow.starts_at < window.ends_at,
            ReservationRow.ends_at > window.starts_at,
        )
        if exclude is not None:
            query = query.where(ReservationRow.id != exclude)
        return [hold_of(row) for row in await self._session.execute(query)]

    async def next_hold_after(self, bay_id: int, moment: datetime, *, exclude: str) -> Hold | None:
        query = (
            self._holds()
            .where(
                ReservationRow.bay_id == bay_id,
                ReservationRow.ends_at > moment,
                ReservationRow.id != exclude,
            )
            .order_by(ReservationRow.starts_at)
            .limit(1)
        )
        row = (await self._session.execute(query)).first()
        return None if row is None else hold_of(row)

    def _holds(self) -> Any:
        return holds_query()

    async def of_citizen(self, citizen_id: str, *, limit: int) -> list[Reservation]:
        rows = await self._session.scalars(
            select(ReservationRow)
            .where(ReservationRow.citizen_id == citizen_id)
            .order_by(ReservationRow.starts_at.desc(), ReservationRow.id)
            .limit(limit)
        )
        return [row.to_domain() for row in rows]

    async def due(
        self, now: datetime, *, reminder_before: timedelta, limit: int
    ) -> list[Reservation]:
        """Rows a job must look at: lapsed holds and extensions, ended stays, reminders."""
        r = ReservationRow
        query = (
            select(r)
            .where(
                or_(
                    and_(r.status == ReservationStatus.pending.value, r.hold_expires_at <= now),
                    and_(
                        r.status == ReservationStatus.confirmed.value,
                        or_(
                            r.ends_at <= now,
                            and_(r.extension_from.is_not(None), r.hold_expires_at <= now),
                            and_(
                                r.reminder_sent_at.is_(None),
                                r.ends_at <= now + reminder_before,
                            ),
                        ),
                    ),
                )
            )
            .order_by(r.ends_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row.to_domain() for row in await self._session.scalars(query)]


class ReservationUnitOfWork(UnitOfWork):
    """One transaction over inventory, reservations and what stays leave behind.

    `write=True` for a transaction that reads and then writes what a booking depends on:
    on SQLite it begins `IMMEDIATE`, taking the single write lock before anything is read,
    so what it reads is what every other writer will see. On PostgreSQL the rows that change
    are read `FOR UPDATE` and the exclusion constraint has the last word over holds.
    """

    def __init__(self, database: Database, *, write: bool = False) -> None:
        super().__init__(database)
        self._write = write

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        is_sqlite = self.database.is_sqlite
        if self._write and is_sqlite:
            await self.session.execute(text("BEGIN IMMEDIATE"))
        self.inventory = InventoryRepository(self.session)
        self.reservations = ReservationRepository(self.session, is_sqlite=is_sqlite)
        self.records = StayRecordRepository(self.session)
        return self
