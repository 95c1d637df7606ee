"""Air quality: monitoring stations (readings, AQI and decisions come in later issues). Pure."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import normalise, persian_digits

# The published station names join words with dots and end with the district:
# «اتوبان.محلاتی.منطقه14», «شهرداری.منطقه.2».
_DISTRICT_SUFFIX = re.compile(r"\s*منطقه\s*(\d+)\s*$")
# A municipal office is known by its district, so the district stays in its name.
_NAMED_BY_DISTRICT = frozenset({"", "شهرداری"})


class StationDataError(DomainError):
    """A station list cannot be used; nothing was changed."""


@dataclass(frozen=True)
class StationName:
    """A station's readable Persian name and the district its published name ends with."""

    name_fa: str
    district: int | None


@dataclass(frozen=True)
class AqStation:
    """An air-quality monitoring station (ایستگاه سنجش); `source_name` is its key."""

    source_name: str
    name_fa: str
    district: int | None
    lon: float
    lat: float


def parse_station_name(published: str) -> StationName:
    """«اتوبان.محلاتی.منطقه14» is «اتوبان محلاتی» in district 14; «پونک» names no district."""
    words = normalise(published.replace(".", " ").replace("_", " "))
    found = _DISTRICT_SUFFIX.search(words)
    if found is None:
        return StationName(name_fa=persian_digits(words), district=None)
    district = int(found.group(1))
    place = words[: found.start()].strip()
    name = f"{place} منطقه {district}".strip() if place in _NAMED_BY_DISTRICT else place
    return StationName(name_fa=persian_digits(name), district=district)


def station_from_source(published: str, *, lon: float, lat: float) -> AqStation:
    """A station from its published name and position, checked for sense."""
    source_name = normalise(published)
    if not source_name:
        raise StationDataError("A station has no name.")
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise StationDataError(
            "Station {name} has coordinates that are not longitude and latitude (WGS84).",
            name=source_name,
        )
    parsed = parse_station_name(source_name)
    return AqStation(
        source_name=source_name,
        name_fa=parsed.name_fa,
        district=parsed.district,
        lon=lon,
        lat=lat,
    )
