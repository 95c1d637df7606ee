"""`shahr import areas FILE.geojson` on a SQLite file: a progress bar, a summary, all or nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from shahr.cli import app
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.parking import queries
from shahr.parking.domain import District

from .geodata import OFFICIAL_DISTRICTS


def districts_in(url: str) -> list[District]:
    async def read() -> list[District]:
        database = Database(Settings(database_url=url).sqlalchemy_url)
        try:
            return await queries.districts(database)
        finally:
            await database.dispose()

    return asyncio.run(read())


def test_import_areas_loads_the_official_districts_and_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"

    result = CliRunner().invoke(
        app, ["import", "areas", str(OFFICIAL_DISTRICTS)], env={"SHAHR_DATABASE_URL": url}
    )

    assert result.exit_code == 0, result.output
    assert "Imported official district outlines from tehran_districts.geojson" in result.output
    assert "added: 1, 2, 3" in result.output
    districts = districts_in(url)
    assert len(districts) == 22
    assert {(d.approximate, d.source) for d in districts} == {(False, "tehran_districts.geojson")}


def test_import_areas_refuses_a_bad_file_says_why_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    runner = CliRunner()
    runner.invoke(
        app, ["import", "areas", str(OFFICIAL_DISTRICTS)], env={"SHAHR_DATABASE_URL": url}
    )
    before = districts_in(url)
    bad = tmp_path / "districts.geojson"
    features = json.loads(OFFICIAL_DISTRICTS.read_text(encoding="utf-8"))["features"]
    features[5]["properties"] = {"district": 40}
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    result = runner.invoke(app, ["import", "areas", str(bad)], env={"SHAHR_DATABASE_URL": url})

    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "Feature 6 names district 40; districts are numbered 1 to 22." in result.output
    assert districts_in(url) == before


def test_import_areas_refuses_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["import", "areas", str(tmp_path / "missing.geojson")],
        env={"SHAHR_DATABASE_URL": f"sqlite:///{tmp_path / 'shahr.db'}"},
    )

    assert result.exit_code == 2
    assert "does not exist" in result.output
