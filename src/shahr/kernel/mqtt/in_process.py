"""The embedded broker: retained messages, wildcards, wills and session takeover in memory."""

from __future__ import annotations

import asyncio

from shahr.kernel.mqtt.port import DeviceMessage, MessageHandler, Will
from shahr.kernel.mqtt.topics import (
    Subscription,
    check_qos,
    check_topic,
    check_topic_filter,
    dispatch,
    topic_matches,
)
from shahr.kernel.tasks import cancel_and_wait


class InProcessConnection:
    """A session with the in-process broker; messages reach handlers in order, one at a time."""

    def __init__(self, broker: InProcessBroker, client_id: str, will: Will | None) -> None:
        self.client_id = client_id
        self._broker = broker
        self._will = will
        self._subscriptions: list[Subscription] = []
        self._inbox: asyncio.Queue[DeviceMessage] = asyncio.Queue()
        self._task = asyncio.create_task(self._run())
        self._closed = False

    @property
    def connected(self) -> bool:
        return not self._closed

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        self._check_open()
        check_topic(topic)
        check_qos(qos)
        self._broker._route(topic, bytes(payload), qos=qos, retain=retain)

    async def subscribe(self, topic_filter: str, handler: MessageHandler, *, qos: int = 1) -> None:
        self._check_open()
        check_topic_filter(topic_filter)
        check_qos(qos)
        self._subscriptions.append(Subscription(topic_filter, handler, qos))
        for stored in self._broker._retained_for(topic_filter):
            self._inbox.put_nowait(
                DeviceMessage(stored.topic, stored.payload, retain=True, qos=min(stored.qos, qos))
            )

    async def disconnect(self) -> None:
        await self._close()

    async def drop(self) -> None:
        will = self._will
        if await self._close() and will is not None:
            self._broker._route(will.topic, will.payload, qos=will.qos, retain=will.retain)

    def _offer(self, topic: str, payload: bytes, qos: int) -> None:
        matching = [s.qos for s in self._subscriptions if topic_matches(s.topic_filter, topic)]
        if matching:
            # A live message is never flagged retained, as MQTT 3.1.1 brokers forward it.
            self._inbox.put_nowait(
                DeviceMessage(topic, payload, retain=False, qos=min(qos, max(matching)))
            )

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionError(f"the connection of {self.client_id!r} is closed")

    async def _close(self) -> bool:
        """Close once; say whether this call did it."""
        if self._closed:
            return False
        self._closed = True
        self._broker._forget(self)
        await cancel_and_wait([self._task])
        return True

    async def _run(self) -> None:
        # A handler may close its own connection; the loop then ends after that message.
        while not self._closed:
            message = await self._inbox.get()
            await dispatch(self._subscriptions, message, self.client_id)


class InProcessBroker:
    """The embedded broker: retained messages, wildcards, wills and session takeover in memory."""

    def __init__(self) -> None:
        self._sessions: dict[str, InProcessConnection] = {}
        self._retained: dict[str, DeviceMessage] = {}

    async def connect(self, client_id: str, *, will: Will | None = None) -> InProcessConnection:
        if not client_id:
            raise ValueError("a device connection needs a client id")
        if will is not None:
            check_topic(will.topic)
            check_qos(will.qos)
        previous = self._sessions.get(client_id)
        if previous is not None:
            # MQTT takeover: the broker closes the older network connection, which counts as
            # an ungraceful loss, so its will goes out as Mosquitto does it.
            await previous.drop()
        connection = InProcessConnection(self, client_id, will)
        self._sessions[client_id] = connection
        return connection

    async def ping(self) -> None:
        return None

    async def stop(self) -> None:
        for connection in list(self._sessions.values()):
            await connection.disconnect()

    def _route(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        if retain:
            if payload:
                self._retained[topic] = DeviceMessage(topic, payload, retain=True, qos=qos)
            else:
                # An empty retained payload clears the topic, and is still delivered live.
                self._retained.pop(topic, None)
        for connection in list(self._sessions.values()):
            connection._offer(topic, payload, qos)

    def _retained_for(self, topic_filter: str) -> list[DeviceMessage]:
        return [m for topic, m in self._retained.items() if topic_matches(topic_filter, topic)]

    def _forget(self, connection: InProcessConnection) -> None:
        if self._sessions.get(connection.client_id) is connection:
            del self._sessions[connection.client_id]
