"""The database port: one async SQLAlchemy engine; SQLite (WAL) by default, PostgreSQL at scale."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import DateTime, Executable, MetaData, Row, TypeDecorator, event, inspect
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Alembic's record of the migrations applied: a database without it was never migrated.
MIGRATIONS_TABLE = "alembic_version"


class SchemaMissingError(Exception):
    """The database answers but has no tables: nobody has run `shahr db upgrade` on it."""

    def __init__(self) -> None:
        super().__init__("the database has no tables yet: run `shahr db upgrade`")


class Base(DeclarativeBase):
    """Every area's tables hang off this metadata; each area prefixes its table names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out: SQLite keeps no zone and would hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer writes; busy_timeout waits for the writer
    # instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def keep_to_owner(database_file: Path) -> None:
    """Make the SQLite file (and its WAL, shared-memory and journal files) readable and
    writable by the owner only: it holds every citizen's phone number and plates.

    The file is created empty (a valid new database) with mode 0600 before SQLite opens it,
    and SQLite gives the files it adds beside it the database file's mode. Files left by an
    earlier run with wider modes are narrowed. A folder made here is the owner's only too.
    """
    database_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database_file, os.O_CREAT | os.O_WRONLY, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        companion = database_file.with_name(database_file.name + suffix)
        if companion.exists():
            companion.chmod(0o600)


class Database:
    """Owns the engine and hands out sessions; created by bootstrap, never at import."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # A statement's values (a plate, a phone number) never ride in an error's message,
        # so no log line that quotes the error can carry them.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            # aiosqlite logs each statement with its parameters (phone numbers, plates) at
            # DEBUG: held at INFO, whatever level an operator turns on to debug.
            logging.getLogger("aiosqlite").setLevel(logging.INFO)
        else:
            # Connections stay open (no overflow opened and closed per burst: a new asyncpg
            # connection costs more than a booking). No pre-ping: on asyncpg it is three
            # round trips (BEGIN, `;`, ROLLBACK) on every checkout, several per request; a
            # connection the server dropped fails its one request and SQLAlchemy then
            # invalidates the pool, and `pool_recycle` retires connections before idle
            # timeouts in between (pgbouncer, firewalls) cut them.
            kwargs.update(pool_size=40, max_overflow=0, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                # As each connection opens, not here: an app that is built and then refused
                # (production on a sandbox) leaves no file behind.
                private_file = Path(path)
                event.listen(
                    self.engine.sync_engine, "do_connect", lambda *_: keep_to_owner(private_file)
                )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction rolls back unless the caller commits."""
        async with self.sessions() as session:
            yield session

    async def read(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """The rows of one SELECT, read outside any transaction.

        A single statement sees one consistent snapshot by itself, so it is sent without
        the BEGIN and ROLLBACK a session wraps around it: two round trips fewer, on paths
        that run on every request (who is signed in, a citizen's vehicles).
        """
        async with self.engine.connect() as connection:
            reading = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return (await reading.execute(statement, parameters)).all()

    async def ping(self) -> None:
        """The database answers and has been migrated; `SchemaMissingError` if it never was."""
        async with self.engine.connect() as connection:
            migrated = await connection.run_sync(
                lambda synchronous: inspect(synchronous).has_table(MIGRATIONS_TABLE)
            )
        if not migrated:
            raise SchemaMissingError

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction: commit makes every change at once; leaving without it changes nothing.

    An area's unit of work extends `__aenter__` to put its repositories on `self.session`.
    Another area's work may join the transaction through a port (bootstrap wires it): it
    writes on this unit's session and leaves what must follow the commit (its events) to
    `after_commit`, so the caller's one commit decides for both.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> Self:
        self.session = self.database.sessions()
        return self

    def after_commit(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` once the transaction has committed (never if it rolls back)."""
        self._after_commit.append(work)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.session.rollback()
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
        pending, self._after_commit = self._after_commit, []
        for work in pending:
            await work()
