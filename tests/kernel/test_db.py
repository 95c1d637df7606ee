"""The database port behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shahr.kernel.db import Database
from shahr.kernel.settings import Settings


@pytest.fixture
async def database(database_url: str) -> Database:
    return Database(Settings(database_url=database_url).sqlalchemy_url)


async def test_the_database_answers_a_ping(database: Database) -> None:
    await database.ping()
    await database.dispose()


async def test_work_that_is_not_committed_is_rolled_back(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE kernel_probe (id INTEGER PRIMARY KEY)"))
    async with database.session() as session:
        await session.execute(text("INSERT INTO kernel_probe (id) VALUES (1)"))
    async with database.session() as session:
        await session.execute(text("INSERT INTO kernel_probe (id) VALUES (2)"))
        await session.commit()
    async with database.session() as session:
        ids = (await session.execute(text("SELECT id FROM kernel_probe"))).scalars().all()
    assert ids == [2]
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP TABLE kernel_probe"))
    await database.dispose()


async def test_a_read_outside_a_transaction_leaves_the_next_session_transactional(
    database: Database,
) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE kernel_read_probe (id INTEGER PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO kernel_read_probe (id) VALUES (1), (2)"))
    query = text("SELECT id FROM kernel_read_probe WHERE id >= :least ORDER BY id")

    assert [row.id for row in await database.read(query, {"least": 2})] == [2]
    # The pooled connection the read used is back in transactional mode: work a session
    # does not commit is still rolled back.
    async with database.session() as session:
        await session.execute(text("INSERT INTO kernel_read_probe (id) VALUES (3)"))
    assert [row.id for row in await database.read(query, {"least": 0})] == [1, 2]
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP TABLE kernel_read_probe"))
    await database.dispose()


async def test_every_area_migration_branch_is_applied(database: Database) -> None:
    async with database.session() as session:
        versions = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
    await database.dispose()
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from shahr.startup import PROJECT_DIR

    heads = set(ScriptDirectory.from_config(Config(str(PROJECT_DIR / "alembic.ini"))).get_heads())
    assert {row[0] for row in versions} == heads


async def test_sqlite_runs_in_write_ahead_log_mode(tmp_path: object) -> None:
    database = Database(Settings(var_dir=tmp_path).sqlalchemy_url)  # type: ignore[arg-type]
    async with database.engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
    await database.dispose()
    assert mode == "wal"


def test_a_postgres_url_is_driven_by_asyncpg() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert settings.sqlalchemy_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def test_production_refuses_to_start_without_a_secret() -> None:
    with pytest.raises(ValueError, match="SHAHR_SECRET_KEY"):
        Settings(environment="production")


async def test_the_migrations_build_exactly_the_tables_the_code_declares(
    database: Database,
) -> None:
    """A column, index or table added to a model without a migration (or the reverse) fails."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.engine import Connection

    from shahr.bootstrap import load_all_tables

    metadata = load_all_tables()

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, metadata))

    async with database.engine.connect() as connection:
        found = await connection.run_sync(differences)
    await database.dispose()
    assert found == []
