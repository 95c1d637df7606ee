"""The one-time codes' table, written only by single statements that decide in the database.

Concurrent requests for one phone never read a row, decide in Python and write it back: a
write from a stale read would lose attempts or erase a lock (docs/decisions/0030). Each
change is one UPDATE (or INSERT ... ON CONFLICT) whose conditions the database checks, on
PostgreSQL and on SQLite (3.35 or newer, for RETURNING) alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, String, and_, case, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shahr.identity.domain import OtpChallenge
from shahr.kernel.db import Base, UtcDateTime
from shahr.kernel.upsert import upsert


class OtpChallengeRow(Base):
    __tablename__ = "identity_otp_challenge"

    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    wrong_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When the attempts counted so far stop counting; the next attempt opens a new window.
    attempts_reset_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


_ROW = OtpChallengeRow
_RETURNED = (_ROW.phone, _ROW.code_hash, _ROW.expires_at, _ROW.wrong_attempts, _ROW.locked_until)


def _moment(value: datetime) -> ColumnElement[datetime]:
    # Typed, so SQLite stores it in the column's own format and PostgreSQL as timestamptz.
    return literal(value, UtcDateTime())


def _not_locked(now: datetime) -> ColumnElement[bool]:
    return or_(_ROW.locked_until.is_(None), _ROW.locked_until <= _moment(now))


class CodeRepository:
    """The phones' codes and attempt counts, inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def otp_challenge(self, phone: str) -> OtpChallenge | None:
        result = await self.session.execute(select(*_RETURNED).where(_ROW.phone == phone))
        row = result.one_or_none()
        return None if row is None else OtpChallenge(*row)

    async def issue_code(
        self, phone: str, code_hash: str, *, now: datetime, expires_at: datetime
    ) -> bool:
        """Give the phone a new code, replacing the old one; False while it is locked out.

        The attempt count is left alone: a new code does not buy new guesses.
        """
        statement = upsert(OtpChallengeRow.__table__, on_postgresql=self._on_postgresql)
        statement = statement.values(
            phone=phone, code_hash=code_hash, expires_at=expires_at, wrong_attempts=0
        )
        statement = statement.on_conflict_do_update(
            index_elements=["phone"],
            set_={
                "code_hash": statement.excluded.code_hash,
                "expires_at": statement.excluded.expires_at,
            },
            where=_not_locked(now),
        )
        result = await self.session.execute(statement.returning(OtpChallengeRow.__table__.c.phone))
        return result.first() is not None

    async def count_attempt(
        self, phone: str, *, now: datetime, window_s: int
    ) -> OtpChallenge | None:
        """Count one code attempt before the code is compared; the challenge as counted.

        None when there is nothing to guess at: no live code, or a lockout running.
        """
        window_over = or_(_ROW.attempts_reset_at.is_(None), _ROW.attempts_reset_at <= _moment(now))
        statement = (
            update(OtpChallengeRow)
            .where(
                _ROW.phone == phone,
                _ROW.code_hash.is_not(None),
                _ROW.expires_at > _moment(now),
                _not_locked(now),
            )
            .values(
                wrong_attempts=case((window_over, 1), else_=_ROW.wrong_attempts + 1),
                attempts_reset_at=case(
                    (window_over, _moment(now + timedelta(seconds=window_s))),
                    else_=_ROW.attempts_reset_at,
                ),
            )
            .returning(*_RETURNED)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else OtpChallenge(*row)

    async def lock_out(self, phone: str, *, now: datetime, lockout_s: int) -> datetime:
        """Lock the phone out and clear its code; a lockout already running is kept as is."""
        running = and_(_ROW.locked_until.is_not(None), _ROW.locked_until > _moment(now))
        until = _moment(now + timedelta(seconds=lockout_s))
        statement = (
            update(OtpChallengeRow)
            .where(_ROW.phone == phone)
            .values(code_hash=None, locked_until=case((running, _ROW.locked_until), else_=until))
            .returning(_ROW.locked_until)
            .execution_options(synchronize_session=False)
        )
        locked_until = (await self.session.execute(statement)).scalar_one()
        if locked_until is None:  # the CASE always sets it; this only narrows the type
            raise AssertionError("a lockout was written without an end")
        return locked_until

    async def consume_code(self, phone: str, code_hash: str) -> bool:
        """Clear the code if it is still the one checked, so it signs in once.

        This attempt is taken back; the window's wrong attempts stay counted.
        """
        statement = (
            update(OtpChallengeRow)
            .where(_ROW.phone == phone, _ROW.code_hash == code_hash)
            .values(
                code_hash=None,
                wrong_attempts=case((_ROW.wrong_attempts > 0, _ROW.wrong_attempts - 1), else_=0),
            )
            .returning(_ROW.phone)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(statement)).first() is not None

    async def withdraw_code(
        self, phone: str, code_hash: str, *, previous_hash: str | None, previous_expiry: datetime
    ) -> None:
        """Put back the code a never-sent one replaced, unless a newer one replaced it since."""
        await self.session.execute(
            update(OtpChallengeRow)
            .where(_ROW.phone == phone, _ROW.code_hash == code_hash)
            .values(code_hash=previous_hash, expires_at=previous_expiry)
            .execution_options(synchronize_session=False)
        )

    @property
    def _on_postgresql(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"
