"""The meter gateway's decisions: a batch of window changes merged into the bays' windows,
and the light and seq each bay gets from them.

The gateway reads what these need, calls them and stores what they return; all it adds is
the transaction, the row locks and the broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shahr.parking.domain.lights.bay_light import BayLight, BayLightKey
from shahr.parking.domain.lights.windows import (
    LightWindow,
    WindowChange,
    desired_light,
    next_change,
)


@dataclass(frozen=True)
class MergedWindow:
    """A reservation's window with a batch's changes merged in, as it is to be stored."""

    window: LightWindow
    meter_id: int | None
    end_reason: str | None


@dataclass(frozen=True)
class BayDecision:
    """One bay decided: its light (a new command with the next seq if what it should show
    changed), whether that differs from what is stored, and when it next changes by itself."""

    light: BayLight
    changed: bool
    next_change_at: datetime | None


@dataclass(frozen=True)
class LightDecisions:
    """A batch decided: the windows to store, each bay's light, and the meter behind each
    device id as the batch's reservations named it."""

    windows: list[MergedWindow]
    bays: dict[BayLightKey, BayDecision]
    meters: set[tuple[str, int]]


def merge_changes(
    changes: Iterable[WindowChange], known: Mapping[str, LightWindow]
) -> dict[str, MergedWindow]:
    """Each changed reservation's window: its stored one (or a new one) with the changes
    merged in order. The latest change names the meter; an end's reason, once given, stays."""
    merged: dict[str, MergedWindow] = {}
    for change in changes:
        rid = change.reservation_id
        earlier = merged.get(rid)
        if earlier is not None:
            before, reason = earlier.window, earlier.end_reason
        else:
            before, reason = known.get(rid) or LightWindow(rid, change.key), None
        merged[rid] = MergedWindow(
            change.merged_into(before), change.meter_id, change.end_reason or reason
        )
    return merged


def decide_lights(
    lights: Mapping[BayLightKey, BayLight],
    live: Mapping[BayLightKey, Sequence[LightWindow]],
    known: Mapping[str, LightWindow],
    changes: Sequence[WindowChange],
    now: datetime,
) -> LightDecisions:
    """Decide every bay of `lights` at `now`, with `changes` merged into their windows.

    `lights` are the bays as stored, `live` their windows holding a light now or later,
    `known` the stored windows of the changed reservations (wherever and whenever they are).
    A bay's seq moves only when what it should show changes, or when its meter is ahead.
    """
    merged = merge_changes(changes, known)
    windows = {
        key: [w for w in live.get(key, ()) if w.reservation_id not in merged] for key in lights
    }
    for change in merged.values():
        window, end = change.window, change.window.effective_end
        if window.key in windows and window.complete and end is not None and end > now:
            windows[window.key].append(window)
    meter_of = {c.key: c.meter_id for c in changes if c.meter_id is not None}
    bays: dict[BayLightKey, BayDecision] = {}
    for key, stored in lights.items():
        light = stored
        if key in meter_of and light.meter_id != meter_of[key]:
            light = replace(light, meter_id=meter_of[key])
        decided = light.desire(desired_light(windows[key], now), now)
        bays[key] = BayDecision(decided, decided != stored, next_change(windows[key], now))
    meters = {(key.meter_device_id, meter_id) for key, meter_id in meter_of.items()}
    return LightDecisions(list(merged.values()), bays, meters)


def restored_schedule(
    windows: Mapping[BayLightKey, Sequence[LightWindow]],
    lit: Mapping[BayLightKey, BayLight],
    now: datetime,
) -> dict[BayLightKey, datetime | None]:
    """When each bay is next to be decided, for a gateway starting: at once where the stored
    light is not what its windows want (they changed while no gateway ran), else at the
    bay's next change."""
    due: dict[BayLightKey, datetime | None] = {}
    for key in set(windows) | set(lit):
        bay_windows = windows.get(key, [])
        light = lit.get(key)
        wanted = desired_light(bay_windows, now)
        if light is not None and (light.desired.color, light.desired.until) != (
            wanted.color,
            wanted.until,
        ):
            due[key] = now
        else:
            due[key] = next_change(bay_windows, now)
    return due
