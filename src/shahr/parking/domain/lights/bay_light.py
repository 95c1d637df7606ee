"""A bay's light: the command the platform wants shown, and what the meter says it shows."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
class DesiredLight:
    """What a bay should show now, and until when (None: until told otherwise)."""

    color: LightColor
    until: datetime | None


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
