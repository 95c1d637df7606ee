"""The durable stream port: at-least-once delivery to named consumers, in process or JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from nats.js.manager import JetStreamManager

from shahr.kernel.settings import Settings
from shahr.kernel.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# JetStream's own default; a publisher retrying within two minutes is recognised.
DUPLICATE_WINDOW_S = 120.0
MSG_ID_HEADER = "Nats-Msg-Id"
MAX_REDELIVER_DELAY_S = 60.0
# How long a batch consumer waits for more once one message is in hand (only when the
# stream has nothing stored: what is stored comes at once).
FETCH_MORE_S = 0.01
# Stream families a city has: domain events, and the much larger flow of sensor readings.
FAMILIES = ("events", "sensors")

_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_NAME = re.compile(r"[A-Za-z0-9_\-]+")


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


def subject(settings_city: str, *parts: str) -> str:
    """The subject `shahr.<city>.<parts...>`; `*` and `>` are allowed as whole tokens."""
    tokens = ["shahr", settings_city, *parts]
    for position, part in enumerate(tokens):
        if part == ">" and position == len(tokens) - 1:
            continue
        if part != "*" and not _TOKEN.fullmatch(part):
            raise ValueError(f"invalid subject token {part!r} in {'.'.join(tokens)!r}")
    return ".".join(tokens)


def subject_matches(subject_filter: str, subject_name: str) -> bool:
    """Whether a NATS subject matches a filter with `*` (one token) and `>` (the rest)."""
    wanted = subject_filter.split(".")
    tokens = subject_name.split(".")
    for position, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > position
        if position >= len(tokens):
            return False
        if part not in ("*", tokens[position]):
            return False
    return len(tokens) == len(wanted)


def _check_publish_subject(subject_name: str) -> None:
    if not subject_name or any(not _TOKEN.fullmatch(token) for token in subject_name.split(".")):
        raise ValueError(f"cannot publish to {subject_name!r}: tokens must be plain words")


def _check_subscription(
    city: str | None, subject_filter: str, durable: str, max_deliver: int
) -> None:
    """What both adapters refuse in a subscription, the same way (no city: any family)."""
    _check_durable(durable)
    if city is not None:
        _family_of(city, subject_filter)
    if max_deliver < 1:
        raise ValueError("max_deliver must be at least 1")


def _check_durable(durable: str) -> None:
    # JetStream consumer names refuse dots, wildcards and whitespace; refuse them here too.
    if not _NAME.fullmatch(durable):
        raise ValueError(f"invalid durable name {durable!r}: use letters, digits, - and _")


@dataclass
class _Stored:
    subject: str
    data: bytes
    headers: Mapping[str, str]


@dataclass
class _Delivery:
    stored: _Stored
    delivery_count: int = 0


@dataclass(frozen=True)
class _Binding:
    """A handler bound to a durable: one message at a time, or up to `max_batch` at once."""

    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    max_batch: int = 1

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


@dataclass
class _Consumer:
    subject_filter: str
    max_deliver: int
    queue: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    handlers: list[_Binding] = field(default_factory=list)


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
        _check_publish_subject(subject)
        if self._city is not None:
            _family_of(self._city, subject)
        if msg_id is not None and self._is_duplicate(msg_id):
            return
        all_headers = dict(headers or {})
        if msg_id is not None:
            all_headers[MSG_ID_HEADER] = msg_id
        stored = _Stored(subject, bytes(data), MappingProxyType(all_headers))
        self._kept.append(stored)
        for consumer in self._consumers.values():
            if subject_matches(consumer.subject_filter, subject):
                self._enqueue(consumer, _Delivery(stored))

    async def subscribe(
        self, subject_filter: str, *, durable: str, handler: Handler, max_deliver: int = 5
    ) -> None:
        await self._subscribe(subject_filter, durable, _Binding(handler=handler), max_deliver)

    async def subscribe_batch(
        self,
        subject_filter: str,
        *,
        durable: str,
        handler: BatchHandler,
        max_batch: int = 256,
        max_deliver: int = 5,
    ) -> None:
        binding = _Binding(batch_handler=handler, max_batch=max_batch)
        await self._subscribe(subject_filter, durable, binding, max_deliver)

    async def _subscribe(
        self, subject_filter: str, durable: str, binding: _Binding, max_deliver: int
    ) -> None:
        _check_subscription(self._city, subject_filter, durable, max_deliver)
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

    def _spawn_worker(self, consumer: _Consumer, binding: _Binding) -> None:
        task = asyncio.create_task(self._work(consumer, binding))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, consumer: _Consumer, binding: _Binding) -> None:
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
        delay_s = _backoff_s(self._redeliver_delay_s, delivery.delivery_count)
        asyncio.get_running_loop().call_later(delay_s, consumer.queue.put_nowait, delivery)


class JetStreamStream:
    """The city-scale stream on JetStream: a stream per family, pull consumers, explicit acks.

    `start()` creates or updates the city's streams (file storage, limits retention, a
    duplicate window), so deploying a new version is enough to roll out a changed limit.
    """

    def __init__(
        self,
        url: str,
        *,
        city: str,
        replicas: int = 1,
        events_max_age_s: float | None = None,
        sensors_max_age_s: float | None = 30 * 24 * 3600,
        duplicate_window_s: float = DUPLICATE_WINDOW_S,
        ack_wait_s: float = 30.0,
        redeliver_delay_s: float = 1.0,
        fetch_batch: int = 10,
    ) -> None:
        self._url = url
        self._city = city
        self._replicas = replicas
        # Events are the record of what happened and are kept; raw readings age out.
        self._max_age_s = {"events": events_max_age_s, "sensors": sensors_max_age_s}
        self._duplicate_window_s = duplicate_window_s
        self._ack_wait_s = ack_wait_s
        self._redeliver_delay_s = redeliver_delay_s
        self._fetch_batch = fetch_batch
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._jsm: JetStreamManager | None = None
        self._subscriptions: list[tuple[str, str, _Binding, int]] = []
        self._pulls: list[JetStreamContext.PullSubscription] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._consumers: set[tuple[str, str]] = set()
        self.dropped = 0
        """Messages this process gave up on after `max_deliver` failed deliveries."""

    @property
    def stream_names(self) -> dict[str, str]:
        """The JetStream stream name of each family, e.g. `SHAHR_TEHRAN_EVENTS`."""
        return {family: stream_name(self._city, family) for family in FAMILIES}

    async def start(self) -> None:
        if self._nc is not None:
            return
        nc = await nats.connect(
            self._url,
            name=f"shahr-{self._city}",
            max_reconnect_attempts=-1,
            error_cb=_log_nats_error,
        )
        self._nc = nc
        self._js = nc.jetstream()
        self._jsm = nc.jsm()
        try:
            for family in FAMILIES:
                await self._ensure_stream(family)
            for subject_filter, durable, binding, max_deliver in self._subscriptions:
                await self._bind(subject_filter, durable, binding, max_deliver)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await cancel_and_wait(list(self._tasks))
        self._tasks.clear()
        nc, self._nc, self._js, self._jsm = self._nc, None, None, None
        pulls, self._pulls = self._pulls, []
        if nc is None:
            return
        if nc.is_connected:
            for pull in pulls:
                with contextlib.suppress(nats.errors.Error):
                    await pull.unsubscribe()
        await nc.close()

    async def ping(self) -> None:
        jsm = self._require_manager()
        # account_info is a JetStream API round trip, so it also proves JetStream is enabled.
        await jsm.account_info()

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        _check_publish_subject(subject)
        _family_of(self._city, subject)
        js = self._require_started()
        all_headers = dict(headers or {})
        if msg_id is not None:
            all_headers[MSG_ID_HEADER] = msg_id
        await js.publish(subject, data, headers=all_headers or None)

    async def subscribe(
        self, subject_filter: str, *, durable: str, handler: Handler, max_deliver: int = 5
    ) -> None:
        binding = _Binding(handler=handler, max_batch=self._fetch_batch)
        await self._subscribe(subject_filter, durable, binding, max_deliver)

    async def subscribe_batch(
        self,
        subject_filter: str,
        *,
        durable: str,
        handler: BatchHandler,
        max_batch: int = 256,
        max_deliver: int = 5,
    ) -> None:
        binding = _Binding(batch_handler=handler, max_batch=max_batch)
        await self._subscribe(subject_filter, durable, binding, max_deliver)

    async def _subscribe(
        self, subject_filter: str, durable: str, binding: _Binding, max_deliver: int
    ) -> None:
        _check_subscription(self._city, subject_filter, durable, max_deliver)
        self._subscriptions.append((subject_filter, durable, binding, max_deliver))
        if self._nc is not None:
            await self._bind(subject_filter, durable, binding, max_deliver)

    async def drain(self, *, timeout_s: float = 30.0) -> None:
        """Wait until this process's consumers have nothing pending or unacknowledged."""
        jsm = self._require_manager()
        async with asyncio.timeout(timeout_s):
            while True:
                busy = False
                for stream, durable in self._consumers:
                    info = await jsm.consumer_info(stream, durable)
                    if info.num_pending or info.num_ack_pending:
                        busy = True
                        break
                if not busy:
                    return
                await asyncio.sleep(0.02)

    async def _ensure_stream(self, family: str) -> None:
        jsm = self._require_manager()
        config = StreamConfig(
            name=stream_name(self._city, family),
            subjects=[subject(self._city, family, ">")],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            max_age=self._max_age_s[family],
            duplicate_window=self._duplicate_window_s,
            num_replicas=self._replicas,
        )
        try:
            await jsm.stream_info(config.name or "")
        except nats.js.errors.NotFoundError:
            await jsm.add_stream(config)
        else:
            await jsm.update_stream(config)

    async def _bind(
        self, subject_filter: str, durable: str, binding: _Binding, max_deliver: int
    ) -> None:
        js = self._require_started()
        jsm = self._require_manager()
        stream = stream_name(self._city, _family_of(self._city, subject_filter))
        # Creating an existing durable with the same filter updates what JetStream lets change.
        await jsm.add_consumer(
            stream,
            ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subject=subject_filter,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._ack_wait_s,
                max_deliver=max_deliver,
            ),
        )
        self._consumers.add((stream, durable))
        pull = await js.pull_subscribe_bind(durable, stream=stream)
        self._pulls.append(pull)
        task = asyncio.create_task(self._pull(pull, binding, max_deliver))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pull(
        self, pull: JetStreamContext.PullSubscription, binding: _Binding, max_deliver: int
    ) -> None:
        backoff_s = 0.1
        while True:
            try:
                batch = await self._fetch_at_hand(pull, binding.max_batch)
            except TimeoutError:
                continue
            except Exception:
                # Mostly a reconnect in progress; nats-py resumes by itself, so fetch again.
                log.warning("fetch from JetStream failed; retrying", exc_info=True)
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, 5.0)
                continue
            backoff_s = 0.1
            if binding.batch_handler is not None:
                await self._handle_batch(batch, binding.batch_handler, max_deliver)
                continue
            if binding.handler is not None:
                one = _one_at_a_time(binding.handler)
                for msg in batch:
                    await self._handle_batch([msg], one, max_deliver)

    async def _fetch_at_hand(
        self, pull: JetStreamContext.PullSubscription, max_batch: int
    ) -> list[Msg]:
        """Wait for one message, then take what else is stored, up to `max_batch`.

        A single `fetch(max_batch)` on an idle consumer leaves a pull request open that
        holds the messages it gets until the batch is full or the request expires (5 s):
        seconds of latency at a trickle. Here the wait is for one only.
        """
        batch = await pull.fetch(1, timeout=5)
        if max_batch > 1:
            with contextlib.suppress(TimeoutError):
                batch += await pull.fetch(max_batch - 1, timeout=FETCH_MORE_S)
        return batch

    async def _handle_batch(
        self, batch: Sequence[Msg], handler: BatchHandler, max_deliver: int
    ) -> None:
        messages = [
            StreamMessage(
                subject=msg.subject,
                data=msg.data,
                headers=MappingProxyType(dict(msg.headers or {})),
                delivery_count=msg.metadata.num_delivered or 1,
            )
            for msg in batch
        ]
        # A batch may wait behind others before its commit: tell JetStream it is being
        # worked on, so it is not redelivered elsewhere meanwhile.
        keep = asyncio.create_task(self._in_progress(batch))
        try:
            await handler(messages)
        except Exception:
            for msg, message in zip(batch, messages, strict=True):
                await self._settle_failed(msg, message, max_deliver)
            return
        finally:
            await cancel_and_wait([keep])
        for msg in batch:
            try:
                await msg.ack()
            except nats.errors.Error:
                # The ack was lost; JetStream redelivers after ack_wait, hence idempotency.
                log.warning("could not acknowledge %s", msg.subject, exc_info=True)

    async def _in_progress(self, batch: Sequence[Msg]) -> None:
        while True:
            await asyncio.sleep(self._ack_wait_s / 2)
            for msg in batch:
                try:
                    await msg.in_progress()
                except nats.errors.Error:
                    log.warning("could not extend the ack wait of %s", msg.subject, exc_info=True)

    async def _settle_failed(self, msg: Msg, message: StreamMessage, max_deliver: int) -> None:
        try:
            if message.delivery_count >= max_deliver:
                log.exception(
                    "giving up on %s after %d deliveries", message.subject, message.delivery_count
                )
                self.dropped += 1
                await msg.term()
            else:
                log.warning(
                    "handler failed on %s (delivery %d), redelivering",
                    message.subject,
                    message.delivery_count,
                    exc_info=True,
                )
                await msg.nak(delay=_backoff_s(self._redeliver_delay_s, message.delivery_count))
        except nats.errors.Error:
            log.warning("could not settle %s", msg.subject, exc_info=True)

    def _require_started(self) -> JetStreamContext:
        if self._js is None:
            raise ConnectionError("the JetStream stream is not started")
        return self._js

    def _require_manager(self) -> JetStreamManager:
        if self._jsm is None:
            raise ConnectionError("the JetStream stream is not started")
        return self._jsm


def _one_at_a_time(handler: Handler) -> BatchHandler:
    async def handle(messages: Sequence[StreamMessage]) -> None:
        for message in messages:
            await handler(message)

    return handle


def _backoff_s(first_delay_s: float, delivery_count: int) -> float:
    """Double the wait after each failure, so a dependency that is down is not hammered."""
    return min(first_delay_s * 2.0 ** (delivery_count - 1), MAX_REDELIVER_DELAY_S)


def stream_name(city: str, family: str) -> str:
    """The JetStream stream name for a city's family of subjects."""
    return f"SHAHR_{re.sub(r'[^A-Za-z0-9_-]', '_', city).upper()}_{family.upper()}"


def _family_of(city: str, subject_name: str) -> str:
    """The family a subject or filter lies in; JetStream consumers cannot span two streams."""
    tokens = subject_name.split(".")
    if len(tokens) < 4 or tokens[0] != "shahr" or tokens[1] != city or tokens[2] not in FAMILIES:
        raise ValueError(
            f"{subject_name!r} is outside this city's streams"
            f" (shahr.{city}.{{{','.join(FAMILIES)}}}.>)"
        )
    return tokens[2]


async def _log_nats_error(error: Exception) -> None:
    log.warning("NATS connection error: %s", error)


def make_stream(settings: Settings) -> Stream:
    """The stream the settings name: JetStream when `SHAHR_NATS_URL` is set, else in process."""
    if settings.nats_url:
        return JetStreamStream(settings.nats_url, city=settings.city)
    return InProcessStream(city=settings.city)
