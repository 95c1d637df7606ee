"""The city-scale adapter: a real broker (Mosquitto, EMQX, NATS's MQTT gateway) over aiomqtt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from shahr.kernel.mqtt.port import DeviceMessage, MessageHandler, Will
from shahr.kernel.mqtt.topics import (
    Subscription,
    check_qos,
    check_topic,
    check_topic_filter,
    dispatch,
)
from shahr.kernel.tasks import cancel_and_wait

log = logging.getLogger(__name__)


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
        self._subscriptions: list[Subscription] = []
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
        check_qos(qos)
        client = await self._wait_online()
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=self._timeout_s)
        except aiomqtt.MqttError as error:
            raise ConnectionError(f"{self.client_id!r} could not publish to {topic!r}") from error

    async def subscribe(self, topic_filter: str, handler: MessageHandler, *, qos: int = 1) -> None:
        check_topic_filter(topic_filter)
        check_qos(qos)
        client = await self._wait_online()
        # Registered before SUBSCRIBE goes out, so retained messages find their handler.
        self._subscriptions.append(Subscription(topic_filter, handler, qos))
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
                        await dispatch(
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
            check_qos(will.qos)
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
