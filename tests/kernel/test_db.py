"""The database port behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.startup import upgrade_database


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


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems start with, which leaves new files readable by everyone."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.usefixtures("usual_umask")
async def test_the_demo_database_and_its_folder_are_the_owner_s_only(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    upgrade_database(settings)  # what `shahr serve --demo` does first
    database = Database(settings.sqlalchemy_url)
    async with database.engine.begin() as connection:  # the WAL and shared memory open
        await connection.execute(text("CREATE TABLE kernel_probe (id INTEGER PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO kernel_probe (id) VALUES (1)"))
        files = sorted(settings.var_dir.iterdir())
        modes = {path.name: _mode(path) for path in files}
    await database.dispose()
    assert settings.signing_key  # the secret key is written beside them

    assert _mode(settings.var_dir) == 0o700
    assert {"shahr.db", "shahr.db-wal", "shahr.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}
    assert _mode(settings.var_dir / "secret_key") == 0o600


@pytest.mark.usefixtures("usual_umask")
async def test_a_database_file_an_earlier_run_left_open_to_all_is_narrowed(
    tmp_path: Path,
) -> None:
    old = tmp_path / "shahr.db"
    for path in (old, tmp_path / "shahr.db-wal"):
        path.touch()
        path.chmod(0o644)

    database = Database(f"sqlite+aiosqlite:///{old}")
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await database.dispose()

    assert _mode(old) == 0o600
    assert _mode(tmp_path / "shahr.db-wal") == 0o600
