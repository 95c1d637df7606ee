"""The clock port: time comes in from here, never from `datetime.now()` in domain code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The real clock moved by a constant: the demo and browser tests set to a working hour.

    Streets are booked only in working hours, so a demo shown, or a browser journey run, at
    night or on a Friday runs the city a whole number of hours ahead. Never in production.
    """

    def __init__(self, shift: timedelta) -> None:
        self.shift = shift

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


class FixedClock:
    """A clock that moves only when told: the embedded adapter tests use."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)


def in_tehran(moment: datetime) -> datetime:
    """Show an aware UTC instant in Tehran's wall-clock time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not allowed; store aware UTC")
    return moment.astimezone(TEHRAN)
