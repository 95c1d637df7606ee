"""What both adapters share in delivering: the message-id header, handler bindings and the
redelivery backoff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shahr.kernel.stream.port import BatchHandler, Handler, StreamMessage

MSG_ID_HEADER = "Nats-Msg-Id"
MAX_REDELIVER_DELAY_S = 60.0


def marked(headers: Mapping[str, str] | None, msg_id: str | None) -> dict[str, str]:
    """The headers with the message id (`kernel.message_ids`) under `Nats-Msg-Id`, which the
    duplicate window reads."""
    all_headers = dict(headers or {})
    if msg_id is not None:
        all_headers[MSG_ID_HEADER] = msg_id
    return all_headers


@dataclass(frozen=True)
class Binding:
    """A handler bound to a durable: one message at a time, or up to `max_batch` at once."""

    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    max_batch: int = 1

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


def one_at_a_time(handler: Handler) -> BatchHandler:
    async def handle(messages: Sequence[StreamMessage]) -> None:
        for message in messages:
            await handler(message)

    return handle


def backoff_s(first_delay_s: float, delivery_count: int) -> float:
    """Double the wait after each failure, so a dependency that is down is not hammered."""
    return min(first_delay_s * 2.0 ** (delivery_count - 1), MAX_REDELIVER_DELAY_S)
