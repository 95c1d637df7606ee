"""The meter gateway: the one owner of meter I/O over MQTT (bay lights, status, reports).

It only moves messages (docs/devices.md is the contract a meter vendor builds to):
reservation events and the lights' schedule in, the pure decisions of
`parking.domain.lights` called, their result stored, and commands published retained at
QoS 1 with a seq that never goes back. `MeterLink` holds the MQTT session and the outbox,
`MeterRecorder` writes what meters say. Decision 0019.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.mqtt import DeviceBroker, MessageHandler
from shahr.kernel.tasks import cancel_and_wait
from shahr.parking.domain.lights import (
    BayLightKey,
    LightReport,
    LightSchedule,
    WindowChange,
    decide_lights,
    restored_schedule,
)
from shahr.parking.events import ReservationConfirmed, ReservationEnded, ReservationExtended
from shahr.parking.gateways.meter_codec import MeterStatus
from shahr.parking.gateways.meter_link import MeterLink
from shahr.parking.gateways.meter_recorder import MeterRecorder, ReportObserver
from shahr.parking.gateways.meter_topics import MeterTopics
from shahr.parking.persistence.light_reads import windows_behind_reservations
from shahr.parking.persistence.lights import LightUnitOfWork, retry_conflicts

log = logging.getLogger(__name__)

LIGHT_WINDOWS_CAUGHT_UP = Counter(
    "shahr_parking_light_windows_caught_up",
    "Reservation windows the bay lights took from the reservations table, their events lost",
)

# Reservation events for the lights are handled this many at a time (competing deliveries
# on one durable consumer), and decided together, a batch per transaction. Merging a window
# commutes and each bay's row lock orders the decisions about it, so events may be handled
# in any order and in parallel. It is also the largest batch that builds up: a transaction
# costs far more than an event in it (decision 0019 has the figures).
LIGHT_EVENT_WORKERS = 128
# The most decisions in one transaction, and the catch-up's page.
_BATCH = 500
# Turns of the event loop the decider gives handlers to queue decisions before it takes a
# batch: at least the minimum, then as long as the queue still grows.
_GATHER_MIN_TURNS = 3
_GATHER_TURNS = 32
# Events reach the lights after the reservation's commit, so one can be lost (the process
# stops between the two, or the bus refuses it). The gateway compares the lights' windows
# with the reservations this often, taking changes older than the grace as lost.
CATCH_UP_EVERY_S = 60.0
EVENT_GRACE = timedelta(minutes=1)


@dataclass
class _Decision:
    """One bay to decide again, with an event's change to one of its windows or none."""

    key: BayLightKey
    change: WindowChange | None
    done: asyncio.Future[None]


class MeterGateway:
    """The meter gateway: bay lights out, reports and presence in, over one MQTT session.

    Runs for the process's lifetime (`start`/`stop`). Reservation events reach it through
    the bus and are committed before their handler returns (so the bus redelivers if the
    process dies first); meter messages arrive through the handlers `mqtt_handlers.install`
    registers. Its own tasks: the decider, committing the events waiting at that moment in
    one transaction (group commit); the schedule, waking when a bay's light must change by
    itself; the catch-up, deciding again from the reservations table the windows whose
    events never came; and the recorder's and the link's (sender, sent marker, retries).
    """

    def __init__(
        self,
        broker: DeviceBroker,
        database: Database,
        clock: Clock,
        *,
        city: str,
        client_id: str | None = None,
        retry_s: float = 2.0,
        publish_timeout_s: float = 5.0,
        max_sleep_s: float = 30.0,
        catch_up_every_s: float = CATCH_UP_EVERY_S,
    ) -> None:
        self.topics = MeterTopics(city)
        self._database = database
        self._clock = clock
        self._max_sleep_s = max_sleep_s
        self._catch_up_every_s = catch_up_every_s
        self._link = MeterLink(
            broker,
            database,
            self.topics,
            # Unique per process: two replicas sharing a client id would push each other out.
            client_id=client_id or f"shahr-{city}-meter-gateway-{uuid.uuid4().hex[:12]}",
            retry_s=retry_s,
            publish_timeout_s=publish_timeout_s,
        )
        self._recorder = MeterRecorder(
            database, clock, resend=self._link.resend, redecide=self._redecide
        )
        self._schedule = LightSchedule()
        self._wake = asyncio.Event()
        self._decisions: asyncio.Queue[_Decision] = asyncio.Queue()
        self._decider: asyncio.Task[None] | None = None
        self._linked: set[tuple[str, int]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # --- wiring and lifetime ---

    def listen(self, topic_filter: str, handler: MessageHandler) -> None:
        """Register an inbound handler; subscribed on every (re)connection."""
        self._link.listen(topic_filter, handler)

    def observe_reports(self, observer: ReportObserver) -> None:
        """Be told of every report once it is recorded (benchmarks, live pages)."""
        self._recorder.observe_reports(observer)

    @property
    def connected(self) -> bool:
        return self._link.connected

    def backlog(self) -> dict[str, int]:
        """What waits inside the gateway: events to decide, commands to send, reports to record."""
        return {
            "decisions": self._decisions.qsize(),
            "commands": self._link.queued(),
            **self._recorder.backlog(),
        }

    async def start(self) -> None:
        await self._restore_schedule()
        self._decider = asyncio.create_task(self._run_decider(), name="meter-gateway-decider")
        self._recorder.start()
        self._tasks = [
            self._decider,
            asyncio.create_task(self._run_schedule(), name="meter-gateway-schedule"),
            asyncio.create_task(self._run_catch_up(), name="meter-gateway-catch-up"),
            *self._link.tasks(),
        ]
        await self._link.open()

    async def stop(self) -> None:
        # The recorder first, while the decider and the link it may call on still run.
        await self._recorder.stop()
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)
        # Events already taken are decided before leaving: their handlers are waiting.
        waiting = []
        while not self._decisions.empty():
            waiting.append(self._decisions.get_nowait())
        if waiting:
            await self._settle(waiting)
        await self._link.close()

    # --- reservation events: each merges into the reservation's window, then re-decides ---

    async def reservation_confirmed(self, event: ReservationConfirmed) -> None:
        """Green for the reserved window, then back; a repeated event changes nothing."""
        key = BayLightKey(event.meter_device_id, event.bay_number)
        await self._change_window(
            WindowChange(
                event.reservation_id,
                key,
                event.meter_id,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
            )
        )

    async def reservation_extended(self, event: ReservationExtended) -> None:
        """A longer green: the same run with a later `until`, under a new seq."""
        key = BayLightKey(event.meter_device_id, event.bay_number)
        await self._change_window(
            WindowChange(event.reservation_id, key, event.meter_id, ends_at=event.ends_at)
        )

    async def reservation_ended(self, event: ReservationEnded) -> None:
        """Ended early, cancelled or expired: the window stops holding the light at `ended_at`."""
        key = BayLightKey(event.meter_device_id, event.bay_number)
        await self._change_window(
            WindowChange(
                event.reservation_id,
                key,
                event.meter_id,
                ended_at=event.ended_at,
                end_reason=event.reason,
            )
        )

    async def catch_up(self) -> int:
        """Decide again, from the reservations table, the windows whose events were lost;
        returns how many. Merging a window is idempotent, so an event that was only late
        and arrives afterwards changes nothing."""
        caught_up: set[str] = set()
        while True:
            now = self._clock.now()
            behind = await windows_behind_reservations(
                self._database, now, settled_before=now - EVENT_GRACE, limit=_BATCH
            )
            # A window taken in this pass that still looks behind would come back for ever.
            fresh = [change for change in behind if change.reservation_id not in caught_up]
            if behind and not fresh:
                log.error("bay lights: %s windows still behind after a catch-up", len(behind))
            if not fresh:
                return len(caught_up)
            log.warning(
                "bay lights: %s reservation windows had lost their events; deciding them again",
                len(fresh),
            )
            await asyncio.gather(*(self._change_window(change) for change in fresh))
            LIGHT_WINDOWS_CAUGHT_UP.inc(len(fresh))
            caught_up.update(change.reservation_id for change in fresh)
            if len(fresh) < _BATCH:
                return len(caught_up)

    async def _run_catch_up(self) -> None:
        # At once, then every so often: a process that stopped between a commit and its
        # event finds that window here when it starts again.
        while True:
            try:
                await self.catch_up()
            except Exception:
                log.exception("the bay-light catch-up failed; trying again later")
            await asyncio.sleep(self._catch_up_every_s)

    # --- what meters say (called by mqtt_handlers, idempotent) ---

    def take_status(self, meter_device_id: str, status: MeterStatus) -> None:
        """Queue a meter's status (or will) for the recorder."""
        self._recorder.take_status(meter_device_id, status)

    def take_report(self, key: BayLightKey, report: LightReport) -> None:
        """Queue a meter's report for the recorder, which writes them in batches."""
        self._recorder.take_report(key, report)

    # --- the schedule: lights that change by themselves ---

    async def run_due(self) -> int:
        """Re-decide every bay whose change time has come; returns how many."""
        due = self._schedule.pop_due(self._clock.now())
        await self._redecide(due)
        return len(due)

    def next_scheduled_at(self) -> datetime | None:
        return self._schedule.next_at()

    async def _restore_schedule(self) -> None:
        now = self._clock.now()
        async with LightUnitOfWork(self._database) as uow:
            windows, lit = await uow.lights.schedule_inputs(now)
        for key, at in restored_schedule(windows, lit, now).items():
            self._schedule.set(key, at)

    async def _run_schedule(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_due()
            except Exception:
                log.exception("the bay-light schedule failed; trying again")
            next_at = self._schedule.next_at()
            delay = self._max_sleep_s
            if next_at is not None:
                delay = min(delay, max((next_at - self._clock.now()).total_seconds(), 0.0))
            # Woken early by a new window; capped so a clock jump is never slept through.
            # (`asyncio.timeout`, not `wait_for`: on 3.11 `wait_for` can swallow a cancel.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.001)):
                    await self._wake.wait()

    # --- deciding: a batch of changes per transaction ---

    async def _redecide(self, keys: list[BayLightKey]) -> None:
        await asyncio.gather(*(self._decide_again(key, None) for key in keys))

    async def _change_window(self, change: WindowChange) -> None:
        await self._decide_again(change.key, change)

    async def _decide_again(self, key: BayLightKey, change: WindowChange | None) -> None:
        """Decide the bay again, with this change; returns once it is committed.

        Decisions are made by one task, a batch per transaction (group commit), so many
        events cost a few round trips, and the caller still returns only when its change
        is in the database.
        """
        decision = _Decision(key, change, asyncio.get_running_loop().create_future())
        if self._decider is None or self._decider.done():
            await retry_conflicts(lambda: self._decide([decision]))
            return
        self._decisions.put_nowait(decision)
        await decision.done

    async def _run_decider(self) -> None:
        while True:
            batch = [await self._decisions.get()]
            await self._let_decisions_gather()
            while not self._decisions.empty() and len(batch) < _BATCH:
                batch.append(self._decisions.get_nowait())
            await self._settle(batch)

    async def _settle(self, batch: list[_Decision]) -> None:
        """Decide a batch and tell each waiting handler how it went."""
        try:
            await retry_conflicts(lambda: self._decide(batch))
        except Exception as error:
            for decision in batch:
                if not decision.done.done():
                    decision.done.set_exception(error)
        else:
            for decision in batch:
                if not decision.done.done():
                    decision.done.set_result(None)

    async def _let_decisions_gather(self) -> None:
        """Give the event handlers that are ready to run a turn to queue their decisions.

        A transaction's end releases every handler waiting on it at once, and each needs a
        few turns of the event loop to take its next event and queue it; taking the queue
        at the first arrival would commit a few and leave the rest a transaction behind.
        Idle, this costs a few turns of the loop (microseconds).
        """
        for turn in range(_GATHER_TURNS):
            before = self._decisions.qsize()
            await asyncio.sleep(0)
            if turn >= _GATHER_MIN_TURNS and self._decisions.qsize() == before:
                return

    async def _decide(self, batch: list[_Decision]) -> None:
        """Read what the batch's bays need, decide them (pure), store and send the result."""
        now = self._clock.now()
        keys = list(dict.fromkeys(decision.key for decision in batch))
        changes = [decision.change for decision in batch if decision.change is not None]
        reservation_ids = list(dict.fromkeys(change.reservation_id for change in changes))
        async with LightUnitOfWork(self._database) as uow:
            # The bay lights' row locks come first: they serialise decisions about a bay.
            stored = await uow.lights.bay_lights(keys, now)
            live, known = await uow.lights.windows_of_bays(
                keys, now, reservation_ids=reservation_ids
            )
            decided = decide_lights({key: stored[key] for key in keys}, live, known, changes, now)
            for merged in decided.windows:
                await uow.lights.save_window(
                    merged.window, meter_id=merged.meter_id, end_reason=merged.end_reason
                )
            for bay in decided.bays.values():
                if bay.changed:
                    await uow.lights.save_bay_light(bay.light)
            links = decided.meters - self._linked
            await uow.presence.link_meters(links)
            await uow.commit()
        self._linked |= links
        for key, bay in decided.bays.items():
            self._schedule.set(key, bay.next_change_at)
            if bay.light.pending:
                self._link.enqueue(bay.light)
        self._wake.set()
