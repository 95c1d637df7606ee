"""Alembic runs every area's migrations against the configured database (async engine)."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from shahr.bootstrap import load_all_tables
from shahr.kernel.db import Base, Database
from shahr.kernel.settings import Settings

config = context.config
target_metadata = load_all_tables() or Base.metadata


def _url() -> str:
    return config.attributes.get("url") or Settings().sqlalchemy_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    database = Database(_url())
    async with database.engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await database.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
