"""`shahr import meters FILE.csv`: a city's real inventory, checked row by row, all or nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shahr.bootstrap import Container
from shahr.cli import app
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.parking import services
from shahr.parking.domain import BayKind, MeterFileError, StreetClass, parse_meter_file

from .flows import TEST_METERS_CSV

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "shahr"
    / "parking"
    / "data"
    / "meters.example.csv"
)
HEADER = "device_id,zone_code,district,street_fa,street_class,lon,lat"
GOOD_ROW = "M-1,02-a,2,خیابان ایران‌زمین,A,51.37,35.76"


def counts_in(url: str) -> tuple[int, int, int]:
    async def read() -> tuple[int, int, int]:
        database = Database(Settings(database_url=url).sqlalchemy_url)
        try:
            async with database.session() as session:
                found = [
                    int((await session.execute(text(f"SELECT COUNT(*) FROM {t}"))).scalar_one())  # noqa: S608  # constant names
                    for t in ("parking_zone", "parking_meter", "parking_bay")
                ]
        finally:
            await database.dispose()
        return found[0], found[1], found[2]

    return asyncio.run(read())


def test_import_meters_loads_the_file_and_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    runner = CliRunner()

    first = runner.invoke(app, ["import", "meters", str(EXAMPLE)], env={"SHAHR_DATABASE_URL": url})
    again = runner.invoke(app, ["import", "meters", str(EXAMPLE)], env={"SHAHR_DATABASE_URL": url})

    assert first.exit_code == 0, first.output
    assert "Imported 3 meters (24 bays) from meters.example.csv" in first.output
    assert "meters added: 3, updated: 0" in first.output
    assert "zones added: 2" in first.output
    assert "already as in the file: 3" in again.output
    assert counts_in(url) == (2, 3, 24)


def test_import_meters_refuses_a_bad_file_says_where_and_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    bad = tmp_path / "meters.csv"
    bad.write_text(
        f"{HEADER}\n{GOOD_ROW}\nM-2,02-a,2,خیابان ایران‌زمین,E,51.37,35.76\n", encoding="utf-8"
    )

    result = CliRunner().invoke(
        app, ["import", "meters", str(bad)], env={"SHAHR_DATABASE_URL": url}
    )

    assert result.exit_code == 1
    assert (
        "meters.csv: nothing was imported. Line 3: street class must be A, B, C or D."
        in result.output
    )
    assert counts_in(url) == (0, 0, 0)


def test_import_meters_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    bad = tmp_path / "meters.csv"
    bad.write_bytes(f"{HEADER}\n".encode() + "M-1,02-a,2,خیابان,A,51.37,35.76\n".encode("utf-16"))

    result = CliRunner().invoke(
        app, ["import", "meters", str(bad)], env={"SHAHR_DATABASE_URL": url}
    )

    assert result.exit_code == 1
    assert "not UTF-8" in result.output


def test_a_row_reads_into_a_meter_with_its_zone_and_bays() -> None:
    records = parse_meter_file(TEST_METERS_CSV)

    first = records[0]
    assert (first.device_id, first.zone.code, first.zone.district) == ("TEST-A1", "02-test", 2)
    assert first.street_class is StreetClass.A
    assert first.bay_kinds == (BayKind.car,) * 6 + (BayKind.disabled, BayKind.motorcycle)
    assert (first.zone.rules.opens_min, first.zone.rules.max_stay_min) == (360, 900)
    assert first.lon == 51.37
    assert len(records) == 4


def test_persian_digits_and_letters_and_a_byte_order_mark_are_read() -> None:
    record = parse_meter_file(
        "\ufeff" + HEADER + ",bays\n" + "M-1,02-a,۲,خيابان,ب,۵۱٫۳۷,۳۵٫۷۶,۶\n"
    )[0]

    assert (record.zone.district, record.street_class, record.lon, record.lat) == (
        2,
        StreetClass.B,
        51.37,
        35.76,
    )
    assert record.street_fa == "خیابان"  # Arabic yeh became Persian
    assert len(record.bay_kinds) == 6


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("", "The file has no meters."),
        (f"{GOOD_ROW}\n{GOOD_ROW}", "Line 3: meter M-1 appears again (first on line 2)."),
        ("M 1,02-a,2,x,A,51.37,35.76", "Line 2: a device id uses only letters"),
        ("M-1,02 A,2,x,A,51.37,35.76", "Line 2: a zone code uses only lower-case"),
        ("M-1,02-a,23,x,A,51.37,35.76", "Line 2: district must be a whole number from 1 to 22."),
        ("M-1,02-a,2,,A,51.37,35.76", "Line 2: street_fa is empty."),
        ("M-1,02-a,2,x,A,east,35.76", "Line 2: lon must be a number."),
        ("M-1,02-a,2,x,A,35.76,51.37", "Line 2: the position is not in Iran"),
        (f"{GOOD_ROW}\nM-2,02-a,3,y,A,51.37,35.76", "Line 3: zone 02-a differs from line 2"),
        (
            f"{GOOD_ROW}\nM-2,02-a,2,خیابان ایران‌زمین,B,51.37,35.76",
            "Line 3: street خیابان ایران‌زمین is class A on line 2",
        ),
    ],
)
def test_each_bad_row_is_named_by_its_line(rows: str, message: str) -> None:
    with pytest.raises(MeterFileError) as refused:
        parse_meter_file(f"{HEADER}\n{rows}\n" if rows else f"{HEADER}\n")

    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("extra", "values", "message"),
    [
        ("bays", "25", "Line 2: bays must be a whole number from 1 to 20."),
        ("bay_kinds", "9:disabled", "Line 2: bay 9 does not exist on a meter with 8 bays."),
        ("bay_kinds", "7:bus", "Line 2: a bay kind is car, motorcycle, disabled or loading."),
        ("bay_kinds", "disabled", "Line 2: bay_kinds lists bays as number:kind"),
        ("opens", "6am", "Line 2: opens must be a time of day such as 06:00."),
        ("max_stay_min", "30", "Line 2: the minimum stay must be positive"),
    ],
)
def test_each_bad_optional_column_is_named(extra: str, values: str, message: str) -> None:
    with pytest.raises(MeterFileError) as refused:
        parse_meter_file(f"{HEADER},{extra}\n{GOOD_ROW},{values}\n")

    assert str(refused.value).startswith(message)


def test_a_file_without_a_required_column_is_refused() -> None:
    with pytest.raises(MeterFileError) as refused:
        parse_meter_file("device_id,zone_code\nM-1,02-a\n")

    assert str(refused.value) == "The file has no district column."


async def test_a_meter_that_loses_bays_keeps_them_out_of_service(container: Container) -> None:
    eight = parse_meter_file(f"{HEADER},bays\n{GOOD_ROW},8\n")
    six = parse_meter_file(f"{HEADER},bays\n{GOOD_ROW},6\n")

    await services.load_meters(container.database, container.clock, None, records=eight)
    counts = await services.load_meters(container.database, container.clock, None, records=six)

    assert (counts.created, counts.updated) == (0, 1)
    async with container.database.session() as session:
        rows = (
            await session.execute(
                text("SELECT number, in_service FROM parking_bay ORDER BY number")
            )
        ).all()
    assert [(n, bool(s)) for n, s in rows] == [(n, n <= 6) for n in range(1, 9)]
