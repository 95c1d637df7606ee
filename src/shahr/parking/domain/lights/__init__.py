"""Bay lights, pure: times come in as arguments; nothing here speaks MQTT or touches the
database. The wire format of these values is the meter gateway's business
(`parking/gateways/meter_codec.py`).

`bay_light`: what the platform wants a bay to show and what the meter says it shows;
`windows`: reservations' holds on a light, merged from their events, and the schedule;
`decisions`: a batch of changes decided into lights and seqs; `presence`: meters online.
"""

from shahr.parking.domain.lights.bay_light import (
    DEFAULT_COLOR,
    BayLight,
    BayLightKey,
    DesiredLight,
    LightColor,
    LightCommand,
    LightReport,
    is_fresh,
    unset_command,
)
from shahr.parking.domain.lights.decisions import (
    BayDecision,
    LightDecisions,
    MergedWindow,
    decide_lights,
    merge_changes,
    restored_schedule,
)
from shahr.parking.domain.lights.presence import MeterPresence, StatusChange, apply_status
from shahr.parking.domain.lights.windows import (
    LightSchedule,
    LightWindow,
    WindowChange,
    desired_light,
    next_change,
)

__all__ = [
    "DEFAULT_COLOR",
    "BayDecision",
    "BayLight",
    "BayLightKey",
    "DesiredLight",
    "LightColor",
    "LightCommand",
    "LightDecisions",
    "LightReport",
    "LightSchedule",
    "LightWindow",
    "MergedWindow",
    "MeterPresence",
    "StatusChange",
    "WindowChange",
    "apply_status",
    "decide_lights",
    "desired_light",
    "is_fresh",
    "merge_changes",
    "next_change",
    "restored_schedule",
    "unset_command",
]
