"""The device messaging port: what a subscriber receives and what a broker offers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DeviceMessage:
    """A message as a subscriber receives it; `retain` marks a stored message sent on subscribe."""

    topic: str
    payload: bytes
    retain: bool
    qos: int


@dataclass(frozen=True)
class Will:
    """What the broker publishes for a device whose connection is lost without a goodbye."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


MessageHandler = Callable[[DeviceMessage], Awaitable[None]]


class DeviceConnection(Protocol):
    """One client's session with the broker."""

    client_id: str

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None: ...

    async def subscribe(
        self, topic_filter: str, handler: MessageHandler, *, qos: int = 1
    ) -> None: ...

    async def disconnect(self) -> None:
        """Leave cleanly: the will is not sent."""
        ...

    async def drop(self) -> None:
        """Lose the connection without a goodbye, as a power cut would: the will is sent."""
        ...


class DeviceBroker(Protocol):
    """Where device connections come from."""

    async def connect(self, client_id: str, *, will: Will | None = None) -> DeviceConnection: ...

    async def ping(self) -> None:
        """Raise if the broker is unreachable."""
        ...

    async def stop(self) -> None: ...
