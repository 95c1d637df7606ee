"""Bay lights: what the platform wants a meter to show, what the meter says it shows, and when.

Pure: times come in as arguments; nothing here speaks MQTT or touches the database. The
wire format of these values is the meter gateway's business (`parking/gateways.py`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class LightColor(StrEnum):
    """What a bay's light shows (چراغ جایگاه).

    `off` is the default: no reservation is in force and the bay is free to use under the
    meter's usual rules. `green` means reserved and paid for now. `red` means the bay must
    not be used (closed by the operator); reservations never ask for it, but every meter
    must be able to show it.
    """

    off = "off"
    green = "green"
    red = "red"


# What a meter shows when it has no command in force, and goes back to when `until` passes.
DEFAULT_COLOR = LightColor.off


@dataclass(frozen=True, order=True)
class BayLightKey:
    """A bay as the meter knows it: the meter's device id and the bay's number on it."""

    meter_device_id: str
    bay_number: int


@dataclass(frozen=True)
class LightCommand:
    """The desired light of one bay, numbered so a meter never applies a stale one.

    `seq` grows by one with every change and never goes back, across restarts too.
    `until` bounds a non-default color: a meter that loses contact goes back to the
    default by itself then. Seq 0 is the bay's state before any command was issued.
    """

    seq: int
    color: LightColor
    until: datetime | None
    issued_at: datetime

    def color_at(self, moment: datetime) -> LightColor:
        """The color a meter that applied this command shows at `moment`."""
        if self.until is not None and moment >= self.until:
            return DEFAULT_COLOR
        return self.color


@dataclass(frozen=True)
class LightReport:
    """What a meter says a bay shows: the seq of the command it applied, and since when."""

    seq: int
    color: LightColor
    at: datetime

    def is_newer_than(self, other: LightReport | None) -> bool:
        """Reports are ordered by seq, then by the meter's time (a timed-out green turning off)."""
        return other is None or (self.seq, self.at) > (other.seq, other.at)


def unset_command(issued_at: datetime) -> LightCommand:
    """A bay's desired light before its first command: the default, seq 0."""
    return LightCommand(seq=0, color=DEFAULT_COLOR, until=None, issued_at=issued_at)


def is_fresh(command: LightCommand, last_applied_seq: int) -> bool:
    """The meter's rule: apply a command only if its seq is above the last one applied."""
    return command.seq > last_applied_seq


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
class DesiredLight:
    """What a bay should show now, and until when (None: until told otherwise)."""

    color: LightColor
    until: datetime | None


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


@dataclass(frozen=True)
class BayLight:
    """One bay's light, desired and reported kept apart.

    `sent_seq` is the highest seq the broker accepted; below `desired.seq` the command is
    pending and is sent again when the broker is back.
    """

    key: BayLightKey
    meter_id: int | None
    desired: LightCommand
    sent_seq: int = 0
    reported: LightReport | None = None

    @property
    def pending(self) -> bool:
        # A meter reporting the seq is proof enough that the broker took the command.
        reported_seq = self.reported.seq if self.reported else 0
        return self.desired.seq > max(self.sent_seq, reported_seq)

    @property
    def meter_is_ahead(self) -> bool:
        """The meter applied a seq the platform has no record of issuing."""
        return self.reported is not None and self.reported.seq > self.desired.seq

    def desire(self, wanted: DesiredLight, now: datetime) -> BayLight:
        """This bay wanting `wanted`: a new command with the next seq, or itself if unchanged.

        The next seq is above anything the meter reported too, so a platform restored from
        an older backup still never sends a seq the meter would take as stale; and a meter
        ahead of the platform that way is told again, with a seq it will apply.
        """
        same = (wanted.color, wanted.until) == (self.desired.color, self.desired.until)
        if same and not self.meter_is_ahead:
            return self
        last = max(self.desired.seq, self.reported.seq if self.reported else 0)
        command = LightCommand(seq=last + 1, color=wanted.color, until=wanted.until, issued_at=now)
        return replace(self, desired=command)

    def sent(self, seq: int) -> BayLight:
        return replace(self, sent_seq=max(self.sent_seq, seq))

    def report(self, report: LightReport) -> BayLight:
        """Record what the meter says it shows; an older or repeated report changes nothing."""
        if not report.is_newer_than(self.reported):
            return self
        return replace(self, reported=report)

    def in_step(self, now: datetime) -> bool:
        """Whether the meter shows what the platform wants, from the latest command."""
        return (
            self.reported is not None
            and self.reported.seq == self.desired.seq
            and self.reported.color == self.desired.color_at(now)
        )


@dataclass(frozen=True)
class MeterPresence:
    """Whether a meter is connected, as its retained status and last will say.

    `session` names one connection of the meter, so the will of a connection that was
    already replaced cannot mark the meter offline.
    """

    meter_device_id: str
    online: bool
    since: datetime
    last_seen_at: datetime
    session: str | None = None
    firmware: str | None = None
    meter_id: int | None = None


@dataclass(frozen=True)
class StatusChange:
    """What a status message did to a meter's presence."""

    presence: MeterPresence
    came_online: bool
    changed: bool


def apply_status(
    current: MeterPresence | None,
    *,
    meter_device_id: str,
    online: bool,
    session: str | None,
    firmware: str | None,
    received_at: datetime,
) -> StatusChange:
    """A status or will message applied to what was known; repeating it changes nothing."""
    if current is None:
        presence = MeterPresence(
            meter_device_id, online, received_at, received_at, session, firmware
        )
        return StatusChange(presence, came_online=online, changed=True)
    if online:
        new_session = session is not None and session != current.session
        if current.online and not new_session:
            seen = replace(current, last_seen_at=max(current.last_seen_at, received_at))
            return StatusChange(seen, came_online=False, changed=False)
        presence = replace(
            current,
            online=True,
            since=received_at,
            last_seen_at=max(current.last_seen_at, received_at),
            session=session if session is not None else current.session,
            firmware=firmware if firmware is not None else current.firmware,
        )
        return StatusChange(presence, came_online=True, changed=True)
    stale_will = session is not None and current.session is not None and session != current.session
    if not current.online or stale_will:
        return StatusChange(current, came_online=False, changed=False)
    # The will is the broker's word that the connection is gone; it is not a sighting.
    presence = replace(current, online=False, since=received_at)
    return StatusChange(presence, came_online=False, changed=True)


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
