"""The meter gateway's one MQTT session: its subscriptions, and bay-light commands out."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shahr.kernel.db import Database
from shahr.kernel.mqtt import DeviceBroker, DeviceConnection, MessageHandler
from shahr.parking.domain.lights import BayLight, BayLightKey
from shahr.parking.gateways.meter_codec import encode_command
from shahr.parking.gateways.meter_topics import MeterTopics
from shahr.parking.persistence.lights import LightUnitOfWork

log = logging.getLogger(__name__)

# Pending commands read a page at a time, and the most commands sent as one batch.
_PAGE = 500
# QoS 1 publishes awaiting their PUBACK at once (aiomqtt warns above ten).
_IN_FLIGHT = 10
# What the gateway subscribes to meters' topics at. Reports and statuses are retained
# state, not a log: after a lost connection the broker hands over the latest of each again,
# so QoS 1 adds nothing the retained copy does not, and costs a round trip per message
# that caps how fast the broker may send (Mosquitto keeps 20 unacknowledged per client and
# drops past a queue of 1,000: a city's meters reconnecting at once overran it). Decision
# 0014.
INBOUND_QOS = 0


class MeterLink:
    """Commands go out retained at QoS 1 in the order they were decided, a few awaiting
    their PUBACK at once; what the broker took is marked sent by a task of its own, so the
    sender never waits for the database; what it did not take stays pending and is sent
    again once the link is back. Three tasks: the sender, the sent marker, the retries."""

    def __init__(
        self,
        broker: DeviceBroker,
        database: Database,
        topics: MeterTopics,
        *,
        client_id: str,
        retry_s: float,
        publish_timeout_s: float,
    ) -> None:
        self._broker = broker
        self._database = database
        self._topics = topics
        self.client_id = client_id
        self._retry_s = retry_s
        self._publish_timeout_s = publish_timeout_s
        self._listeners: list[tuple[str, MessageHandler]] = []
        self._connection: DeviceConnection | None = None
        self._link_down = False
        self._maybe_pending = True
        self._retry_wake = asyncio.Event()
        self._in_flight = asyncio.Semaphore(_IN_FLIGHT)
        # Commands wait here for the sender, in the order they were decided; `_latest` is the
        # newest seq queued per bay, so an older copy still in the queue is skipped.
        self._outbox: asyncio.Queue[BayLight] = asyncio.Queue()
        self._latest: dict[BayLightKey, int] = {}
        # Commands the broker took, bay -> seq, waiting to be marked sent in the database.
        self._sent: dict[BayLightKey, int] = {}
        self._sent_wake = asyncio.Event()

    def listen(self, topic_filter: str, handler: MessageHandler) -> None:
        self._listeners.append((topic_filter, handler))

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._link_down

    def queued(self) -> int:
        return self._outbox.qsize()

    def tasks(self) -> list[asyncio.Task[None]]:
        """Start the sender, the sent marker and the retries; the caller cancels them."""
        return [
            asyncio.create_task(self._run_sender(), name="meter-gateway-sender"),
            asyncio.create_task(self._run_sent_marker(), name="meter-gateway-sent-marker"),
            asyncio.create_task(self._run_retries(), name="meter-gateway-retries"),
        ]

    async def open(self) -> None:
        """Connect and queue what is pending; an unreachable broker is tried again later."""
        if await self._connect():
            await self.send_pending()

    async def close(self) -> None:
        """Record what the broker took, then disconnect (after the tasks are cancelled)."""
        await self._mark_sent()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await connection.disconnect()

    def enqueue(self, light: BayLight) -> None:
        key, seq = light.key, light.desired.seq
        self._latest[key] = max(self._latest.get(key, 0), seq)
        self._outbox.put_nowait(light)

    async def send_pending(self) -> int:
        """Queue every command the broker has not taken yet; returns how many."""
        self._maybe_pending = False
        queued = 0
        after: BayLightKey | None = None
        while True:
            async with LightUnitOfWork(self._database) as uow:
                page = await uow.lights.pending_lights(_PAGE, after=after)
            for light in page:
                self.enqueue(light)
            queued += len(page)
            if len(page) < _PAGE:
                return queued
            after = page[-1].key

    async def resend(self, meter_device_ids: list[str]) -> int:
        """Queue meters' commands again, same seqs: a meter that has them ignores them."""
        async with LightUnitOfWork(self._database) as uow:
            lights = await uow.lights.lights_of_devices(meter_device_ids)
        commanded = [light for light in lights if light.desired.seq > 0]
        for light in commanded:
            self.enqueue(light)
        return len(commanded)

    async def _run_sender(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < _PAGE:
                batch.append(self._outbox.get_nowait())
            newest: dict[BayLightKey, BayLight] = {}
            for light in batch:
                if light.desired.seq >= self._latest.get(light.key, 0):
                    newest[light.key] = light  # older copies queued before it are skipped
            # At most one command per bay in a batch, so their order within it is free; a
            # few wait for their PUBACK at once, which keeps the pipe to the broker full.
            lights = list(newest.values())
            results = await asyncio.gather(*(self._publish_in_window(light) for light in lights))
            for light, ok in zip(lights, results, strict=True):
                if ok and light.desired.seq > self._sent.get(light.key, 0):
                    self._sent[light.key] = light.desired.seq
            self._sent_wake.set()

    async def _run_sent_marker(self) -> None:
        """Mark what the broker took as sent, all that waits in one statement."""
        while True:
            await self._sent_wake.wait()
            self._sent_wake.clear()
            await self._mark_sent()

    async def _mark_sent(self) -> None:
        sent, self._sent = self._sent, {}
        if not sent:
            return
        try:
            async with LightUnitOfWork(self._database) as uow:
                await uow.lights.mark_sent_many(sent)
                await uow.commit()
        except Exception:
            # The commands are out; unmarked, they are only sent once more later.
            log.exception("could not record %d sent bay lights", len(sent))

    async def _run_retries(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._retry_s):
                    await self._retry_wake.wait()
            self._retry_wake.clear()
            try:
                if (self._connection is None or self._link_down) and not await self._connect():
                    continue
                if self._maybe_pending:
                    await self.send_pending()
            except Exception:
                log.exception("re-sending bay lights failed; trying again")

    async def _connect(self) -> bool:
        old, self._connection = self._connection, None
        if old is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await old.disconnect()
        connection: DeviceConnection | None = None
        try:
            connection = await self._broker.connect(self.client_id)
            for topic_filter, handler in self._listeners:
                await connection.subscribe(topic_filter, handler, qos=INBOUND_QOS)
        except (ConnectionError, PermissionError, OSError, TimeoutError) as error:
            log.warning("meter gateway cannot reach the broker: %s", error)
            if connection is not None:
                with contextlib.suppress(ConnectionError, OSError):
                    await connection.disconnect()
            self._link_down = True
            return False
        self._connection = connection
        self._link_down = False
        log.info("meter gateway connected as %s", self.client_id)
        return True

    async def _publish_in_window(self, light: BayLight) -> bool:
        async with self._in_flight:
            return await self._publish(light)

    async def _publish(self, light: BayLight) -> bool:
        """Send a bay's desired light, retained at QoS 1; False leaves it pending.

        Only the sender calls this, for at most one command per bay at a time in the order
        they were decided, so a bay's commands reach the broker in seq order and the
        retained one is the latest.
        """
        connection = self._connection
        if connection is None or self._link_down:
            self._pending_from_now()
            return False
        command = light.desired
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                await connection.publish(
                    self._topics.light_set(light.key), encode_command(command), qos=1, retain=True
                )
        except (ConnectionError, OSError, TimeoutError) as error:
            log.warning("bay light %s seq %s left pending: %s", light.key, command.seq, error)
            self._link_down = True
            self._pending_from_now()
            return False
        return True

    def _pending_from_now(self) -> None:
        self._maybe_pending = True
        self._retry_wake.set()
