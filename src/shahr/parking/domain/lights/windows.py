"""Reservation windows on a bay's light: merged from events in any order, and what they want."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from shahr.parking.domain.lights.bay_light import (
    DEFAULT_COLOR,
    BayLightKey,
    DesiredLight,
    LightColor,
)


@dataclass(frozen=True)
class LightWindow:
    """A reservation's hold on a bay's light, merged from its events in any order.

    Confirmation gives the start; the end is the latest `ends_at` any event gave (an
    extension only lengthens a stay), cut short by `ended_at` when the stay ends early.
    Until both ends are known (an extension handled before its confirmation) the window
    holds no light.
    """

    reservation_id: str
    key: BayLightKey
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def effective_end(self) -> datetime | None:
        if self.ends_at is None:
            return self.ended_at
        if self.ended_at is None:
            return self.ends_at
        return min(self.ends_at, self.ended_at)

    @property
    def complete(self) -> bool:
        end = self.effective_end
        return self.starts_at is not None and end is not None and self.starts_at < end

    def covers(self, moment: datetime) -> bool:
        end = self.effective_end
        return self.starts_at is not None and end is not None and self.starts_at <= moment < end

    def confirmed(self, starts_at: datetime, ends_at: datetime) -> LightWindow:
        return replace(self, starts_at=starts_at, ends_at=_latest(self.ends_at, ends_at))

    def extended(self, ends_at: datetime) -> LightWindow:
        return replace(self, ends_at=_latest(self.ends_at, ends_at))

    def ended(self, ended_at: datetime) -> LightWindow:
        earlier = ended_at if self.ended_at is None else min(self.ended_at, ended_at)
        return replace(self, ended_at=earlier)


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None else max(current, candidate)


@dataclass(frozen=True)
class WindowChange:
    """What one reservation event, or the reservations table, says about its window.

    A confirmation gives both ends, an extension a later end, an early end or a
    cancellation when the stay stopped (with its reason); the catch-up gives all it knows
    at once. Merging one commutes with the others and repeating it changes nothing.
    """

    reservation_id: str
    key: BayLightKey
    meter_id: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None

    def merged_into(self, window: LightWindow) -> LightWindow:
        if self.starts_at is not None and self.ends_at is not None:
            window = window.confirmed(self.starts_at, self.ends_at)
        elif self.ends_at is not None:
            window = window.extended(self.ends_at)
        return window if self.ended_at is None else window.ended(self.ended_at)


def desired_light(windows: Iterable[LightWindow], now: datetime) -> DesiredLight:
    """Green while a reserved window is in force, until the end of its run; the default else.

    Back-to-back reservations make one run, so the light does not blink off between them.
    """
    spans = sorted(
        (w.starts_at, w.effective_end)
        for w in windows
        if w.complete and w.starts_at is not None and w.effective_end is not None
    )
    until: datetime | None = None
    for starts_at, ends_at in spans:
        if until is None:
            if starts_at <= now < ends_at:
                until = ends_at
        elif starts_at <= until:
            until = max(until, ends_at)
    if until is None:
        return DesiredLight(DEFAULT_COLOR, None)
    return DesiredLight(LightColor.green, until)


def next_change(windows: Iterable[LightWindow], now: datetime) -> datetime | None:
    """When the desired light next changes by itself: the green run ends, or a window starts."""
    windows = list(windows)
    current = desired_light(windows, now)
    if current.until is not None:
        # Windows starting inside the run only lengthen it, and `until` already says so.
        return current.until
    starts = [w.starts_at for w in windows if w.complete and w.starts_at and w.starts_at > now]
    return min(starts, default=None)


@dataclass
class LightSchedule:
    """When each bay's desired light next changes by itself, earliest first.

    One entry per bay: setting a bay again replaces its entry (the old one stays in the
    heap and is skipped when it comes up).
    """

    _heap: list[tuple[datetime, BayLightKey]] = field(default_factory=list)
    _due: dict[BayLightKey, datetime] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._due)

    def set(self, key: BayLightKey, at: datetime | None) -> None:
        if at is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == at:
            return
        self._due[key] = at
        heapq.heappush(self._heap, (at, key))

    def next_at(self) -> datetime | None:
        self._skip_replaced()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: datetime) -> list[BayLightKey]:
        """The bays whose change time has come, each once, and forget them."""
        due: list[BayLightKey] = []
        while True:
            self._skip_replaced()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, key = heapq.heappop(self._heap)
            del self._due[key]
            due.append(key)

    def _skip_replaced(self) -> None:
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
