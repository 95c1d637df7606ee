"""The device messaging port: MQTT for meters and sensors, in process or on a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlparse

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from shahr.kernel.settings import Settings
from shahr.kernel.tasks import cancel_and_wait

log = logging.getLogger(__name__)


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


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether an MQTT topic matches a filter with `+` (one level) and `#` (the rest)."""
    wanted = topic_filter.split("/")
    levels = topic.split("/")
    # MQTT keeps `$SYS/...` and friends away from filters that start with a wildcard.
    if topic.startswith("$") and wanted[0] in ("+", "#"):
        return False
    for position, level in enumerate(wanted):
        if level == "#":
            return True
        if position >= len(levels):
            return False
        if level not in ("+", levels[position]):
            return False
    return len(levels) == len(wanted)


def check_topic(topic: str) -> None:
    """Refuse a topic a device may not publish to (empty, wildcards, NUL)."""
    if not topic or any(char in topic for char in "+#\0"):
        raise ValueError(f"cannot publish to topic {topic!r}")


def check_topic_filter(topic_filter: str) -> None:
    """Refuse a malformed filter: `#` only last and alone in its level, `+` alone in its level."""
    if not topic_filter or "\0" in topic_filter:
        raise ValueError(f"invalid topic filter {topic_filter!r}")
    levels = topic_filter.split("/")
    for position, level in enumerate(levels):
        if "#" in level and (level != "#" or position != len(levels) - 1):
            raise ValueError(f"invalid topic filter {topic_filter!r}: `#` must end it")
        if "+" in level and level != "+":
            raise ValueError(f"invalid topic filter {topic_filter!r}: `+` fills a whole level")


def _check_qos(qos: int) -> None:
    if qos not in (0, 1, 2):
        raise ValueError(f"QoS must be 0, 1 or 2, not {qos}")


@dataclass(frozen=True)
class _Subscription:
    topic_filter: str
    handler: MessageHandler
    qos: int


async def _dispatch(
    subscriptions: list[_Subscription], message: DeviceMessage, client_id: str
) -> None:
    """Hand a message to every handler whose filter matches; one failing handler spares the rest."""
    for subscription in list(subscriptions):
        if topic_matches(subscription.topic_filter, message.topic):
            try:
                await subscription.handler(message)
            except Exception:
                log.exception("handler for %s failed on %s", client_id, message.topic)


class InProcessConnection:
    """A session with the in-process broker; messages reach handlers in order, one at a time."""

    def __init__(self, broker: InProcessBroker, client_id: str, will: Will | None) -> None:
        self.client_id = client_id
        self._broker = broker
        self._will = will
        self._subscriptions: list[_Subscription] = []
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
        _check_qos(qos)
        self._broker._route(topic, bytes(payload), qos=qos, retain=retain)

    async def subscribe(self, topic_filter: str, handler: MessageHandler, *, qos: int = 1) -> None:
        self._check_open()
        check_topic_filter(topic_filter)
        _check_qos(qos)
        self._subscriptions.append(_Subscription(topic_filter, handler, qos))
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
            await _dispatch(self._subscriptions, message, self.client_id)


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
            _check_qos(will.qos)
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


@dataclass(frozen=True)
class _Endpoint:
    hostname: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> _Endpoint:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported MQTT URL scheme in {url!r}: use mqtt:// or mqtts://")
        tls = parsed.scheme in ("mqtts", "ssl")
        return cls(
            hostname=parsed.hostname or "127.0.0.1",
            port=parsed.port or (8883 if tls else 1883),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            tls=tls,
        )

    def client(self, client_id: str, will: Will | None, keepalive_s: int) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.hostname,
            self.port,
            identifier=client_id,
            username=self.username,
            password=self.password,
            # 3.1.1 rather than 5: NATS's MQTT gateway and most meters speak only 3.1.1.
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=True,
            keepalive=keepalive_s,
            will=None
            if will is None
            else aiomqtt.Will(will.topic, will.payload, qos=will.qos, retain=will.retain),
            tls_context=ssl.create_default_context() if self.tls else None,
        )


class MqttConnection:
    """A session with a real broker over aiomqtt, reconnecting and re-subscribing by itself."""

    def __init__(
        self,
        endpoint: _Endpoint,
        client_id: str,
        will: Will | None,
        *,
        keepalive_s: int,
        timeout_s: float,
    ) -> None:
        self.client_id = client_id
        self._endpoint = endpoint
        self._will = will
        self._keepalive_s = keepalive_s
        self._timeout_s = timeout_s
        self._subscriptions: list[_Subscription] = []
        self._client: aiomqtt.Client | None = None
        self._online = asyncio.Event()
        # Closing: do not reconnect any more. Finished: the client has been let go.
        self._closing = False
        self._finished = False
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._online.is_set() and not self._closing

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        check_topic(topic)
        _check_qos(qos)
        client = await self._wait_online()
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=self._timeout_s)
        except aiomqtt.MqttError as error:
            raise ConnectionError(f"{self.client_id!r} could not publish to {topic!r}") from error

    async def subscribe(self, topic_filter: str, handler: MessageHandler, *, qos: int = 1) -> None:
        check_topic_filter(topic_filter)
        _check_qos(qos)
        client = await self._wait_online()
        # Registered before SUBSCRIBE goes out, so retained messages find their handler.
        self._subscriptions.append(_Subscription(topic_filter, handler, qos))
        await self._send_subscribe(client, topic_filter, qos)

    async def disconnect(self) -> None:
        if self._finished:
            return
        self._finished = self._closing = True
        await self._stop_reader()
        client, self._client = self._client, None
        self._online.clear()
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def drop(self) -> None:
        if self._finished:
            return
        self._closing = True
        client, task = self._client, self._task
        if client is None or task is None or not self._online.is_set():
            await self.disconnect()
            return
        self._finished = True
        # Shutting the socket down without DISCONNECT is, to the broker, a device gone dark,
        # so it publishes the will. aiomqtt has no public way to do this; paho's socket() is.
        sock = client._client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # The reader sees the loss (consuming aiomqtt's disconnect error), releases, and exits.
        await self._await_reader()

    async def _start(self) -> None:
        await self._open()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-reader-{self.client_id}")

    def _expect_takeover(self) -> None:
        # A new session with this id is about to push this one out; do not fight it back.
        self._closing = True

    async def _await_takeover(self) -> None:
        self._finished = True
        await self._await_reader()

    async def _await_reader(self) -> None:
        task = self._task
        if task is not None:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await asyncio.shield(task)
            except TimeoutError:
                await self._stop_reader()
        self._task = None
        client, self._client = self._client, None
        self._online.clear()
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _open(self) -> None:
        client = self._endpoint.client(self.client_id, self._will, self._keepalive_s)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as error:
            raise ConnectionError(f"{self.client_id!r} could not connect: {error}") from error
        try:
            for subscription in self._subscriptions:
                await self._send_subscribe(client, subscription.topic_filter, subscription.qos)
        except BaseException:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)
            raise
        self._client = client
        self._online.set()

    async def _send_subscribe(self, client: aiomqtt.Client, topic_filter: str, qos: int) -> None:
        try:
            granted = await client.subscribe(topic_filter, qos=qos, timeout=self._timeout_s)
        except aiomqtt.MqttError as error:
            raise ConnectionError(f"{self.client_id!r} could not subscribe") from error
        if any(_is_failure(code) for code in granted):
            raise PermissionError(f"the broker refused {self.client_id!r} {topic_filter!r}")

    async def _run(self) -> None:
        backoff_s = 0.1
        while True:
            client = self._client
            if client is not None:
                try:
                    async for message in client.messages:
                        await _dispatch(
                            self._subscriptions, _to_device_message(message), self.client_id
                        )
                except aiomqtt.MqttError:
                    pass
                self._online.clear()
                # The client already knows it is disconnected, so this only releases its lock.
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.__aexit__(None, None, None)
                self._client = None
            if self._closing:
                return
            # Jitter spreads a city's meters out so a restarted broker is not hit all at once.
            await asyncio.sleep(backoff_s * (0.5 + random.random()))  # noqa: S311
            try:
                await self._open()
            except (ConnectionError, PermissionError) as error:
                log.warning("MQTT reconnect of %s failed: %s", self.client_id, error)
                backoff_s = min(backoff_s * 2, 10.0)
            else:
                log.info("MQTT client %s reconnected", self.client_id)
                backoff_s = 0.1

    async def _wait_online(self) -> aiomqtt.Client:
        if self._closing:
            raise ConnectionError(f"the connection of {self.client_id!r} is closed")
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._online.wait()
        except TimeoutError:
            raise ConnectionError(f"{self.client_id!r} is not connected to the broker") from None
        client = self._client
        if client is None or self._closing:
            raise ConnectionError(f"the connection of {self.client_id!r} is closed")
        return client

    async def _stop_reader(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])


def _is_failure(code: ReasonCode | int) -> bool:
    # SUBACK's 0x80 means refused; paho reports codes as ReasonCode or as plain QoS integers.
    return code.is_failure if isinstance(code, ReasonCode) else code >= 0x80


def _to_device_message(message: aiomqtt.Message) -> DeviceMessage:
    payload = message.payload
    if not isinstance(payload, bytes | bytearray):
        payload = str(payload).encode() if payload is not None else b""
    return DeviceMessage(
        topic=message.topic.value, payload=bytes(payload), retain=message.retain, qos=message.qos
    )


class MqttBroker:
    """The city-scale broker (Mosquitto, EMQX, NATS's MQTT gateway) reached through aiomqtt."""

    def __init__(self, url: str, *, keepalive_s: int = 30, timeout_s: float = 10.0) -> None:
        self._endpoint = _Endpoint.from_url(url)
        self._keepalive_s = keepalive_s
        self._timeout_s = timeout_s
        self._connections: dict[str, MqttConnection] = {}

    async def connect(self, client_id: str, *, will: Will | None = None) -> MqttConnection:
        if not client_id:
            raise ValueError("a device connection needs a client id")
        if will is not None:
            check_topic(will.topic)
            _check_qos(will.qos)
        previous = self._connections.get(client_id)
        if previous is not None:
            previous._expect_takeover()
        connection = MqttConnection(
            self._endpoint,
            client_id,
            will,
            keepalive_s=self._keepalive_s,
            timeout_s=self._timeout_s,
        )
        await connection._start()
        self._connections[client_id] = connection
        if previous is not None:
            await previous._await_takeover()
        return connection

    async def ping(self) -> None:
        probe = self._endpoint.client(f"shahr-ping-{uuid.uuid4().hex}", None, self._keepalive_s)
        try:
            async with probe:
                pass
        except aiomqtt.MqttError as error:
            raise ConnectionError(f"MQTT broker unreachable: {error}") from error

    async def stop(self) -> None:
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            await connection.disconnect()


def make_broker(settings: Settings) -> DeviceBroker:
    """The broker the settings name: MQTT when `SHAHR_MQTT_URL` is set, else in process."""
    if settings.mqtt_url:
        return MqttBroker(settings.mqtt_url)
    return InProcessBroker()
