"""The demo city ships only files the shared data marks "ship: yes", unchanged and described."""

from __future__ import annotations

from pathlib import Path

import pytest

from shahr.demo.services import DATA_DIR

SHARED_TEHRAN = Path(__file__).resolve().parents[3] / "shared" / "data" / "tehran"
# The twin's recorded day is made by our own code (demo/data/twin/README.md), not shared data.
GENERATED = DATA_DIR / "twin"
SHIPPED = sorted(
    p.relative_to(DATA_DIR)
    for p in DATA_DIR.rglob("*")
    if p.is_file() and p.name != "README.md" and GENERATED not in p.parents
)


def test_the_demo_ships_the_districts_metro_and_air_quality_files() -> None:
    assert [str(p) for p in SHIPPED] == [
        "air_quality/stations.csv",
        "districts/district_centroids.csv",
        "metro/LICENSE.md",
        "metro/tehran_metro_stations.geojson",
    ]


@pytest.mark.parametrize("relative", SHIPPED, ids=str)
def test_a_shipped_file_is_the_shared_file_unchanged(relative: Path) -> None:
    assert (DATA_DIR / relative).read_bytes() == (SHARED_TEHRAN / relative).read_bytes()


@pytest.mark.parametrize("relative", SHIPPED, ids=str)
def test_the_data_readme_names_each_shipped_file(relative: Path) -> None:
    assert f"`{relative}`" in (DATA_DIR / "README.md").read_text(encoding="utf-8")
