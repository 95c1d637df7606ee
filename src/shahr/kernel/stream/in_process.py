"""The embedded stream: the JetStream contract kept in this process's memory."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shahr.kernel.stream.delivery import Binding, backoff_s, marked
from shahr.kernel.stream.port import (
    DUPLICATE_WINDOW_S,
    BatchHandler,
    Handler,
    StreamMessage,
)
from shahr.kernel.stream.subjects import (
    check_publish_subject,
    check_subscription,
    family_of,
    subject_matches,
)
from shahr.kernel.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass
class _Stored:
    subject: str
    data: bytes
    headers: Mapping[str, str]


@dataclass
class _Delivery:
    stored: _Stored
    delivery_count: int = 0


@dataclass
class _Consumer:
    subject_filter: str
    max_deliver: int
    queue: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    handlers: list[Binding] = field(default_factory=list)


class InProcessStream:
    """The embedded stream: the JetStream contract kept in this process's memory.

    Like a JetStream durable with deliver-all, a consumer created late still receives the
    messages kept so far (at most `max_msgs`, oldest dropped first). Nothing survives a restart.
    """

    def __init__(
        self,
        *,
        city: str | None = None,
        duplicate_window_s: float = DUPLICATE_WINDOW_S,
        redeliver_delay_s: float = 0.0,
        max_msgs: int = 100_000,
    ) -> None:
        self._city = city
        self._duplicate_window_s = duplicate_window_s
        self._redeliver_delay_s = redeliver_delay_s
        self._kept: deque[_Stored] = deque(maxlen=max_msgs)
        # Ordered by first sight, so the expired ones are always at the front.
        self._seen_ids: OrderedDict[str, float] = OrderedDict()
        self._consumers: dict[str, _Consumer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False
        self.dropped = 0
        """Messages given up on after `max_deliver` failed deliveries."""

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for consumer in self._consumers.values():
            for handler in consumer.handlers:
                self._spawn_worker(consumer, handler)

    async def stop(self) -> None:
        self._started = False
        await cancel_and_wait(list(self._tasks))
        self._tasks.clear()

    async def ping(self) -> None:
        return None

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        check_publish_subject(subject)
        if self._city is not None:
            family_of(self._city, subject)
        if msg_id is not None and self._is_duplicate(msg_id):
            return
        stored = _Stored(subject, bytes(data), MappingProxyType(marked(headers, msg_id)))
        self._kept.append(stored)
        for consumer in self._consumers.values():
            if subject_matches(consumer.subject_filter, subject):
                self._enqueue(consumer, _Delivery(stored))

    async def subscribe(
        self, subject_filter: str, *, durable: str, handler: Handler, max_deliver: int = 5
    ) -> None:
        await self._subscribe(subject_filter, durable, Binding(handler=handler), max_deliver)

    async def subscribe_batch(
        self,
        subject_filter: str,
        *,
        durable: str,
        handler: BatchHandler,
        max_batch: int = 256,
        max_deliver: int = 5,
    ) -> None:
        binding = Binding(batch_handler=handler, max_batch=max_batch)
        await self._subscribe(subject_filter, durable, binding, max_deliver)

    async def _subscribe(
        self, subject_filter: str, durable: str, binding: Binding, max_deliver: int
    ) -> None:
        check_subscription(self._city, subject_filter, durable, max_deliver)
        consumer = self._consumers.get(durable)
        if consumer is None:
            consumer = _Consumer(subject_filter, max_deliver)
            self._consumers[durable] = consumer
            for stored in self._kept:
                if subject_matches(subject_filter, stored.subject):
                    self._enqueue(consumer, _Delivery(stored))
        elif consumer.subject_filter != subject_filter:
            raise ValueError(
                f"durable {durable!r} already filters {consumer.subject_filter!r},"
                f" not {subject_filter!r}"
            )
        consumer.max_deliver = max_deliver
        consumer.handlers.append(binding)
        if self._started:
            self._spawn_worker(consumer, binding)

    async def drain(self) -> None:
        if not self._started and self._outstanding:
            raise RuntimeError("the stream is not started, so nothing would be handled")
        await self._idle.wait()

    def _is_duplicate(self, msg_id: str) -> bool:
        now = time.monotonic()
        seen = self._seen_ids
        # Ids expire in the order they were first seen: drop them from the front, each in
        # O(1) (not a copy of the whole window per publish).
        while seen:
            seen_at = seen[next(iter(seen))]
            if now - seen_at < self._duplicate_window_s:
                break
            seen.popitem(last=False)
        if msg_id in seen:
            return True
        seen[msg_id] = now
        return False

    def _enqueue(self, consumer: _Consumer, delivery: _Delivery) -> None:
        self._outstanding += 1
        self._idle.clear()
        consumer.queue.put_nowait(delivery)

    def _settle(self) -> None:
        self._outstanding -= 1
        if self._outstanding == 0:
            self._idle.set()

    def _spawn_worker(self, consumer: _Consumer, binding: Binding) -> None:
        task = asyncio.create_task(self._work(consumer, binding))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, consumer: _Consumer, binding: Binding) -> None:
        while True:
            deliveries = [await consumer.queue.get()]
            while len(deliveries) < binding.max_batch and not consumer.queue.empty():
                deliveries.append(consumer.queue.get_nowait())
            messages = []
            for delivery in deliveries:
                delivery.delivery_count += 1
                messages.append(
                    StreamMessage(
                        subject=delivery.stored.subject,
                        data=delivery.stored.data,
                        headers=delivery.stored.headers,
                        delivery_count=delivery.delivery_count,
                    )
                )
            try:
                if binding.batch_handler is not None:
                    await binding.batch_handler(messages)
                elif binding.handler is not None:
                    await binding.handler(messages[0])
            except asyncio.CancelledError:
                # Stopping mid-handler: never acknowledged, so it is delivered again after a
                # restart, counted as a further delivery as JetStream would.
                for delivery in deliveries:
                    consumer.queue.put_nowait(delivery)
                raise
            except Exception:
                for delivery, message in zip(deliveries, messages, strict=True):
                    self._failed(consumer, delivery, message)
            else:
                for _ in deliveries:
                    self._settle()

    def _failed(self, consumer: _Consumer, delivery: _Delivery, message: StreamMessage) -> None:
        if delivery.delivery_count >= consumer.max_deliver:
            log.exception(
                "giving up on %s after %d deliveries", message.subject, message.delivery_count
            )
            self.dropped += 1
            self._settle()
        else:
            log.warning(
                "handler failed on %s (delivery %d), redelivering",
                message.subject,
                message.delivery_count,
                exc_info=True,
            )
            self._redeliver(consumer, delivery)

    def _redeliver(self, consumer: _Consumer, delivery: _Delivery) -> None:
        if self._redeliver_delay_s <= 0:
            consumer.queue.put_nowait(delivery)
            return
        delay_s = backoff_s(self._redeliver_delay_s, delivery.delivery_count)
        asyncio.get_running_loop().call_later(delay_s, consumer.queue.put_nowait, delivery)
