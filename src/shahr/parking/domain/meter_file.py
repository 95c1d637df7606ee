"""The meter file: a CSV of meters in documented columns, read all or nothing into records.

Pure: parsed from text handed in; nothing here reads files.
"""

from __future__ import annotations

import csv
import io
import math
import re

from shahr.kernel.persian import normalise
from shahr.parking.domain.inventory import (
    DISTRICT_COUNT,
    IRAN_BOUNDS,
    MAX_BAYS_PER_METER,
    MAX_METERS_PER_FILE,
    STANDARD_BAYS_PER_METER,
    BayKind,
    MeterFileError,
    MeterRecord,
    Zone,
    ZoneRules,
)
from shahr.parking.domain.tariffs import StreetClass

REQUIRED_COLUMNS = ("device_id", "zone_code", "district", "street_fa", "street_class", "lon", "lat")
OPTIONAL_COLUMNS = (
    "zone_name_fa",
    "zone_name_en",
    "street_en",
    "bays",
    "bay_kinds",
    "opens",
    "closes",
    "min_stay_min",
    "max_stay_min",
)
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_ZONE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_CLASS_SPELLINGS = {
    "a": StreetClass.A,
    "b": StreetClass.B,
    "c": StreetClass.C,
    "d": StreetClass.D,
    "الف": StreetClass.A,
    "ا": StreetClass.A,
    "ب": StreetClass.B,
    "ج": StreetClass.C,
    "د": StreetClass.D,
}


def parse_meter_file(text: str, *, district_count: int = DISTRICT_COUNT) -> list[MeterRecord]:
    """Read a meter CSV (columns in `REQUIRED_COLUMNS` and `OPTIONAL_COLUMNS`), all or nothing.

    Each row is one meter. Rows of the same zone must agree on its district, names, hours
    and stays; rows of the same street in a zone must agree on its class. The first error
    found is raised with its line number.
    """
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [normalise(name).lower() for name in rows.fieldnames or []]
    if not header:
        raise MeterFileError("The file has no header row.")
    rows.fieldnames = header
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise MeterFileError("The file has no {column} column.", column=column)
    records: list[MeterRecord] = []
    seen_devices: dict[str, int] = {}
    zones: dict[str, tuple[Zone, int]] = {}
    streets: dict[tuple[str, str], tuple[StreetClass, int]] = {}
    for row in rows:
        line = rows.line_num
        if len(records) >= MAX_METERS_PER_FILE:
            raise MeterFileError(
                "The file has more than {count} meters; split it.", count=MAX_METERS_PER_FILE
            )
        record = _meter_row(row, line, district_count)
        first = seen_devices.setdefault(record.device_id, line)
        if first != line:
            raise MeterFileError(
                "Line {line}: meter {device_id} appears again (first on line {first}).",
                line=line,
                device_id=record.device_id,
                first=first,
            )
        zone, zone_line = zones.setdefault(record.zone.code, (record.zone, line))
        if zone != record.zone:
            raise MeterFileError(
                "Line {line}: zone {zone} differs from line {first}; give a zone the same"
                " district, names, hours and stays on every line.",
                line=line,
                zone=record.zone.code,
                first=zone_line,
            )
        street_key = (record.zone.code, record.street_fa)
        street_class, street_line = streets.setdefault(street_key, (record.street_class, line))
        if street_class != record.street_class:
            raise MeterFileError(
                "Line {line}: street {street} is class {street_class} on line {first};"
                " a street has one class in a zone.",
                line=line,
                street=record.street_fa,
                street_class=street_class.value,
                first=street_line,
            )
        records.append(record)
    if not records:
        raise MeterFileError("The file has no meters.")
    return records


def _cell(row: dict[str, str | None], column: str) -> str:
    value = row.get(column)
    return normalise(value) if isinstance(value, str) else ""


def _required(row: dict[str, str | None], column: str, line: int) -> str:
    value = _cell(row, column)
    if not value:
        raise MeterFileError("Line {line}: {column} is empty.", line=line, column=column)
    return value


def _meter_row(row: dict[str, str | None], line: int, district_count: int) -> MeterRecord:
    device_id = _required(row, "device_id", line)
    if not _DEVICE_ID.fullmatch(device_id):
        raise MeterFileError(
            "Line {line}: a device id uses only letters, digits, dots, dashes and"
            " underscores, at most 40.",
            line=line,
        )
    zone_code = _required(row, "zone_code", line)
    if not _ZONE_CODE.fullmatch(zone_code):
        raise MeterFileError(
            "Line {line}: a zone code uses only lower-case letters, digits and dashes.",
            line=line,
        )
    district = _whole(row, "district", line, default=None)
    if not 1 <= district <= district_count:
        raise MeterFileError(
            "Line {line}: district must be a whole number from 1 to {count}.",
            line=line,
            count=district_count,
        )
    street_fa = _required(row, "street_fa", line)
    street_class = _CLASS_SPELLINGS.get(_required(row, "street_class", line).lower())
    if street_class is None:
        raise MeterFileError("Line {line}: street class must be A, B, C or D.", line=line)
    lon, lat = _number(row, "lon", line), _number(row, "lat", line)
    min_lon, min_lat, max_lon, max_lat = IRAN_BOUNDS
    if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
        raise MeterFileError(
            "Line {line}: the position is not in Iran; check that lon and lat are not swapped.",
            line=line,
        )
    bays = _whole(row, "bays", line, default=STANDARD_BAYS_PER_METER)
    if not 1 <= bays <= MAX_BAYS_PER_METER:
        raise MeterFileError(
            "Line {line}: bays must be a whole number from 1 to {count}.",
            line=line,
            count=MAX_BAYS_PER_METER,
        )
    rules = _zone_rules(row, line)
    zone = Zone(
        code=zone_code,
        district=district,
        name_fa=_cell(row, "zone_name_fa") or zone_code,
        name_en=_cell(row, "zone_name_en") or zone_code,
        rules=rules,
    )
    return MeterRecord(
        device_id=device_id,
        zone=zone,
        street_fa=street_fa,
        street_en=_cell(row, "street_en") or street_fa,
        street_class=street_class,
        lon=lon,
        lat=lat,
        bay_kinds=_bay_kinds(_cell(row, "bay_kinds"), bays, line),
    )


def _whole(row: dict[str, str | None], column: str, line: int, *, default: int | None) -> int:
    text = _cell(row, column)
    if not text and default is not None:
        return default
    if not text:
        raise MeterFileError("Line {line}: {column} is empty.", line=line, column=column)
    if not (text.isascii() and text.isdigit()):
        raise MeterFileError(
            "Line {line}: {column} must be a whole number.", line=line, column=column
        )
    return int(text)


def _number(row: dict[str, str | None], column: str, line: int) -> float:
    text = _required(row, column, line).replace("٫", ".")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise MeterFileError("Line {line}: {column} must be a number.", line=line, column=column)
    return value


def _bay_kinds(text: str, bays: int, line: int) -> tuple[BayKind, ...]:
    """`7:disabled;8:motorcycle`: the bays not named are car bays."""
    kinds = [BayKind.car] * bays
    for part in filter(None, (p.strip() for p in text.replace(",", ";").split(";"))):
        number_text, _sep, kind_text = part.partition(":")
        number_text, kind_text = number_text.strip(), kind_text.strip().lower()
        if not (number_text.isascii() and number_text.isdigit()) or not kind_text:
            raise MeterFileError(
                "Line {line}: bay_kinds lists bays as number:kind, such as"
                " 7:disabled;8:motorcycle.",
                line=line,
            )
        number = int(number_text)
        if not 1 <= number <= bays:
            raise MeterFileError(
                "Line {line}: bay {number} does not exist on a meter with {count} bays.",
                line=line,
                number=number,
                count=bays,
            )
        try:
            kinds[number - 1] = BayKind(kind_text)
        except ValueError:
            raise MeterFileError(
                "Line {line}: a bay kind is car, motorcycle, disabled or loading.", line=line
            ) from None
    return tuple(kinds)


def _minutes_of_day(row: dict[str, str | None], column: str, line: int, default: int) -> int:
    text = _cell(row, column)
    if not text:
        return default
    found = _TIME.fullmatch(text)
    hours, minutes = (int(found.group(1)), int(found.group(2))) if found else (-1, -1)
    if not (0 <= hours <= 24 and 0 <= minutes < 60 and hours * 60 + minutes <= 24 * 60):
        raise MeterFileError(
            "Line {line}: {column} must be a time of day such as 06:00.",
            line=line,
            column=column,
        )
    return hours * 60 + minutes


def _zone_rules(row: dict[str, str | None], line: int) -> ZoneRules:
    defaults = ZoneRules()
    opens = _minutes_of_day(row, "opens", line, defaults.opens_min)
    closes = _minutes_of_day(row, "closes", line, defaults.closes_min)
    if opens >= closes:
        raise MeterFileError(
            "Line {line}: a zone must close after it opens, on the same day.", line=line
        )
    min_stay = _whole(row, "min_stay_min", line, default=defaults.min_stay_min)
    max_stay = _whole(row, "max_stay_min", line, default=defaults.max_stay_min)
    if not 0 < min_stay <= max_stay:
        raise MeterFileError(
            "Line {line}: the minimum stay must be positive and at most the maximum stay.",
            line=line,
        )
    return ZoneRules(
        opens_min=opens, closes_min=closes, min_stay_min=min_stay, max_stay_min=max_stay
    )
