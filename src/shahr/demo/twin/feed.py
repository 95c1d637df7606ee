"""Publishing the twin's device output onto the sensor stream, as the field devices would.

Each reading goes to its detector's subject and each passage to its camera's, one message
each with a `Nats-Msg-Id` (a republished span is dropped by the stream's duplicate window,
and ingest is idempotent beyond it). `Pace` holds each message back until its time:
`speed` simulated seconds per wall-clock second, 1 for the live demo; no pace at all is as
fast as possible (tests, recordings).

`TwinFeed` is the demo's background part: from the current time of day in Tehran it runs
SUMO an hour ahead of the clock (or replays the recorded day where SUMO is not installed)
and publishes in real time, day after day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from shahr.demo.twin.engine import sumo_available
from shahr.demo.twin.replay import DAY_S, Recording, read_recording
from shahr.demo.twin.run import Span, simulate_span
from shahr.demo.twin.scenario import Scenario, build_scenario
from shahr.demo.twin.scenario_specs import DEMO_SCENARIO
from shahr.demo.twin.seed import load_demo_cameras, load_into_platform
from shahr.kernel.clock import TEHRAN, Clock
from shahr.kernel.db import Database
from shahr.kernel.message_ids import message_id
from shahr.kernel.stream import Stream
from shahr.kernel.tasks import cancel_and_wait
from shahr.traffic.domain.readings import encode, iso
from shahr.traffic.ingest import passage_subject, reading_subject

log = logging.getLogger(__name__)

DEMO_RECORDING = Path(__file__).resolve().parents[1] / "data" / "twin"
# The demo starts this far back, so the map has a few minutes of traffic at once (well
# inside ingest's 15-minute late window).
CATCH_UP_S = 300
FIRST_SPAN_S = 900
SPAN_S = 3600

Source = Literal["auto", "sumo", "replay"]


@dataclass(frozen=True)
class Outgoing:
    """One device message: when the device sends it, where, what."""

    observed_at: datetime
    subject: str
    data: bytes
    msg_id: str


def messages_of(span: Span, *, city: str) -> list[Outgoing]:
    """The span's readings and passages as device messages, in the order they are sent."""
    messages = [
        Outgoing(
            observed_at=reading.observed_at,
            subject=reading_subject(city, reading.detector_id),
            data=encode(reading.to_payload()),
            msg_id=message_id(reading.detector_id, iso(reading.observed_at)),
        )
        for reading in span.readings
    ]
    messages += [
        Outgoing(
            observed_at=passage.observed_at,
            subject=passage_subject(city, passage.camera_id),
            data=encode(passage.to_payload()),
            msg_id=message_id(passage.camera_id, iso(passage.observed_at), passage.lane),
        )
        for passage in span.passages
    ]
    messages.sort(key=lambda message: message.observed_at)
    return messages


class Pace:
    """Holds messages back until their time: `speed` simulated seconds per clock second.

    The simulated instant `sim_anchor` is due at the clock's `wall_anchor`; with speed 1
    and both anchors equal, a message is sent when the clock reaches its `observed_at`.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        speed: float = 1.0,
        sim_anchor: datetime | None = None,
        wall_anchor: datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("a pace needs a positive speed; use no pace for as fast as possible")
        self._clock = clock
        self._speed = speed
        now = clock.now()
        self._sim_anchor = sim_anchor or now
        self._wall_anchor = wall_anchor or now

    def due_at(self, observed_at: datetime) -> datetime:
        return self._wall_anchor + (observed_at - self._sim_anchor) / self._speed

    async def wait_for(self, observed_at: datetime) -> None:
        delay = (self.due_at(observed_at) - self._clock.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


async def publish(
    stream: Stream,
    messages: Sequence[Outgoing],
    *,
    pace: Pace | None = None,
    on_sent: Callable[[Outgoing], None] | None = None,
) -> int:
    """Send the messages in order, each at its time under `pace` (or at once)."""
    for message in messages:
        if pace is not None:
            await pace.wait_for(message.observed_at)
        await stream.publish(message.subject, message.data, msg_id=message.msg_id)
        if on_sent is not None:
            on_sent(message)
    return len(messages)


def tehran_midnight(moment: datetime) -> datetime:
    """The start of the Tehran day holding `moment`, as an aware datetime."""
    local = moment.astimezone(TEHRAN)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class SpanSource:
    """Spans of the twin's day from a start time on: SUMO's, or the recording's."""

    def __init__(self, *, scenario: Scenario, recording: Recording | None) -> None:
        self.scenario = scenario
        self._recording = recording
        self._state: Path | None = None

    @property
    def uses_sumo(self) -> bool:
        return self._recording is None

    def spans(
        self, start: datetime, *, first_span_s: int = FIRST_SPAN_S, span_s: int = SPAN_S
    ) -> Iterator[tuple[datetime, int, int]]:
        """(day_start, begin_s, end_s) from the period holding `start` on, across midnights."""
        period = self.scenario.period_s
        day_start = tehran_midnight(start)
        begin = int((start - day_start).total_seconds()) // period * period
        length = first_span_s
        while True:
            end = min(begin + length, DAY_S)
            yield day_start, begin, end
            length = span_s
            begin = end
            if begin >= DAY_S:
                day_start = tehran_midnight(day_start + timedelta(hours=30))
                begin = 0

    def compute(self, day_start: datetime, begin_s: int, end_s: int) -> Span:
        """One span (blocking: SUMO runs for seconds to a minute)."""
        if self._recording is not None:
            return self._recording.span(day_start=day_start, begin_s=begin_s, end_s=end_s)
        state = self._state if begin_s > 0 else None
        span = simulate_span(
            self.scenario, day_start=day_start, begin_s=begin_s, end_s=end_s, state=state
        )
        self._state = span.state
        return span


def open_source(
    source: Source, *, work_dir: Path, recording_dir: Path = DEMO_RECORDING
) -> SpanSource:
    """The demo's spans: SUMO when asked or installed (`auto`), else the recorded day."""
    use_sumo = source == "sumo" or (source == "auto" and sumo_available())
    if use_sumo:
        scenario = build_scenario(DEMO_SCENARIO, work_dir)
        return SpanSource(scenario=scenario, recording=None)
    recording = read_recording(recording_dir)
    return SpanSource(scenario=recording.scenario, recording=recording)


async def seed_twin_network(database: Database, scenario: Scenario) -> None:
    """Put the twin's network and sensors into the platform, each segment in its district."""
    from shahr.parking import queries as parking_queries  # the demo composes the areas

    districts = [(d.number, d.geometry) for d in await parking_queries.districts(database)]
    await load_into_platform(database, scenario, districts=districts)
    await load_demo_cameras(database, scenario)


class TwinFeed:
    """The demo's traffic: the twin publishing in real time onto the stream (a background part).

    `source`: `auto` runs SUMO when it is installed and replays the recorded day otherwise.
    On start it puts the twin's network and sensors into the platform (idempotent) so the
    readings it sends are from registered detectors.
    """

    def __init__(
        self,
        stream: Stream,
        database: Database,
        clock: Clock,
        *,
        city: str,
        var_dir: Path,
        source: Source = "auto",
        speed: float = 1.0,
    ) -> None:
        self._stream = stream
        self._database = database
        self._clock = clock
        self._city = city
        self._work_dir = var_dir / "twin" / DEMO_SCENARIO.name
        self._source = source
        self._speed = speed
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="twin-feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])

    def _count(self, _: Outgoing) -> None:
        self.published += 1

    async def _run(self) -> None:
        try:
            source = await asyncio.to_thread(open_source, self._source, work_dir=self._work_dir)
            await seed_twin_network(self._database, source.scenario)
            log.info(
                "twin feed: %s, %d detectors, %d cameras",
                "SUMO" if source.uses_sumo else "recorded replay",
                len(source.scenario.detectors),
                len(source.scenario.cameras),
            )
            start = self._clock.now() - timedelta(seconds=CATCH_UP_S)
            pace = Pace(self._clock, speed=self._speed, sim_anchor=self._clock.now())
            windows = source.spans(start)
            upcoming = asyncio.create_task(asyncio.to_thread(source.compute, *next(windows)))
            try:
                while True:
                    span = await upcoming
                    # SUMO computes the next hour while this one is published.
                    upcoming = asyncio.create_task(
                        asyncio.to_thread(source.compute, *next(windows))
                    )
                    await publish(
                        self._stream,
                        messages_of(span, city=self._city),
                        pace=pace,
                        on_sent=self._count,
                    )
            finally:
                upcoming.cancel()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The demo goes on without live traffic rather than stopping the app.
            log.exception("twin feed stopped")
