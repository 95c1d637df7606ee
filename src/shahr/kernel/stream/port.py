"""The stream port: what a delivery holds and what every stream adapter offers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# JetStream's own default; a publisher retrying within two minutes is recognised.
DUPLICATE_WINDOW_S = 120.0


@dataclass(frozen=True)
class StreamMessage:
    """One delivery of a stored message; `delivery_count` is 1 the first time."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    delivery_count: int


Handler = Callable[[StreamMessage], Awaitable[None]]
BatchHandler = Callable[[Sequence[StreamMessage]], Awaitable[None]]
"""Gets up to `max_batch` messages at once: returning acks them all, raising redelivers each."""


class Stream(Protocol):
    """Durable publish/subscribe: each named consumer sees every message at least once."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the engine is unreachable."""
        ...

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None: ...

    async def subscribe(
        self, subject_filter: str, *, durable: str, handler: Handler, max_deliver: int = 5
    ) -> None: ...

    async def subscribe_batch(
        self,
        subject_filter: str,
        *,
        durable: str,
        handler: BatchHandler,
        max_batch: int = 256,
        max_deliver: int = 5,
    ) -> None:
        """Like `subscribe`, for a handler that takes the messages at hand (up to `max_batch`)
        at once, so a consumer can store many in one transaction and ack them together."""
        ...

    async def drain(self) -> None:
        """Wait until every stored message has been handled (or given up on) by every consumer."""
        ...
