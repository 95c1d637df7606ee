"""Domain events over the stream: frozen dataclasses in, JSON on `shahr.<city>.events.<Name>`."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from shahr.kernel.stream import Stream, StreamMessage, subject

E = TypeVar("E")

EVENT_TYPE_HEADER = "Shahr-Event-Type"


class EventEncodingError(ValueError):
    """An event, event class or payload the bus cannot carry as JSON or read back."""


@dataclasses.dataclass(frozen=True)
class _Registration:
    event_type: type[Any]
    handler: Callable[[Any], Awaitable[None]]
    durable: str


class EventBus:
    """Publishes domain events and hands each registered durable every event at least once.

    Handlers must be idempotent: a handler that raises gets the event again, and so may a
    handler that was running when its process stopped.
    """

    def __init__(self, stream: Stream, *, city: str) -> None:
        self._stream = stream
        self._city = city
        self._registrations: list[_Registration] = []
        self._started = False
        self._subscribed = False

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], Awaitable[None]], *, durable: str
    ) -> None:
        """Register a handler before `start()`; `durable` names the consumer across restarts."""
        if self._subscribed:
            raise RuntimeError("subscribe handlers before the bus starts")
        if not (dataclasses.is_dataclass(event_type) and isinstance(event_type, type)):
            raise EventEncodingError(f"{event_type!r} is not a dataclass")
        _check_fields(event_type)
        self._registrations.append(_Registration(event_type, handler, durable))

    async def start(self) -> None:
        if self._started:
            return
        if not self._subscribed:
            # Subscribed once: the stream keeps its consumers across its own stop and start.
            for registration in self._registrations:
                name = registration.event_type.__name__
                # One JetStream consumer has one filter, so a durable spanning several event
                # types becomes one consumer per type.
                await self._stream.subscribe(
                    subject(self._city, "events", name),
                    durable=f"{registration.durable}-{name}",
                    handler=self._deliverer(registration),
                )
            self._subscribed = True
        await self._stream.start()
        self._started = True

    async def stop(self) -> None:
        self._started = False
        await self._stream.stop()

    async def ping(self) -> None:
        await self._stream.ping()

    async def drain(self) -> None:
        """Wait until every published event has been handled by every subscriber."""
        await self._stream.drain()

    async def publish(self, event: object) -> None:
        if not dataclasses.is_dataclass(event) or isinstance(event, type):
            raise EventEncodingError(f"{event!r} is not a dataclass instance")
        name = type(event).__name__
        event_id = getattr(event, "event_id", None)
        await self._stream.publish(
            subject(self._city, "events", name),
            encode_event(event),
            msg_id=None if event_id is None else str(event_id),
            headers={EVENT_TYPE_HEADER: name},
        )

    @staticmethod
    def _deliverer(registration: _Registration) -> Callable[[StreamMessage], Awaitable[None]]:
        async def deliver(message: StreamMessage) -> None:
            await registration.handler(decode_event(registration.event_type, message.data))

        return deliver


def encode_event(event: object) -> bytes:
    """The event as compact UTF-8 JSON, one key per dataclass field."""
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        raise EventEncodingError(f"{event!r} is not a dataclass instance")
    return json.dumps(_to_json(event), ensure_ascii=False, separators=(",", ":")).encode()


def decode_event(event_type: type[E], data: bytes) -> E:
    """Rebuild an event of `event_type` from `encode_event`'s bytes."""
    try:
        return typing.cast(E, _from_json(event_type, json.loads(data)))
    except EventEncodingError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise EventEncodingError(f"cannot read a {event_type.__name__}: {error!r}") from error


def _to_json(value: object) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Enum):
        return _to_json(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EventEncodingError(f"naive datetime {value!r}: events carry aware datetimes")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {_key_to_json(key): _to_json(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise EventEncodingError(f"cannot carry {type(value).__name__} in an event")


def _key_to_json(key: object) -> str:
    encoded = _to_json(key)
    if not isinstance(encoded, str | int):
        raise EventEncodingError(f"cannot use {key!r} as a mapping key in an event")
    return str(encoded)


def _from_json(hint: Any, value: Any) -> Any:
    hint = _unwrap_new_type(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _from_union(hint, value)
    if origin is typing.Literal or hint is Any:
        return value
    if origin in (list, tuple, dict):
        return _from_container(hint, origin, value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        # A field missing from older payloads takes its default, so events can grow fields.
        fields = {
            f.name: _from_json(hints[f.name], value[f.name])
            for f in dataclasses.fields(hint)
            if f.name in value
        }
        return hint(**fields)
    return _from_scalar(hint, value)


def _from_union(hint: Any, value: Any) -> Any:
    arguments = typing.get_args(hint)
    if value is None and type(None) in arguments:
        return None
    failures: list[Exception] = []
    for argument in arguments:
        if argument is type(None):
            continue
        try:
            return _from_json(argument, value)
        except (TypeError, ValueError, KeyError) as error:
            failures.append(error)
    raise EventEncodingError(f"{value!r} fits none of {hint!r}: {failures}")


def _from_container(hint: Any, origin: Any, value: Any) -> Any:
    arguments = typing.get_args(hint)
    if origin is dict:
        key_hint, item_hint = arguments or (str, Any)
        return {
            _from_scalar(_unwrap_new_type(key_hint), key): _from_json(item_hint, item)
            for key, item in value.items()
        }
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_from_json(arguments[0], item) for item in value)
        if arguments:
            return tuple(_from_json(a, item) for a, item in zip(arguments, value, strict=True))
        return tuple(value)
    item_hint = arguments[0] if arguments else Any
    return [_from_json(item_hint, item) for item in value]


def _from_scalar(hint: Any, value: Any) -> Any:
    if hint is Any:
        return value
    if isinstance(hint, type):
        if issubclass(hint, Enum):
            return hint(value)
        if issubclass(hint, datetime):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise EventEncodingError(f"naive datetime {value!r} in an event")
            return moment
        if issubclass(hint, date):
            return date.fromisoformat(value)
        if issubclass(hint, UUID):
            return UUID(value)
        if hint is bool:
            if not isinstance(value, bool):
                raise EventEncodingError(f"expected a boolean, got {value!r}")
            return value
        if hint is int:
            # JSON object keys arrive as strings, hence the conversion.
            if isinstance(value, bool):
                raise EventEncodingError(f"expected an integer, got {value!r}")
            return int(value)
        if hint is float:
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise EventEncodingError(f"expected a string, got {value!r}")
            return value
        if hint is type(None) and value is None:
            return None
    raise EventEncodingError(f"cannot decode {value!r} as {hint!r}")


def _unwrap_new_type(hint: Any) -> Any:
    while hasattr(hint, "__supertype__"):
        hint = hint.__supertype__
    return hint


_SCALARS = (str, int, float, bool, type(None), datetime, date, UUID)


def _check_fields(event_type: type[Any], seen: frozenset[type[Any]] = frozenset()) -> None:
    """Refuse at registration an event class whose fields the bus could not round-trip."""
    try:
        hints = typing.get_type_hints(event_type)
    except NameError as error:
        raise EventEncodingError(f"cannot resolve the field types of {event_type!r}") from error
    for f in dataclasses.fields(event_type):
        _check_hint(hints[f.name], f"{event_type.__name__}.{f.name}", seen | {event_type})


def _check_hint(hint: Any, where: str, seen: frozenset[type[Any]]) -> None:
    hint = _unwrap_new_type(hint)
    origin = typing.get_origin(hint)
    if hint is Any or origin is typing.Literal:
        return
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        for argument in typing.get_args(hint):
            if argument is not Ellipsis:
                _check_hint(argument, where, seen)
        return
    if isinstance(hint, type):
        if issubclass(hint, (Enum, *_SCALARS)):
            return
        if dataclasses.is_dataclass(hint):
            if hint not in seen:
                _check_fields(hint, seen)
            return
    raise EventEncodingError(f"{where}: the bus cannot carry {hint!r}")
