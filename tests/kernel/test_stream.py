"""The durable stream contract, run against the in-process stream and JetStream."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.kernel.settings import Settings
from shahr.kernel.stream import (
    InProcessStream,
    JetStreamStream,
    Stream,
    StreamMessage,
    make_stream,
    subject,
    subject_matches,
)

Eventually = Callable[..., Awaitable[None]]


class Recorder:
    """A handler that remembers what it saw and can be told to fail the first few times."""

    def __init__(self, *, failures: int = 0) -> None:
        self.seen: list[StreamMessage] = []
        self._failures = failures

    async def __call__(self, message: StreamMessage) -> None:
        self.seen.append(message)
        if self._failures > 0:
            self._failures -= 1
            raise RuntimeError("the projection database is down")

    @property
    def payloads(self) -> list[bytes]:
        return [message.data for message in self.seen]


async def test_each_durable_consumer_gets_every_message_once(stream: Stream, city: str) -> None:
    billing, audit = Recorder(), Recorder()
    await stream.subscribe(subject(city, "events", ">"), durable="billing", handler=billing)
    await stream.subscribe(subject(city, "events", ">"), durable="audit", handler=audit)
    await stream.start()
    for n in range(3):
        await stream.publish(subject(city, "events", "PaymentVerified"), f"p{n}".encode())
    await stream.drain()
    assert billing.payloads == [b"p0", b"p1", b"p2"]
    assert audit.payloads == [b"p0", b"p1", b"p2"]
    assert [message.delivery_count for message in billing.seen] == [1, 1, 1]


async def test_a_consumer_that_fails_gets_the_message_again(stream: Stream, city: str) -> None:
    flaky = Recorder(failures=1)
    await stream.subscribe(subject(city, "events", "BayReserved"), durable="parking", handler=flaky)
    await stream.start()
    await stream.publish(subject(city, "events", "BayReserved"), b"bay-17")
    await stream.drain()
    assert flaky.payloads == [b"bay-17", b"bay-17"]
    assert [message.delivery_count for message in flaky.seen] == [1, 2]


async def test_a_message_that_keeps_failing_is_given_up_after_max_deliver(
    stream: Stream, city: str
) -> None:
    broken = Recorder(failures=100)
    await stream.subscribe(
        subject(city, "events", ">"), durable="broken", handler=broken, max_deliver=3
    )
    await stream.start()
    await stream.publish(subject(city, "events", "FineIssued"), b"poison")
    await stream.publish(subject(city, "events", "FineIssued"), b"also-poison")
    await stream.drain()
    assert Counter(broken.payloads) == {b"poison": 3, b"also-poison": 3}
    assert isinstance(stream, InProcessStream | JetStreamStream)
    assert stream.dropped == 2


async def test_workers_sharing_a_durable_handle_each_message_once(
    stream: Stream, city: str
) -> None:
    first, second = Recorder(), Recorder()
    await stream.subscribe(subject(city, "sensors", ">"), durable="ingest", handler=first)
    await stream.subscribe(subject(city, "sensors", ">"), durable="ingest", handler=second)
    await stream.start()
    sent = [f"reading-{n}".encode() for n in range(30)]
    for payload in sent:
        await stream.publish(subject(city, "sensors", "aq", "station-3"), payload)
    await stream.drain()
    handled = first.payloads + second.payloads
    assert sorted(handled) == sorted(sent)


class BatchRecorder:
    """A batch handler that remembers each batch and can fail the first few."""

    def __init__(self, *, failures: int = 0) -> None:
        self.batches: list[list[StreamMessage]] = []
        self._failures = failures

    async def __call__(self, messages: Sequence[StreamMessage]) -> None:
        self.batches.append(list(messages))
        if self._failures > 0:
            self._failures -= 1
            raise RuntimeError("the readings table is locked")

    @property
    def payloads(self) -> list[bytes]:
        return [message.data for batch in self.batches for message in batch]


async def test_a_batch_consumer_gets_every_message_once_in_batches_no_larger_than_asked(
    stream: Stream, city: str
) -> None:
    ingest = BatchRecorder()
    await stream.subscribe_batch(
        subject(city, "sensors", ">"), durable="ingest-batch", handler=ingest, max_batch=8
    )
    await stream.start()
    sent = [f"reading-{n}".encode() for n in range(50)]
    for payload in sent:
        await stream.publish(subject(city, "sensors", "loop", "d-7"), payload)
    await stream.drain()
    assert sorted(ingest.payloads) == sorted(sent)
    assert all(1 <= len(batch) <= 8 for batch in ingest.batches)


async def test_a_failed_batch_is_delivered_again_whole_and_counted(
    stream: Stream, city: str
) -> None:
    ingest = BatchRecorder(failures=1)
    await stream.subscribe_batch(
        subject(city, "sensors", ">"), durable="ingest-retry", handler=ingest, max_batch=64
    )
    await stream.start()
    sent = [f"reading-{n}".encode() for n in range(5)]
    for payload in sent:
        await stream.publish(subject(city, "sensors", "loop", "d-9"), payload)
    await stream.drain()
    # Every message of the failed batch comes again, once more, marked as a redelivery.
    once_failed = {m.data for m in ingest.batches[0]}
    redelivered = [m for batch in ingest.batches[1:] for m in batch if m.data in once_failed]
    assert sorted(m.data for m in redelivered) == sorted(once_failed)
    assert all(m.delivery_count == 2 for m in redelivered)
    assert set(ingest.payloads) == set(sent)


async def test_a_repeated_msg_id_is_stored_once(stream: Stream, city: str) -> None:
    payments = Recorder()
    await stream.subscribe(subject(city, "events", ">"), durable="payments", handler=payments)
    await stream.start()
    for _ in range(3):
        await stream.publish(
            subject(city, "events", "PaymentVerified"), b"ref-991", msg_id="psp-ref-991"
        )
    await stream.publish(
        subject(city, "events", "PaymentVerified"), b"ref-992", msg_id="psp-ref-992"
    )
    await stream.drain()
    assert payments.payloads == [b"ref-991", b"ref-992"]


async def test_wildcard_filters_select_the_matching_subjects(stream: Stream, city: str) -> None:
    pm25, everything = Recorder(), Recorder()
    await stream.subscribe(subject(city, "sensors", "*", "pm25"), durable="pm25", handler=pm25)
    await stream.subscribe(subject(city, "sensors", ">"), durable="all", handler=everything)
    await stream.start()
    await stream.publish(subject(city, "sensors", "station-1", "pm25"), b"a")
    await stream.publish(subject(city, "sensors", "station-1", "no2"), b"b")
    await stream.publish(subject(city, "sensors", "station-2", "pm25"), b"c")
    await stream.publish(subject(city, "sensors", "station-2", "pm25", "raw"), b"d")
    await stream.drain()
    assert pm25.payloads == [b"a", b"c"]
    assert everything.payloads == [b"a", b"b", b"c", b"d"]


async def test_headers_reach_the_handler(stream: Stream, city: str) -> None:
    recorder = Recorder()
    await stream.subscribe(subject(city, "events", ">"), durable="headers", handler=recorder)
    await stream.start()
    await stream.publish(
        subject(city, "events", "IncidentReported"), b"{}", headers={"Shahr-Event-Type": "X"}
    )
    await stream.drain()
    assert recorder.seen[0].headers["Shahr-Event-Type"] == "X"


async def test_a_consumer_created_late_still_receives_earlier_messages(
    stream: Stream, city: str
) -> None:
    await stream.start()
    await stream.publish(subject(city, "events", "CitizenRegistered"), b"early")
    late = Recorder()
    await stream.subscribe(subject(city, "events", ">"), durable="late", handler=late)
    await stream.drain()
    assert late.payloads == [b"early"]


async def test_a_durable_resumes_after_a_restart_without_repeating(
    stream: Stream, city: str
) -> None:
    recorder = Recorder()
    await stream.subscribe(subject(city, "events", ">"), durable="resume", handler=recorder)
    await stream.start()
    await stream.publish(subject(city, "events", "BayReleased"), b"before")
    await stream.drain()
    await stream.stop()
    await stream.start()
    await stream.publish(subject(city, "events", "BayReleased"), b"after")
    await stream.drain()
    assert recorder.payloads == [b"before", b"after"]


async def test_subjects_outside_the_city_streams_are_refused(stream: Stream, city: str) -> None:
    await stream.start()
    with pytest.raises(ValueError, match="outside"):
        await stream.publish(f"shahr.{city}.gossip.x", b"")
    with pytest.raises(ValueError, match="outside"):
        await stream.subscribe(f"shahr.{city}.>", durable="greedy", handler=Recorder())
    with pytest.raises(ValueError, match="invalid durable"):
        await stream.subscribe(subject(city, "events", ">"), durable="a.b", handler=Recorder())


async def test_ping_succeeds_on_a_started_stream(stream: Stream) -> None:
    await stream.start()
    await stream.ping()


def test_subject_builds_city_scoped_names() -> None:
    assert subject("tehran", "events", "PaymentVerified") == "shahr.tehran.events.PaymentVerified"
    assert subject("tehran", "sensors", "*", ">") == "shahr.tehran.sensors.*.>"
    with pytest.raises(ValueError, match="invalid subject token"):
        subject("tehran", "events", "two words")
    with pytest.raises(ValueError, match="invalid subject token"):
        subject("tehran", ">", "events")


@pytest.mark.parametrize(
    ("subject_filter", "name", "expected"),
    [
        ("a.b.c", "a.b.c", True),
        ("a.*.c", "a.b.c", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("a.b.c", "a.b", False),
        ("*.b.>", "a.b.c.d", True),
    ],
)
def test_subject_filters_follow_nats_wildcards(
    subject_filter: str, name: str, expected: bool
) -> None:
    assert subject_matches(subject_filter, name) is expected


_tokens = st.lists(st.text("abc123_-", min_size=1, max_size=5), min_size=1, max_size=5)


@given(_tokens)
def test_every_subject_matches_itself_and_the_catch_all(tokens: list[str]) -> None:
    name = ".".join(tokens)
    assert subject_matches(name, name)
    assert subject_matches(">", name)
    assert subject_matches(".".join("*" for _ in tokens), name)


def test_settings_choose_the_stream_adapter() -> None:
    assert isinstance(make_stream(Settings(nats_url=None)), InProcessStream)
    # Building the JetStream adapter must not connect: nothing listens on port 9.
    assert isinstance(make_stream(Settings(nats_url="nats://127.0.0.1:9")), JetStreamStream)
