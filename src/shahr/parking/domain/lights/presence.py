"""Whether a meter is connected, from its retained status and its last will."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


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
