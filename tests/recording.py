"""The one bus double the tests share: it keeps every event it is given to publish.

Imported as `recording` (tests/ is on the path as the root conftest's folder). It lives with
the tests rather than in `kernel/bus.py` because no part of the app needs it: the app's own
embedded bus (`InProcessStream` under `EventBus`) is what the tests run on, and this only
watches what goes into it.
"""

from __future__ import annotations

from typing import TypeVar

from shahr.kernel.bus import EventBus

E = TypeVar("E")


class RecordingBus(EventBus):
    """Keeps what is published and, given the app's bus, still publishes it there.

    Without an inner bus it is a sink, for services that only publish. It is an `EventBus`
    so it fits wherever the ports expect one; it only publishes: subscribe to the inner bus.
    """

    def __init__(self, inner: EventBus | None = None) -> None:
        # The base class's state belongs to a bus that subscribes and runs; this one does not.
        self._inner = inner
        self.published: list[object] = []

    async def publish(self, event: object) -> None:
        self.published.append(event)
        if self._inner is not None:
            await self._inner.publish(event)

    def of(self, event_type: type[E]) -> list[E]:
        """The events of one type, in the order they were published."""
        return [e for e in self.published if isinstance(e, event_type)]
