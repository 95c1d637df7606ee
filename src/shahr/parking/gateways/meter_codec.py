"""The meter payloads: light commands out, reports and statuses in, as JSON (docs/devices.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shahr.parking.domain.lights import LightColor, LightCommand, LightReport


class MeterPayloadError(ValueError):
    """A meter message the gateway cannot read; it is dropped, logged and counted."""


def wire_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as meters read and write it."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes do not go on the wire")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise MeterPayloadError(f"`{name}` must be an ISO 8601 time, not {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MeterPayloadError(f"`{name}` is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise MeterPayloadError(f"`{name}` has no UTC offset: {value!r}")
    return moment.astimezone(UTC)


def _read_object(payload: bytes) -> dict[str, Any]:
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MeterPayloadError("the payload is not JSON") from None
    if not isinstance(document, dict):
        raise MeterPayloadError("the payload is not a JSON object")
    return document


def _read_seq(document: dict[str, Any]) -> int:
    seq = document.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise MeterPayloadError(f"`seq` must be a whole number of 0 or more, not {seq!r}")
    return seq


def _read_color(document: dict[str, Any]) -> LightColor:
    color = document.get("color")
    try:
        return LightColor(str(color))
    except ValueError:
        raise MeterPayloadError(f"`color` must be off, green or red, not {color!r}") from None


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def encode_command(command: LightCommand) -> bytes:
    return _dump(
        {
            "seq": command.seq,
            "color": command.color.value,
            "until": None if command.until is None else wire_time(command.until),
            "issued_at": wire_time(command.issued_at),
        }
    )


def decode_command(payload: bytes) -> LightCommand:
    document = _read_object(payload)
    until = document.get("until")
    return LightCommand(
        seq=_read_seq(document),
        color=_read_color(document),
        until=None if until is None else _read_time(until, "until"),
        issued_at=_read_time(document.get("issued_at"), "issued_at"),
    )


def encode_report(report: LightReport) -> bytes:
    return _dump({"seq": report.seq, "color": report.color.value, "at": wire_time(report.at)})


def decode_report(payload: bytes) -> LightReport:
    document = _read_object(payload)
    return LightReport(
        seq=_read_seq(document),
        color=_read_color(document),
        at=_read_time(document.get("at"), "at"),
    )


@dataclass(frozen=True)
class MeterStatus:
    """A meter's retained status, or its will (`online` false, usually nothing else)."""

    online: bool
    session: str | None = None
    firmware: str | None = None
    at: datetime | None = None
    bays: int | None = None


def encode_status(status: MeterStatus) -> bytes:
    document: dict[str, Any] = {"online": status.online}
    if status.session is not None:
        document["session"] = status.session
    if status.firmware is not None:
        document["firmware"] = status.firmware
    if status.at is not None:
        document["at"] = wire_time(status.at)
    if status.bays is not None:
        document["bays"] = status.bays
    return _dump(document)


def decode_status(payload: bytes) -> MeterStatus:
    document = _read_object(payload)
    online = document.get("online")
    if not isinstance(online, bool):
        raise MeterPayloadError(f"`online` must be true or false, not {online!r}")
    session, firmware, bays = (document.get(k) for k in ("session", "firmware", "bays"))
    if session is not None and (not isinstance(session, str) or not 0 < len(session) <= 64):
        raise MeterPayloadError("`session` must be a string of 1 to 64 characters")
    if firmware is not None and (not isinstance(firmware, str) or len(firmware) > 64):
        raise MeterPayloadError("`firmware` must be a string of at most 64 characters")
    if bays is not None and (isinstance(bays, bool) or not isinstance(bays, int) or bays < 0):
        raise MeterPayloadError("`bays` must be a whole number")
    at = document.get("at")
    return MeterStatus(
        online=online,
        session=session,
        firmware=firmware,
        at=None if at is None else _read_time(at, "at"),
        bays=bays,
    )
