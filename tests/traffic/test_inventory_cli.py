"""`shahr import detectors` and `shahr import cameras`: a city's files from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from shahr.cli import app
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.traffic import services
from shahr.traffic.persistence import TrafficUnitOfWork

from .network import grid_segments, node


def _with_grid(url: str) -> None:
    """A database holding the 3x3 test grid, as `shahr import roads` would leave it."""
    from shahr.startup import upgrade_database

    settings = Settings(database_url=url)
    upgrade_database(settings)

    async def load() -> None:
        database = Database(settings.sqlalchemy_url)
        try:
            await services.import_road_network(database, segments=grid_segments(), source="grid")
        finally:
            await database.dispose()

    asyncio.run(load())


def _counts(url: str) -> tuple[int, int]:
    async def count() -> tuple[int, int]:
        database = Database(Settings(database_url=url).sqlalchemy_url)
        try:
            async with TrafficUnitOfWork(database) as uow:
                return len(await uow.detectors.all()), len(await uow.cameras.all())
        finally:
            await database.dispose()

    return asyncio.run(count())


def test_the_import_commands_load_detectors_and_cameras_and_say_what_changed(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    _with_grid(url)
    detectors = tmp_path / "detectors.csv"
    detectors.write_text(
        "id,kind,segment_id,lane,position_m\nL1,loop,s01-11,1,30\nL2,loop,s01-11,2,30\n",
        encoding="utf-8",
    )
    cameras = tmp_path / "cameras.csv"
    cameras.write_text(
        "id,name_fa,lon,lat,stream_url,public\n"
        f"C1,میدان,{node(1, 1)[0]},{node(1, 1)[1]},rtsp://10.0.0.1/live,true\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    env = {"SHAHR_DATABASE_URL": url}

    first = runner.invoke(app, ["import", "detectors", str(detectors)], env=env)
    again = runner.invoke(app, ["import", "detectors", str(detectors)], env=env)
    cams = runner.invoke(app, ["import", "cameras", str(cameras)], env=env)

    assert first.exit_code == 0, first.output
    assert "detectors.csv: 2 detectors; changes: added 2; unchanged: 0" in first.output
    assert "changes: none; unchanged: 2" in again.output
    assert cams.exit_code == 0, cams.output
    assert "1 cameras; added 1, updated 0, unchanged 0" in cams.output
    assert _counts(url) == (2, 1)


def test_a_bad_file_is_refused_with_each_bad_row_in_the_language_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    _with_grid(url)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,kind,segment_id,lane\nok,loop,s01-11,1\nx,radar,s01-11,1\ny,loop,nowhere,1\n",
        encoding="utf-8",
    )
    runner = CliRunner()

    english = runner.invoke(app, ["import", "detectors", str(bad)], env={"SHAHR_DATABASE_URL": url})
    persian = runner.invoke(
        app, ["import", "detectors", str(bad), "--lang", "fa"], env={"SHAHR_DATABASE_URL": url}
    )

    assert english.exit_code == 1
    assert "bad.csv: 2 rows cannot be loaded, so nothing was stored." in english.output
    assert "Row 3: Detector x has an unknown kind «radar»." in english.output
    assert "Row 4: Detector y names segment nowhere, which is not in the network." in english.output
    assert persian.exit_code == 1
    assert "سطر ۳" in persian.output
    assert _counts(url) == (0, 0)
