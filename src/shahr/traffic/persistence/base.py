"""What every traffic table shares: aware UTC columns, the dialect, staging by COPY."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.ext.asyncio import AsyncSession

# Rows that grow without bound; SQLite only auto-increments an INTEGER key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def stage(
    session: AsyncSession, name: str, columns: dict[str, str], values: dict[str, list[Any]]
) -> None:
    """Fill a temporary table (emptied at commit) by COPY, in the session's transaction.

    PostgreSQL only. asyncpg encodes a COPY record about twice as fast as the same values as
    array parameters, and encoding is most of what a worker itself spends on a batch; the
    upserts then read the staged rows (docs/decisions/0015). `columns` maps each column to
    its SQL type.
    """
    ddl = ", ".join(f"{column} {kind}" for column, kind in columns.items())
    # Runs through SQLAlchemy so that its transaction is begun before COPY uses the driver.
    await session.execute(
        text(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({ddl}) ON COMMIT DELETE ROWS")
    )
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # the asyncpg connection
    await driver.copy_records_to_table(
        name,
        records=zip(*(values[column] for column in columns), strict=True),
        columns=list(columns),
    )


def aware(moment: datetime | str | None) -> datetime | None:
    """An aggregate's datetime as aware UTC (SQLite may hand back naive values or text)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
