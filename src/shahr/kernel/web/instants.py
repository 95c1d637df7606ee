"""`Instant`: the one type every date-and-time a request sends is read as (decision 0031)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# The years an instant may fall in: wide enough for any record the city keeps or any
# booking it takes, narrow enough that converting it to UTC or Tehran time cannot overflow.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100

# A date first: pydantic would otherwise read a bare number (`at=4559`) as seconds since 1970.
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise PydanticCustomError("instant_format", "not an ISO 8601 date and time")
    return value


def _aware_and_sane(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("instant_without_zone", "an ISO 8601 date and time needs a zone")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise PydanticCustomError("instant_out_of_range", "the year is out of range")
    return value.astimezone(UTC)


Instant = Annotated[datetime, BeforeValidator(_iso_8601_only), AfterValidator(_aware_and_sane)]
"""An aware ISO 8601 date and time (`2026-11-26T10:00:00+03:30`, `...Z`) between the years
2000 and 2100, read as UTC; anything else is a 422 naming the field."""
