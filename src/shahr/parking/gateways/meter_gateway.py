"""The meter gateway: the one owner of meter I/O over MQTT (bay lights, status, reports)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from prometheus_client import Counter
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.mqtt import DeviceBroker, DeviceConnection, MessageHandler
from shahr.kernel.tasks import cancel_and_wait
from shahr.parking.domain.lights import (
    BayLight,
    BayLightKey,
    LightColor,
    LightCommand,
    LightReport,
    LightSchedule,
    LightWindow,
    StatusChange,
    apply_status,
    desired_light,
    next_change,
)
from shahr.parking.events import ReservationConfirmed, ReservationEnded, ReservationExtended
from shahr.parking.persistence.lights import LightRepository, LightUnitOfWork, ReservedWindow

log = logging.getLogger(__name__)

LIGHT_WINDOWS_CAUGHT_UP = Counter(
    "shahr_parking_light_windows_caught_up",
    "Reservation windows the bay lights took from the reservations table, their events lost",
)


# Meter gateway (bay lights)
#
# The one owner of meter I/O (docs/devices.md is the contract a meter vendor builds to):
# it turns reservation windows into each bay's desired light, publishes it retained at
# QoS 1 with a seq that never goes back, records what meters report and whether they are
# online, re-sends a meter's commands when it comes back, and keeps commands the broker
# did not take as pending until it does.

# As the inventory accepts them (one topic level: no `/`, `+`, `#`).
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_BAY_NUMBER = 999


class MeterPayloadError(ValueError):
    """A meter message the gateway cannot read; it is dropped, logged and counted."""


def check_device_id(meter_device_id: str) -> str:
    """Refuse a device id that cannot be one MQTT topic level (or is absurdly long)."""
    if not _DEVICE_ID.fullmatch(meter_device_id):
        raise MeterPayloadError(f"unusable meter device id {meter_device_id!r}")
    return meter_device_id


@dataclass(frozen=True)
class MeterTopics:
    """The city's meter topics: `shahr/<city>/parking/meters/<meter>/...`."""

    city: str

    @property
    def root(self) -> str:
        return f"shahr/{self.city}/parking/meters"

    def status(self, meter_device_id: str) -> str:
        return f"{self.root}/{check_device_id(meter_device_id)}/status"

    def light_set(self, key: BayLightKey) -> str:
        return f"{self._bay(key)}/light/set"

    def light_state(self, key: BayLightKey) -> str:
        return f"{self._bay(key)}/light/state"

    def light_set_filter(self, meter_device_id: str) -> str:
        """What one meter subscribes to: the commands for all its bays."""
        return f"{self.root}/{check_device_id(meter_device_id)}/bays/+/light/set"

    @property
    def every_status(self) -> str:
        return f"{self.root}/+/status"

    @property
    def every_light_state(self) -> str:
        return f"{self.root}/+/bays/+/light/state"

    def device_of_status(self, topic: str) -> str:
        parts = self._below_root(topic)
        if len(parts) != 2 or parts[1] != "status":
            raise MeterPayloadError(f"not a meter status topic: {topic!r}")
        return check_device_id(parts[0])

    def bay_of_light(self, topic: str, leaf: str) -> BayLightKey:
        """The bay a `.../bays/<n>/light/<leaf>` topic names."""
        parts = self._below_root(topic)
        if len(parts) != 5 or parts[1] != "bays" or parts[3:] != ["light", leaf]:
            raise MeterPayloadError(f"not a bay light {leaf} topic: {topic!r}")
        return BayLightKey(check_device_id(parts[0]), _bay_number(parts[2]))

    def _bay(self, key: BayLightKey) -> str:
        if not 1 <= key.bay_number <= MAX_BAY_NUMBER:
            raise MeterPayloadError(f"bay number out of range: {key.bay_number}")
        return f"{self.root}/{check_device_id(key.meter_device_id)}/bays/{key.bay_number}"

    def _below_root(self, topic: str) -> list[str]:
        prefix = self.root + "/"
        if not topic.startswith(prefix):
            raise MeterPayloadError(f"not a meter topic of {self.city!r}: {topic!r}")
        return topic.removeprefix(prefix).split("/")


def _bay_number(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_BAY_NUMBER:
        raise MeterPayloadError(f"not a bay number: {text!r}")
    return int(text)


def wire_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as meters read and write it."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes do not go on the wire")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise MeterPayloadError(f"`{name}` must be an ISO 8601 time, not {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MeterPayloadError(f"`{name}` is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise MeterPayloadError(f"`{name}` has no UTC offset: {value!r}")
    return moment.astimezone(UTC)


def _read_object(payload: bytes) -> dict[str, Any]:
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MeterPayloadError("the payload is not JSON") from None
    if not isinstance(document, dict):
        raise MeterPayloadError("the payload is not a JSON object")
    return document


def _read_seq(document: dict[str, Any]) -> int:
    seq = document.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise MeterPayloadError(f"`seq` must be a whole number of 0 or more, not {seq!r}")
    return seq


def _read_color(document: dict[str, Any]) -> LightColor:
    color = document.get("color")
    try:
        return LightColor(str(color))
    except ValueError:
        raise MeterPayloadError(f"`color` must be off, green or red, not {color!r}") from None


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def encode_command(command: LightCommand) -> bytes:
    return _dump(
        {
            "seq": command.seq,
            "color": command.color.value,
            "until": None if command.until is None else wire_time(command.until),
            "issued_at": wire_time(command.issued_at),
        }
    )


def decode_command(payload: bytes) -> LightCommand:
    document = _read_object(payload)
    until = document.get("until")
    return LightCommand(
        seq=_read_seq(document),
        color=_read_color(document),
        until=None if until is None else _read_time(until, "until"),
        issued_at=_read_time(document.get("issued_at"), "issued_at"),
    )


def encode_report(report: LightReport) -> bytes:
    return _dump({"seq": report.seq, "color": report.color.value, "at": wire_time(report.at)})


def decode_report(payload: bytes) -> LightReport:
    document = _read_object(payload)
    return LightReport(
        seq=_read_seq(document),
        color=_read_color(document),
        at=_read_time(document.get("at"), "at"),
    )


@dataclass(frozen=True)
class MeterStatus:
    """A meter's retained status, or its will (`online` false, usually nothing else)."""

    online: bool
    session: str | None = None
    firmware: str | None = None
    at: datetime | None = None
    bays: int | None = None


def encode_status(status: MeterStatus) -> bytes:
    document: dict[str, Any] = {"online": status.online}
    if status.session is not None:
        document["session"] = status.session
    if status.firmware is not None:
        document["firmware"] = status.firmware
    if status.at is not None:
        document["at"] = wire_time(status.at)
    if status.bays is not None:
        document["bays"] = status.bays
    return _dump(document)


def decode_status(payload: bytes) -> MeterStatus:
    document = _read_object(payload)
    online = document.get("online")
    if not isinstance(online, bool):
        raise MeterPayloadError(f"`online` must be true or false, not {online!r}")
    session, firmware, bays = (document.get(k) for k in ("session", "firmware", "bays"))
    if session is not None and (not isinstance(session, str) or not 0 < len(session) <= 64):
        raise MeterPayloadError("`session` must be a string of 1 to 64 characters")
    if firmware is not None and (not isinstance(firmware, str) or len(firmware) > 64):
        raise MeterPayloadError("`firmware` must be a string of at most 64 characters")
    if bays is not None and (isinstance(bays, bool) or not isinstance(bays, int) or bays < 0):
        raise MeterPayloadError("`bays` must be a whole number")
    at = document.get("at")
    return MeterStatus(
        online=online,
        session=session,
        firmware=firmware,
        at=None if at is None else _read_time(at, "at"),
        bays=bays,
    )


ReportObserver = Callable[[BayLightKey, LightReport], None]
# Reservation events for the lights are handled this many at a time (competing deliveries
# on one durable consumer), and decided together, a batch per transaction. Merging a window
# commutes and each bay's row lock orders the decisions about it, so events may be handled
# in any order and in parallel. It is also the largest batch: on PostgreSQL a transaction
# costs tens of milliseconds plus about half a millisecond an event, so batches of 32 topped
# out near 300 events/s on a busy machine (bench/light_latency.py, 2,000 meters at 400
# confirmations/s, fell behind); batches of 128 roughly double that.
LIGHT_EVENT_WORKERS = 128
_PAGE = 500
# Turns of the event loop the decider gives handlers to queue decisions before it takes a
# batch: at least the minimum, then as long as the queue still grows.
_GATHER_MIN_TURNS = 3
_GATHER_TURNS = 32
# QoS 1 publishes awaiting their PUBACK at once (aiomqtt warns above ten).
_IN_FLIGHT = 10
# What the gateway subscribes to meters' topics at. Reports and statuses are retained
# state, not a log: after a lost connection the broker hands over the latest of each again,
# so QoS 1 adds nothing the retained copy does not, and costs a round trip per message
# that caps how fast the broker may send (Mosquitto keeps 20 unacknowledged per client and
# drops past a queue of 1,000: a city's meters reconnecting at once overran it). Decision
# 0014.
INBOUND_QOS = 0
# Events reach the lights after the reservation's commit, so one can be lost (the process
# stops between the two, or the bus refuses it). The gateway compares the lights' windows
# with the reservations this often, taking changes older than the grace as lost.
CATCH_UP_EVERY_S = 60.0
EVENT_GRACE = timedelta(minutes=1)


class MeterGateway:
    """The meter gateway: bay lights out, reports and presence in, over one MQTT session.

    Runs for the process's lifetime (`start`/`stop`). Reservation events reach it through
    the bus and are committed before their handler returns (so the bus redelivers if the
    process dies first); meter messages arrive through the handlers `mqtt_handlers.install`
    registers. Seven tasks: the decider, committing the events waiting at that moment in one
    transaction (group commit); the sender, publishing commands in the order they were
    decided, and the sent marker, recording in batches what the broker took; the recorder,
    writing meters' statuses and reports in batches; the schedule, waking when a bay's light
    must change by itself (a window starts or ends); a retry loop, reconnecting and
    re-sending what the broker did not take; and the catch-up, deciding again from the
    reservations table the windows whose events never came.
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
        self._broker = broker
        self._database = database
        self._clock = clock
        # Unique per process: two replicas sharing a client id would push each other out.
        self._client_id = client_id or f"shahr-{city}-meter-gateway-{uuid.uuid4().hex[:12]}"
        self._retry_s = retry_s
        self._publish_timeout_s = publish_timeout_s
        self._max_sleep_s = max_sleep_s
        self._catch_up_every_s = catch_up_every_s
        self._listeners: list[tuple[str, MessageHandler]] = []
        self._observers: list[ReportObserver] = []
        self._connection: DeviceConnection | None = None
        self._link_down = False
        self._maybe_pending = True
        self._schedule = LightSchedule()
        self._wake = asyncio.Event()
        self._retry_wake = asyncio.Event()
        self._decisions: asyncio.Queue[_Decision] = asyncio.Queue()
        self._in_flight = asyncio.Semaphore(_IN_FLIGHT)
        self._decider: asyncio.Task[None] | None = None
        # Commands wait here for the sender, in the order they were decided; `_latest` is the
        # newest seq queued per bay, so an older copy still in the queue is skipped.
        self._outbox: asyncio.Queue[BayLight] = asyncio.Queue()
        self._latest: dict[BayLightKey, int] = {}
        # Commands the broker took, bay -> seq, waiting to be marked sent in the database
        # by their own task, so the sender never waits for the database between batches.
        self._sent: dict[BayLightKey, int] = {}
        self._sent_wake = asyncio.Event()
        self._reports: asyncio.Queue[tuple[BayLightKey, LightReport]] = asyncio.Queue()
        self._statuses: asyncio.Queue[tuple[str, MeterStatus]] = asyncio.Queue()
        self._said = asyncio.Event()
        self._linked: set[tuple[str, int]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # --- wiring and lifetime ---

    def listen(self, topic_filter: str, handler: MessageHandler) -> None:
        """Register an inbound handler; subscribed on every (re)connection."""
        self._listeners.append((topic_filter, handler))

    def observe_reports(self, observer: ReportObserver) -> None:
        """Be told of every report once it is recorded (benchmarks, live pages)."""
        self._observers.append(observer)

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._link_down

    def backlog(self) -> dict[str, int]:
        """What waits inside the gateway: events to decide, commands to send, reports to record."""
        return {
            "decisions": self._decisions.qsize(),
            "commands": self._outbox.qsize(),
            "reports": self._reports.qsize(),
            "statuses": self._statuses.qsize(),
        }

    async def start(self) -> None:
        await self._restore_schedule()
        self._decider = asyncio.create_task(self._run_decider(), name="meter-gateway-decider")
        self._tasks = [
            self._decider,
            asyncio.create_task(self._run_sender(), name="meter-gateway-sender"),
            asyncio.create_task(self._run_sent_marker(), name="meter-gateway-sent-marker"),
            asyncio.create_task(self._run_recorder(), name="meter-gateway-recorder"),
            asyncio.create_task(self._run_schedule(), name="meter-gateway-schedule"),
            asyncio.create_task(self._run_retries(), name="meter-gateway-retries"),
            asyncio.create_task(self._run_catch_up(), name="meter-gateway-catch-up"),
        ]
        if await self._connect():
            await self.send_pending()

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)
        # Events already taken are decided before leaving: their handlers are waiting.
        waiting = []
        while not self._decisions.empty():
            waiting.append(self._decisions.get_nowait())
        if waiting:
            try:
                await self._decide_with_retry(waiting)
            except Exception as error:
                for decision in waiting:
                    decision.done.set_exception(error)
            else:
                for decision in waiting:
                    decision.done.set_result(None)
        await self._mark_sent()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await connection.disconnect()

    # --- reservation events: each merges into the reservation's window, then re-decides ---

    async def reservation_confirmed(self, event: ReservationConfirmed) -> None:
        """Green for the reserved window, then back; a repeated event changes nothing."""
        await self._change_window(
            event.reservation_id,
            BayLightKey(event.meter_device_id, event.bay_number),
            meter_id=event.meter_id,
            change=lambda window: window.confirmed(event.starts_at, event.ends_at),
        )

    async def reservation_extended(self, event: ReservationExtended) -> None:
        """A longer green: the same run with a later `until`, under a new seq."""
        await self._change_window(
            event.reservation_id,
            BayLightKey(event.meter_device_id, event.bay_number),
            meter_id=event.meter_id,
            change=lambda window: window.extended(event.ends_at),
        )

    async def reservation_ended(self, event: ReservationEnded) -> None:
        """Ended early, cancelled or expired: the window stops holding the light at `ended_at`."""
        await self._change_window(
            event.reservation_id,
            BayLightKey(event.meter_device_id, event.bay_number),
            meter_id=event.meter_id,
            change=lambda window: window.ended(event.ended_at),
            end_reason=event.reason,
        )

    async def catch_up(self) -> int:
        """Decide again, from the reservations table, the windows whose events were lost;
        returns how many. Merging a window is idempotent, so an event that was only late
        and arrives afterwards changes nothing."""
        caught_up: set[str] = set()
        while True:
            now = self._clock.now()
            async with LightUnitOfWork(self._database) as uow:
                behind = await uow.lights.windows_behind_reservations(
                    now, settled_before=now - EVENT_GRACE, limit=_PAGE
                )
            # A window taken in this pass that still looks behind would come back for ever.
            fresh = [window for window in behind if window.reservation_id not in caught_up]
            if behind and not fresh:
                log.error("bay lights: %s windows still behind after a catch-up", len(behind))
            behind = fresh
            if not behind:
                return len(caught_up)
            log.warning(
                "bay lights: %s reservation windows had lost their events; deciding them again",
                len(behind),
            )
            await asyncio.gather(*(self._take_reserved(window) for window in behind))
            LIGHT_WINDOWS_CAUGHT_UP.inc(len(behind))
            caught_up.update(window.reservation_id for window in behind)
            if len(behind) < _PAGE:
                return len(caught_up)

    async def _take_reserved(self, reserved: ReservedWindow) -> None:
        await self._change_window(
            reserved.reservation_id,
            reserved.key,
            meter_id=reserved.meter_id,
            change=reserved.apply,
            end_reason=reserved.end_reason,
        )

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
        self._statuses.put_nowait((meter_device_id, status))
        self._said.set()

    async def record_statuses(self, statuses: list[tuple[str, MeterStatus]]) -> list[StatusChange]:
        """Record statuses and wills in order, in one transaction; repeating one changes nothing.

        Meters that came back (online with a new session) get their bays' commands again.
        """
        now = self._clock.now()
        devices = list(dict.fromkeys(device for device, _ in statuses))
        changes: list[StatusChange] = []
        back: list[str] = []

        async def record() -> None:
            changes.clear()
            back.clear()
            async with LightUnitOfWork(self._database) as uow:
                before = await uow.lights.presences(devices)
                current = dict(before)
                for device, status in statuses:
                    change = apply_status(
                        current.get(device),
                        meter_device_id=device,
                        online=status.online,
                        session=status.session,
                        firmware=status.firmware,
                        received_at=now,
                    )
                    current[device] = change.presence
                    changes.append(change)
                    if change.came_online:
                        back.append(device)
                unnamed = [d for d, p in current.items() if p.meter_id is None]
                meter_ids = await uow.lights.meter_ids_of_devices(unnamed)
                for device, presence in current.items():
                    if presence.meter_id is None and device in meter_ids:
                        presence = dataclasses.replace(presence, meter_id=meter_ids[device])
                    if presence != before.get(device):
                        await uow.lights.save_presence(presence)
                await uow.commit()

        await _retrying(record)
        if back:
            await self.resend(*dict.fromkeys(back))
        return changes

    def take_report(self, key: BayLightKey, report: LightReport) -> None:
        """Queue a meter's report for the recorder, which writes them in batches."""
        self._reports.put_nowait((key, report))
        self._said.set()

    async def record_reports(self, reports: list[tuple[BayLightKey, LightReport]]) -> None:
        """Record what meters say bays show, in one transaction; old or repeated ones change
        nothing."""
        newest: dict[BayLightKey, LightReport] = {}
        for key, report in reports:
            if report.is_newer_than(newest.get(key)):
                newest[key] = report
        now = self._clock.now()
        ahead: list[BayLightKey] = []

        async def record() -> None:
            async with LightUnitOfWork(self._database) as uow:
                lights = await uow.lights.bay_lights(list(newest), now)
                ahead.clear()
                for key, report in newest.items():
                    light = lights[key]
                    reported = light.report(report)
                    if reported != light:
                        await uow.lights.save_bay_light(reported, received_at=now)
                    if reported.meter_is_ahead:
                        ahead.append(key)
                await uow.commit()

        await _retrying(record)
        for key, report in reports:
            for observer in self._observers:
                observer(key, report)
        await asyncio.gather(
            *(self._change_window(None, key, meter_id=None, change=None) for key in ahead)
        )

    async def resend(self, *meter_device_ids: str) -> int:
        """Queue meters' commands again, same seqs: a meter that has them ignores them."""
        async with LightUnitOfWork(self._database) as uow:
            lights = await uow.lights.lights_of_devices(list(meter_device_ids))
        commanded = [light for light in lights if light.desired.seq > 0]
        for light in commanded:
            self._enqueue(light)
        return len(commanded)

    # --- the schedule: lights that change by themselves ---

    async def run_due(self) -> int:
        """Re-decide every bay whose change time has come; returns how many."""
        due = self._schedule.pop_due(self._clock.now())
        await asyncio.gather(
            *(self._change_window(None, key, meter_id=None, change=None) for key in due)
        )
        return len(due)

    def next_scheduled_at(self) -> datetime | None:
        return self._schedule.next_at()

    async def _restore_schedule(self) -> None:
        now = self._clock.now()
        async with LightUnitOfWork(self._database) as uow:
            windows, lit = await uow.lights.schedule_inputs(now)
        for key in set(windows) | set(lit):
            bay_windows = windows.get(key, [])
            light = lit.get(key)
            wanted = desired_light(bay_windows, now)
            if light is not None and (light.desired.color, light.desired.until) != (
                wanted.color,
                wanted.until,
            ):
                # Changed while no gateway was running: re-decide at once.
                self._schedule.set(key, now)
            else:
                self._schedule.set(key, next_change(bay_windows, now))

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

    # --- sending, and re-sending what the broker did not take ---

    async def send_pending(self) -> int:
        """Queue every command the broker has not taken yet; returns how many."""
        self._maybe_pending = False
        queued = 0
        after: BayLightKey | None = None
        while True:
            async with LightUnitOfWork(self._database) as uow:
                page = await uow.lights.pending_lights(_PAGE, after=after)
            for light in page:
                self._enqueue(light)
            queued += len(page)
            if len(page) < _PAGE:
                return queued
            after = page[-1].key

    def _enqueue(self, light: BayLight) -> None:
        key, seq = light.key, light.desired.seq
        self._latest[key] = max(self._latest.get(key, 0), seq)
        self._outbox.put_nowait(light)

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

    async def _run_recorder(self) -> None:
        """Write what meters say, in batches: presence first, then reported lights."""
        while True:
            if self._statuses.empty() and self._reports.empty():
                self._said.clear()
                await self._said.wait()
            statuses = _drain(self._statuses)
            reports = _drain(self._reports)
            try:
                if statuses:
                    await self.record_statuses(statuses)
                if reports:
                    await self.record_reports(reports)
            except Exception:
                # Statuses and reports are retained: the next reconnection brings them back.
                log.exception(
                    "could not record %d statuses and %d reports", len(statuses), len(reports)
                )

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
            connection = await self._broker.connect(self._client_id)
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
        log.info("meter gateway connected as %s", self._client_id)
        return True

    async def _publish_in_window(self, light: BayLight) -> bool:
        async with self._in_flight:
            return await self._publish(light)

    async def _publish(self, light: BayLight) -> bool:
        """Send a bay's desired light, retained at QoS 1; False leaves it pending.

        Only the sender calls this, one command at a time in the order they were decided,
        so a bay's commands reach the broker in seq order and the retained one is the latest.
        """
        connection = self._connection
        if connection is None or self._link_down:
            self._pending_from_now()
            return False
        command = light.desired
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                await connection.publish(
                    self.topics.light_set(light.key), encode_command(command), qos=1, retain=True
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

    async def _change_window(
        self,
        reservation_id: str | None,
        key: BayLightKey,
        *,
        meter_id: int | None,
        change: Callable[[LightWindow], LightWindow] | None,
        end_reason: str | None = None,
    ) -> None:
        """Decide the bay again with this change; returns once it is committed.

        Decisions are made by one task, a batch per transaction (group commit), so many
        events cost a few round trips, and the caller still returns only when its change
        is in the database.
        """
        decision = _Decision(
            reservation_id,
            key,
            meter_id,
            change,
            end_reason,
            asyncio.get_running_loop().create_future(),
        )
        if self._decider is None or self._decider.done():
            await self._decide_with_retry([decision])
            return
        self._decisions.put_nowait(decision)
        await decision.done

    async def _run_decider(self) -> None:
        while True:
            batch = [await self._decisions.get()]
            await self._let_decisions_gather()
            while not self._decisions.empty() and len(batch) < _PAGE:
                batch.append(self._decisions.get_nowait())
            try:
                await self._decide_with_retry(batch)
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

    async def _decide_with_retry(self, batch: list[_Decision]) -> None:
        await _retrying(lambda: self._decide(batch))

    async def _decide(self, batch: list[_Decision]) -> None:
        """Merge the batch's events into their windows and decide each bay, in one transaction."""
        now = self._clock.now()
        keys = list(dict.fromkeys(decision.key for decision in batch))
        meter_of = {d.key: d.meter_id for d in batch if d.meter_id is not None}
        changes = [d for d in batch if d.reservation_id is not None and d.change is not None]
        reservation_ids = list(dict.fromkeys(d.reservation_id for d in changes if d.reservation_id))
        links = {(key.meter_device_id, meter_id) for key, meter_id in meter_of.items()}
        links -= self._linked
        async with LightUnitOfWork(self._database) as uow:
            repository: LightRepository = uow.lights
            # The bay lights' row locks come first: they serialise decisions about a bay.
            lights = await repository.bay_lights(keys, now)
            live, known = await repository.windows_of_bays(
                keys, now, reservation_ids=reservation_ids
            )
            changed: dict[str, tuple[LightWindow, int | None, str | None]] = {}
            for decision in changes:
                rid = decision.reservation_id
                if rid is None or decision.change is None:
                    continue
                before = changed[rid][0] if rid in changed else known.get(rid)
                window = decision.change(before or LightWindow(rid, decision.key))
                reason = decision.end_reason or (changed[rid][2] if rid in changed else None)
                changed[rid] = (window, decision.meter_id, reason)
            for window, meter_id, reason in changed.values():
                await repository.save_window(window, meter_id=meter_id, end_reason=reason)
            windows = {
                key: [w for w in live.get(key, []) if w.reservation_id not in changed]
                for key in keys
            }
            for window, _, _ in changed.values():
                end = window.effective_end
                if window.key in windows and window.complete and end is not None and end > now:
                    windows[window.key].append(window)
            decided: dict[BayLightKey, BayLight] = {}
            for key in keys:
                light = lights[key]
                if key in meter_of and light.meter_id != meter_of[key]:
                    light = dataclasses.replace(light, meter_id=meter_of[key])
                decided[key] = light.desire(desired_light(windows[key], now), now)
                if decided[key] != lights[key]:
                    await repository.save_bay_light(decided[key])
            await repository.link_meters(links)
            await uow.commit()
        self._linked |= links
        for key in keys:
            self._schedule.set(key, next_change(windows[key], now))
            if decided[key].pending:
                self._enqueue(decided[key])
        self._wake.set()


@dataclass
class _Decision:
    """One event's change to one bay, waiting for the decider's next transaction."""

    reservation_id: str | None
    key: BayLightKey
    meter_id: int | None
    change: Callable[[LightWindow], LightWindow] | None
    end_reason: str | None
    done: asyncio.Future[None]


T = TypeVar("T")


def _drain(queue: asyncio.Queue[T], limit: int = _PAGE) -> list[T]:
    """Take what is waiting in a queue, up to `limit`, without waiting."""
    taken: list[T] = []
    while not queue.empty() and len(taken) < limit:
        taken.append(queue.get_nowait())
    return taken


async def _retrying(work: Callable[[], Awaitable[None]], attempts: int = 3) -> None:
    """Run a transaction again when another writer got in the way (a row inserted first,
    a deadlock, a busy SQLite); everything it does is decided afresh from what it reads."""
    for attempt in range(1, attempts + 1):
        try:
            await work()
            return
        except (IntegrityError, OperationalError, DBAPIError) as error:
            if attempt == attempts or not _transient(error):
                raise
            log.info("bay-light transaction retried after %s", type(error).__name__)


def _transient(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    text = str(error.orig).lower()
    return any(sign in text for sign in ("deadlock", "could not serialize", "database is locked"))
