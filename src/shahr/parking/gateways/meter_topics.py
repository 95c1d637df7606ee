"""The meter topics: `shahr/<city>/parking/meters/<meter>/...`, built and read (docs/devices.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shahr.parking.domain.lights import BayLightKey
from shahr.parking.gateways.meter_codec import MeterPayloadError

# As the inventory accepts them (one topic level: no `/`, `+`, `#`).
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_BAY_NUMBER = 999


def check_device_id(meter_device_id: str) -> str:
    """Refuse a device id that cannot be one MQTT topic level (or is absurdly long)."""
    if not _DEVICE_ID.fullmatch(meter_device_id):
        raise MeterPayloadError(f"unusable meter device id {meter_device_id!r}")
    return meter_device_id


@dataclass(frozen=True)
class MeterTopics:
    """The city's meter topics: `shahr/<city>/parking/meters/<meter>/...`."""

    city: str

    @property
    def root(self) -> str:
        return f"shahr/{self.city}/parking/meters"

    def status(self, meter_device_id: str) -> str:
        return f"{self.root}/{check_device_id(meter_device_id)}/status"

    def light_set(self, key: BayLightKey) -> str:
        return f"{self._bay(key)}/light/set"

    def light_state(self, key: BayLightKey) -> str:
        return f"{self._bay(key)}/light/state"

    def light_set_filter(self, meter_device_id: str) -> str:
        """What one meter subscribes to: the commands for all its bays."""
        return f"{self.root}/{check_device_id(meter_device_id)}/bays/+/light/set"

    @property
    def every_status(self) -> str:
        return f"{self.root}/+/status"

    @property
    def every_light_state(self) -> str:
        return f"{self.root}/+/bays/+/light/state"

    def device_of_status(self, topic: str) -> str:
        parts = self._below_root(topic)
        if len(parts) != 2 or parts[1] != "status":
            raise MeterPayloadError(f"not a meter status topic: {topic!r}")
        return check_device_id(parts[0])

    def bay_of_light(self, topic: str, leaf: str) -> BayLightKey:
        """The bay a `.../bays/<n>/light/<leaf>` topic names."""
        parts = self._below_root(topic)
        if len(parts) != 5 or parts[1] != "bays" or parts[3:] != ["light", leaf]:
            raise MeterPayloadError(f"not a bay light {leaf} topic: {topic!r}")
        return BayLightKey(check_device_id(parts[0]), _bay_number(parts[2]))

    def _bay(self, key: BayLightKey) -> str:
        if not 1 <= key.bay_number <= MAX_BAY_NUMBER:
            raise MeterPayloadError(f"bay number out of range: {key.bay_number}")
        return f"{self.root}/{check_device_id(key.meter_device_id)}/bays/{key.bay_number}"

    def _below_root(self, topic: str) -> list[str]:
        prefix = self.root + "/"
        if not topic.startswith(prefix):
            raise MeterPayloadError(f"not a meter topic of {self.city!r}: {topic!r}")
        return topic.removeprefix(prefix).split("/")


def _bay_number(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_BAY_NUMBER:
        raise MeterPayloadError(f"not a bay number: {text!r}")
    return int(text)
