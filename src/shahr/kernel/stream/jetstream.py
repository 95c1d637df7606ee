"""The city-scale stream adapter on NATS JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType

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

from shahr.kernel.stream.delivery import Binding, backoff_s, marked, one_at_a_time
from shahr.kernel.stream.port import (
    DUPLICATE_WINDOW_S,
    BatchHandler,
    Handler,
    StreamMessage,
)
from shahr.kernel.stream.subjects import (
    FAMILIES,
    check_publish_subject,
    check_subscription,
    family_of,
    stream_name,
    subject,
)
from shahr.kernel.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# How long a batch consumer waits for more once one message is in hand (only when the
# stream has nothing stored: what is stored comes at once).
FETCH_MORE_S = 0.01


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
        self._subscriptions: list[tuple[str, str, Binding, int]] = []
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
        check_publish_subject(subject)
        family_of(self._city, subject)
        js = self._require_started()
        await js.publish(subject, data, headers=marked(headers, msg_id) or None)

    async def subscribe(
        self, subject_filter: str, *, durable: str, handler: Handler, max_deliver: int = 5
    ) -> None:
        binding = Binding(handler=handler, max_batch=self._fetch_batch)
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
        binding = Binding(batch_handler=handler, max_batch=max_batch)
        await self._subscribe(subject_filter, durable, binding, max_deliver)

    async def _subscribe(
        self, subject_filter: str, durable: str, binding: Binding, max_deliver: int
    ) -> None:
        check_subscription(self._city, subject_filter, durable, max_deliver)
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
        self, subject_filter: str, durable: str, binding: Binding, max_deliver: int
    ) -> None:
        js = self._require_started()
        jsm = self._require_manager()
        stream = stream_name(self._city, family_of(self._city, subject_filter))
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
        self, pull: JetStreamContext.PullSubscription, binding: Binding, max_deliver: int
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
                one = one_at_a_time(binding.handler)
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
                await msg.nak(delay=backoff_s(self._redeliver_delay_s, message.delivery_count))
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


async def _log_nats_error(error: Exception) -> None:
    log.warning("NATS connection error: %s", error)
