"""INSERT ... ON CONFLICT for either database the platform runs on, one way for every area."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import FromClause

Upsert = postgresql.Insert | sqlite.Insert
"""An INSERT that says what a conflict on a unique key does (`on_conflict_do_nothing`,
`on_conflict_do_update` with `excluded`)."""


def upsert(table: FromClause, *, on_postgresql: bool) -> Upsert:
    """An INSERT into `table` that can take an ON CONFLICT clause, for PostgreSQL or SQLite.

    Both databases spell the clause the same, but SQLAlchemy builds it with each dialect's
    own `Insert`; a mapped class's `__table__` is typed as any FROM clause, hence the check.
    """
    if not isinstance(table, Table):
        raise TypeError(f"an upsert goes into a table, not {table!r}")
    return postgresql.insert(table) if on_postgresql else sqlite.insert(table)
