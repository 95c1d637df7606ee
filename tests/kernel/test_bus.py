"""The event bus over both stream adapters: JSON round trips, redelivery, de-duplication."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum, StrEnum
from typing import NewType
from uuid import UUID, uuid4

import pytest

from shahr.kernel.bus import EventBus, EventEncodingError, decode_event, encode_event
from shahr.kernel.stream import Stream

CitizenId = NewType("CitizenId", UUID)


class Channel(StrEnum):
    SEP = "sep"
    CASH = "cash"


class Severity(Enum):
    LOW = 1
    HIGH = 3


@dataclass(frozen=True)
class PaymentVerified:
    event_id: UUID
    citizen_id: CitizenId
    amount_rial: int
    channel: Channel
    verified_at: datetime
    business_day: date
    fee_share: float
    note: str | None = None
    bays: tuple[int, ...] = ()
    tags: list[str] = field(default_factory=list)
    split_rial: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentReported:
    incident_id: str
    severity: Severity
    urgent: bool
    location: tuple[float, float]


def a_payment(**changes: object) -> PaymentVerified:
    values: dict[str, object] = {
        "event_id": UUID("6c1f8f8e-7d4c-4b39-9f54-2f8b1c1d0a01"),
        "citizen_id": CitizenId(UUID("0b7a3c52-2a55-4b8e-a0c5-7d6f0d8b9e11")),
        "amount_rial": 450_000,
        "channel": Channel.SEP,
        # Tehran's offset, to show an aware non-UTC instant survives the trip intact.
        "verified_at": datetime(2026, 11, 26, 10, 0, 5, 250, tzinfo=timezone(timedelta(hours=3.5))),
        "business_day": date(2026, 11, 26),
        "fee_share": 0.015,
        "note": "پارکینگ ولیعصر",
        "bays": (17, 18),
        "tags": ["online"],
        "split_rial": {"municipality": 400_000, "operator": 50_000},
    }
    values.update(changes)
    return PaymentVerified(**values)  # type: ignore[arg-type]  # built from a loose dict on purpose


async def test_a_published_event_arrives_as_an_equal_instance(stream: Stream, city: str) -> None:
    bus = EventBus(stream, city=city)
    received: list[PaymentVerified] = []

    async def record(event: PaymentVerified) -> None:
        received.append(event)

    bus.subscribe(PaymentVerified, record, durable="receipts")
    await bus.start()
    sent = a_payment()
    await bus.publish(sent)
    await bus.drain()
    await bus.stop()
    assert received == [sent]
    assert received[0].verified_at.utcoffset() == timedelta(hours=3.5)
    assert isinstance(received[0].channel, Channel)


async def test_a_handler_that_fails_gets_the_event_again(stream: Stream, city: str) -> None:
    bus = EventBus(stream, city=city)
    attempts: list[IncidentReported] = []

    async def flaky(event: IncidentReported) -> None:
        attempts.append(event)
        if len(attempts) == 1:
            raise ConnectionError("SMS gateway timed out")

    bus.subscribe(IncidentReported, flaky, durable="dispatch")
    await bus.start()
    sent = IncidentReported("inc-1", Severity.HIGH, urgent=True, location=(35.6892, 51.389))
    await bus.publish(sent)
    await bus.drain()
    await bus.stop()
    assert attempts == [sent, sent]


async def test_each_durable_gets_its_own_copy_and_only_its_event_types(
    stream: Stream, city: str
) -> None:
    bus = EventBus(stream, city=city)
    seen: list[str] = []

    async def ledger(event: PaymentVerified) -> None:
        seen.append(f"ledger:{event.amount_rial}")

    async def stats_payments(event: PaymentVerified) -> None:
        seen.append(f"stats:{event.amount_rial}")

    async def stats_incidents(event: IncidentReported) -> None:
        seen.append(f"stats:{event.incident_id}")

    bus.subscribe(PaymentVerified, ledger, durable="ledger")
    bus.subscribe(PaymentVerified, stats_payments, durable="stats")
    bus.subscribe(IncidentReported, stats_incidents, durable="stats")
    await bus.start()
    await bus.publish(a_payment(amount_rial=1000))
    await bus.publish(IncidentReported("inc-2", Severity.LOW, urgent=False, location=(0.0, 0.0)))
    await bus.drain()
    await bus.stop()
    assert sorted(seen) == ["ledger:1000", "stats:1000", "stats:inc-2"]


async def test_an_event_published_twice_with_the_same_event_id_is_handled_once(
    stream: Stream, city: str
) -> None:
    bus = EventBus(stream, city=city)
    received: list[PaymentVerified] = []

    async def record(event: PaymentVerified) -> None:
        received.append(event)

    bus.subscribe(PaymentVerified, record, durable="once")
    await bus.start()
    # A use case retried after a timeout publishes the same event again.
    await bus.publish(a_payment())
    await bus.publish(a_payment())
    await bus.drain()
    await bus.stop()
    assert received == [a_payment()]


async def test_a_restarted_bus_still_delivers_each_event_once(stream: Stream, city: str) -> None:
    bus = EventBus(stream, city=city)
    received: list[int] = []

    async def record(event: PaymentVerified) -> None:
        received.append(event.amount_rial)

    bus.subscribe(PaymentVerified, record, durable="restart")
    await bus.start()
    await bus.publish(a_payment(event_id=uuid4(), amount_rial=1))
    await bus.drain()
    await bus.stop()
    await bus.start()
    await bus.publish(a_payment(event_id=uuid4(), amount_rial=2))
    await bus.drain()
    await bus.stop()
    assert received == [1, 2]


async def test_handlers_can_only_be_added_before_start(stream: Stream, city: str) -> None:
    bus = EventBus(stream, city=city)
    await bus.start()

    async def late(event: PaymentVerified) -> None:
        return None

    with pytest.raises(RuntimeError, match="before the bus starts"):
        bus.subscribe(PaymentVerified, late, durable="late")
    await bus.ping()
    await bus.stop()


def test_the_wire_format_is_plain_json() -> None:
    event = IncidentReported("inc-3", Severity.HIGH, urgent=True, location=(35.7, 51.4))
    assert encode_event(event) == (
        b'{"incident_id":"inc-3","severity":3,"urgent":true,"location":[35.7,51.4]}'
    )
    assert decode_event(IncidentReported, encode_event(event)) == event


def test_an_older_payload_without_a_newer_defaulted_field_still_decodes() -> None:
    older = json.loads(encode_event(a_payment()))
    del older["note"]
    assert decode_event(PaymentVerified, json.dumps(older).encode()).note is None


def test_a_payload_missing_a_required_field_is_refused() -> None:
    with pytest.raises(EventEncodingError, match="severity"):
        decode_event(IncidentReported, b'{"incident_id":"i","urgent":true,"location":[1,2]}')


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(EventEncodingError, match="naive"):
        encode_event(a_payment(verified_at=datetime(2026, 1, 1, 12, 0)))  # noqa: DTZ001


def test_an_event_class_with_fields_the_bus_cannot_carry_is_refused_at_subscribe() -> None:
    @dataclass(frozen=True)
    class BlobStored:
        blob: bytes

    async def handle(event: BlobStored) -> None:
        return None

    bus = EventBus(stream=None, city="tehran")  # type: ignore[arg-type]  # never reached
    with pytest.raises(EventEncodingError, match=r"BlobStored\.blob"):
        bus.subscribe(BlobStored, handle, durable="blobs")


def test_a_value_of_the_wrong_type_is_refused_when_decoding() -> None:
    data = encode_event(a_payment()).replace(b'"amount_rial":450000', b'"amount_rial":"lots"')
    with pytest.raises(EventEncodingError, match="lots"):
        decode_event(PaymentVerified, data)


async def test_publishing_something_that_is_not_an_event_is_refused(
    stream: Stream, city: str
) -> None:
    bus = EventBus(stream, city=city)
    with pytest.raises(EventEncodingError, match="not a dataclass"):
        await bus.publish({"type": "PaymentVerified"})


def test_an_aware_utc_datetime_round_trips_as_utc() -> None:
    event = a_payment(verified_at=datetime(2026, 3, 20, 23, 59, tzinfo=UTC))
    assert decode_event(PaymentVerified, encode_event(event)).verified_at.tzinfo is not None
