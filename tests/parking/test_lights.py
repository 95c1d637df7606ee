"""Bay lights: the schedule, seqs, desired vs reported, presence, the wire format, the tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.parking.domain import (
    BayLight,
    BayLightKey,
    DesiredLight,
    LightColor,
    LightCommand,
    LightReport,
    LightSchedule,
    LightWindow,
    MeterPresence,
    apply_status,
    desired_light,
    is_fresh,
    next_change,
    unset_command,
)
from shahr.parking.gateways import (
    MeterPayloadError,
    MeterStatus,
    MeterTopics,
    decode_command,
    decode_report,
    decode_status,
    encode_command,
    encode_report,
    encode_status,
    wire_time,
)
from shahr.parking.persistence import LightUnitOfWork, meter_lights

PAYLOADS = Path(__file__).parent / "payloads"
T0 = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
BAY = BayLightKey("PM-0201", 3)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def window(name: str, start: float, end: float, *, ended: float | None = None) -> LightWindow:
    return LightWindow(
        name,
        BAY,
        starts_at=T0 + minutes(start),
        ends_at=T0 + minutes(end),
        ended_at=None if ended is None else T0 + minutes(ended),
    )


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


# --- the schedule: green for the reserved window, then back ---


def test_a_bay_is_green_for_its_reserved_window_and_off_before_and_after() -> None:
    windows = [window("r1", 0, 60)]
    assert desired_light(windows, T0 - minutes(1)) == DesiredLight(LightColor.off, None)
    assert desired_light(windows, T0) == DesiredLight(LightColor.green, T0 + minutes(60))
    assert desired_light(windows, T0 + minutes(59)).color is LightColor.green
    assert desired_light(windows, T0 + minutes(60)) == DesiredLight(LightColor.off, None)


def test_back_to_back_reservations_keep_the_light_green_without_a_blink() -> None:
    windows = [window("r2", 60, 90), window("r1", 0, 60), window("r3", 120, 150)]
    assert desired_light(windows, T0 + minutes(10)) == DesiredLight(
        LightColor.green, T0 + minutes(90)
    )
    assert desired_light(windows, T0 + minutes(100)).color is LightColor.off


def test_the_next_change_is_the_next_start_or_the_end_of_the_green_run() -> None:
    windows = [window("r1", 30, 60), window("r2", 60, 90)]
    assert next_change(windows, T0) == T0 + minutes(30)
    assert next_change(windows, T0 + minutes(30)) == T0 + minutes(90)
    assert next_change(windows, T0 + minutes(90)) is None


def test_ending_early_cuts_the_window_and_an_extension_only_lengthens_it() -> None:
    held = LightWindow("r1", BAY).confirmed(T0, T0 + minutes(60))
    assert held.extended(T0 + minutes(90)).effective_end == T0 + minutes(90)
    assert held.extended(T0 + minutes(30)).effective_end == T0 + minutes(60)
    assert held.ended(T0 + minutes(20)).effective_end == T0 + minutes(20)
    assert held.ended(T0 + minutes(20)).ended(T0 + minutes(40)).effective_end == T0 + minutes(20)


def test_an_extension_heard_before_its_confirmation_holds_no_light_until_the_start_is_known() -> (
    None
):
    early = LightWindow("r1", BAY).extended(T0 + minutes(90))
    assert not early.complete
    assert desired_light([early], T0 + minutes(10)).color is LightColor.off
    confirmed = early.confirmed(T0, T0 + minutes(60))
    assert desired_light([confirmed], T0 + minutes(10)).until == T0 + minutes(90)


EVENTS = st.lists(
    st.sampled_from(["confirm", "extend-75", "extend-120", "end-30", "end-45"]),
    min_size=1,
    max_size=6,
)


def _apply(held: LightWindow, event: str) -> LightWindow:
    if event == "confirm":
        return held.confirmed(T0, T0 + minutes(60))
    kind, at = event.split("-")
    moment = T0 + minutes(int(at))
    return held.extended(moment) if kind == "extend" else held.ended(moment)


@given(EVENTS, st.randoms())
def test_reservation_events_give_the_same_window_in_any_order_and_when_repeated(
    events: list[str], shuffler: object
) -> None:
    in_order = LightWindow("r1", BAY)
    for event in events:
        in_order = _apply(in_order, event)
    shuffled = [*events, *events]
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    any_order = LightWindow("r1", BAY)
    for event in shuffled:
        any_order = _apply(any_order, event)
    assert any_order == in_order


# --- seqs, desired and reported kept apart ---


def unlit() -> BayLight:
    return BayLight(key=BAY, meter_id=1, desired=unset_command(T0))


def test_each_change_of_the_desired_light_takes_the_next_seq_and_no_change_takes_none() -> None:
    green = unlit().desire(DesiredLight(LightColor.green, T0 + minutes(60)), T0)
    assert (green.desired.seq, green.desired.color, green.pending) == (1, LightColor.green, True)
    assert green.desire(DesiredLight(LightColor.green, T0 + minutes(60)), T0) is green
    longer = green.desire(DesiredLight(LightColor.green, T0 + minutes(90)), T0 + minutes(5))
    assert longer.desired.seq == 2
    back = longer.desire(DesiredLight(LightColor.off, None), T0 + minutes(90))
    assert (back.desired.seq, back.desired.until) == (3, None)


def test_a_platform_restored_from_an_old_backup_still_sends_a_seq_above_what_the_meter_has() -> (
    None
):
    restored = unlit().report(LightReport(41, LightColor.green, T0))
    assert restored.desire(DesiredLight(LightColor.off, None), T0).desired.seq == 42


def test_reports_are_recorded_in_seq_then_time_order_and_a_repeat_changes_nothing() -> None:
    light = unlit().desire(DesiredLight(LightColor.green, T0 + minutes(60)), T0).sent(1)
    green = LightReport(1, LightColor.green, T0 + timedelta(seconds=1))
    reported = light.report(green)
    assert reported.in_step(T0 + minutes(1))
    assert reported.report(green) is reported
    assert reported.report(LightReport(0, LightColor.off, T0 + minutes(2))) is reported
    timed_out = reported.report(LightReport(1, LightColor.off, T0 + minutes(60)))
    assert timed_out.reported == LightReport(1, LightColor.off, T0 + minutes(60))
    # The meter went back by itself at `until`: that too is what the platform wants.
    assert timed_out.in_step(T0 + minutes(61))
    assert not timed_out.in_step(T0 + minutes(30))


def test_sent_never_goes_back_and_a_newer_desire_is_pending_again() -> None:
    light = unlit().desire(DesiredLight(LightColor.green, T0 + minutes(60)), T0).sent(1)
    assert not light.pending
    assert light.sent(0).sent_seq == 1
    assert light.desire(DesiredLight(LightColor.off, None), T0).pending


def test_a_meter_applies_only_a_command_above_its_last_seq() -> None:
    command = LightCommand(5, LightColor.green, None, T0)
    assert is_fresh(command, 4)
    assert not is_fresh(command, 5)
    assert not is_fresh(command, 9)


# --- presence: retained status and last will ---


def test_a_meter_comes_online_once_and_a_repeated_status_changes_nothing() -> None:
    first = apply_status(
        None,
        meter_device_id="PM-0201",
        online=True,
        session="s1",
        firmware="f",
        received_at=T0,
    )
    assert (first.came_online, first.presence.online) == (True, True)
    again = apply_status(
        first.presence,
        meter_device_id="PM-0201",
        online=True,
        session="s1",
        firmware="f",
        received_at=T0 + minutes(1),
    )
    assert (again.came_online, again.changed) == (False, False)
    assert again.presence.last_seen_at == T0 + minutes(1)


def test_the_will_marks_a_meter_offline_unless_it_belongs_to_a_replaced_connection() -> None:
    online = MeterPresence("PM-0201", True, T0, T0, session="s2")
    stale = apply_status(
        online,
        meter_device_id="PM-0201",
        online=False,
        session="s1",
        firmware=None,
        received_at=T0 + minutes(1),
    )
    assert stale.presence.online
    assert not stale.changed
    gone = apply_status(
        online,
        meter_device_id="PM-0201",
        online=False,
        session="s2",
        firmware=None,
        received_at=T0 + minutes(1),
    )
    assert (gone.presence.online, gone.presence.since, gone.changed) == (
        False,
        T0 + minutes(1),
        True,
    )
    back = apply_status(
        gone.presence,
        meter_device_id="PM-0201",
        online=True,
        session="s3",
        firmware=None,
        received_at=T0 + minutes(2),
    )
    assert back.came_online
    assert back.presence.session == "s3"


def test_a_new_session_counts_as_coming_back_even_if_the_will_was_never_seen() -> None:
    online = MeterPresence("PM-0201", True, T0, T0, session="s1")
    rebooted = apply_status(
        online,
        meter_device_id="PM-0201",
        online=True,
        session="s2",
        firmware=None,
        received_at=T0 + minutes(1),
    )
    assert rebooted.came_online


# --- the gateway's heap of change times ---


def test_the_schedule_gives_due_bays_earliest_first_and_a_bay_set_again_only_once() -> None:
    schedule = LightSchedule()
    other = BayLightKey("PM-0202", 1)
    schedule.set(BAY, T0 + minutes(60))
    schedule.set(other, T0 + minutes(30))
    schedule.set(BAY, T0 + minutes(10))
    assert schedule.next_at() == T0 + minutes(10)
    assert schedule.pop_due(T0 + minutes(20)) == [BAY]
    assert schedule.pop_due(T0 + minutes(20)) == []
    schedule.set(other, None)
    assert (schedule.next_at(), len(schedule)) == (None, 0)


# --- the wire format (docs/devices.md) ---


def test_a_command_goes_on_the_wire_as_json_with_seq_color_until_and_issued_at() -> None:
    command = LightCommand(7, LightColor.green, T0 + minutes(60), T0)
    assert json.loads(encode_command(command)) == {
        "seq": 7,
        "color": "green",
        "until": "2026-11-26T07:30:00.000Z",
        "issued_at": "2026-11-26T06:30:00.000Z",
    }
    assert decode_command(encode_command(command)) == command
    off = LightCommand(8, LightColor.off, None, T0)
    assert json.loads(encode_command(off))["until"] is None


def test_the_recorded_payloads_read_as_the_values_they_carry() -> None:
    assert decode_command(payload("light_set_green.json")) == LightCommand(
        1, LightColor.green, datetime(2026, 11, 26, 7, 30, tzinfo=UTC), T0
    )
    assert decode_report(payload("light_state_green.json")) == LightReport(
        1, LightColor.green, datetime(2026, 11, 26, 6, 30, 0, 412000, tzinfo=UTC)
    )
    assert decode_report(payload("light_state_expired.json")).color is LightColor.off
    online = decode_status(payload("status_online.json"))
    assert (online.online, online.session, online.bays) == (True, "7d1e0c95a4f2", 8)
    assert decode_status(payload("status_will.json")) == MeterStatus(
        online=False, session="7d1e0c95a4f2"
    )
    # A vendor's meter may add fields of its own; they are ignored, not refused.
    vendor = decode_status(payload("status_online_vendor_fields.json"))
    assert (vendor.online, vendor.firmware) == (True, "PM8-2.4.1")


@pytest.mark.parametrize(
    "name", ["light_state_bad_color.json", "light_state_no_seq.json", "light_state_naive_at.json"]
)
def test_an_unreadable_report_is_refused_with_the_reason(name: str) -> None:
    with pytest.raises(MeterPayloadError):
        decode_report(payload(name))


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'{"online": "yes"}', b'{"online": true, "session": 5}'],
)
def test_an_unreadable_status_is_refused(raw: bytes) -> None:
    with pytest.raises(MeterPayloadError):
        decode_status(raw)


def test_reports_and_statuses_round_trip() -> None:
    report = LightReport(3, LightColor.red, T0)
    assert decode_report(encode_report(report)) == report
    status = MeterStatus(True, "abc", "f-1", T0, 8)
    assert decode_status(encode_status(status)) == status
    assert wire_time(T0) == "2026-11-26T06:30:00.000Z"


def test_topics_name_the_city_meter_and_bay_and_read_back() -> None:
    topics = MeterTopics("tehran")
    assert topics.light_set(BAY) == "shahr/tehran/parking/meters/PM-0201/bays/3/light/set"
    assert topics.light_state(BAY) == "shahr/tehran/parking/meters/PM-0201/bays/3/light/state"
    assert topics.status("PM-0201") == "shahr/tehran/parking/meters/PM-0201/status"
    assert topics.bay_of_light(topics.light_state(BAY), "state") == BAY
    assert topics.device_of_status(topics.status("PM-0201")) == "PM-0201"


@pytest.mark.parametrize(
    "topic",
    [
        "shahr/tehran/parking/meters/PM-0201/bays/0/light/state",
        "shahr/tehran/parking/meters/PM-0201/bays/x/light/state",
        "shahr/tehran/parking/meters/PM-0201/bays/3/light/set",
        "shahr/karaj/parking/meters/PM-0201/bays/3/light/state",
        "shahr/tehran/parking/meters/PM 0201/bays/3/light/state",
    ],
)
def test_a_topic_that_names_no_bay_light_state_is_refused(topic: str) -> None:
    with pytest.raises(MeterPayloadError):
        MeterTopics("tehran").bay_of_light(topic, "state")


def test_a_device_id_that_cannot_be_a_topic_level_is_refused() -> None:
    with pytest.raises(MeterPayloadError):
        MeterTopics("tehran").status("a/b")
    with pytest.raises(MeterPayloadError):
        MeterTopics("tehran").light_set(BayLightKey("PM-1", 1000))


# --- the tables ---


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=database_url).sqlalchemy_url)
    yield database
    await database.dispose()


async def test_a_bay_light_round_trips_and_sent_never_goes_back(database: Database) -> None:
    light = unlit().desire(DesiredLight(LightColor.green, T0 + minutes(60)), T0)
    async with LightUnitOfWork(database) as uow:
        await uow.lights.bay_light(BAY, T0, meter_id=1)
        await uow.lights.save_bay_light(light)
        await uow.commit()
    async with LightUnitOfWork(database) as uow:
        assert [p.key for p in await uow.lights.pending_lights(10)] == [BAY]
        await uow.lights.mark_sent_many({BAY: 1})
        await uow.lights.mark_sent_many({BAY: 0})
        await uow.commit()
    async with LightUnitOfWork(database) as uow:
        stored = await uow.lights.bay_light(BAY, T0)
        assert stored == light.sent(1)
        assert await uow.lights.pending_lights(10) == []


async def test_the_read_side_shows_desired_and_reported_apart_per_bay(database: Database) -> None:
    light = unlit().desire(DesiredLight(LightColor.green, T0 + minutes(60)), T0)
    report = LightReport(1, LightColor.green, T0 + timedelta(seconds=1))
    async with LightUnitOfWork(database) as uow:
        await uow.lights.save_bay_light(light)
        await uow.lights.save_bay_light(BayLight(BayLightKey("PM-0201", 4), 1, unset_command(T0)))
        await uow.commit()
    async with LightUnitOfWork(database) as uow:
        await uow.lights.save_bay_light(light.report(report), received_at=T0 + minutes(1))
        await uow.commit()
    shown = await meter_lights(database, 1)
    assert shown is not None
    assert shown.meter_device_id == "PM-0201"
    assert [bay.light.key.bay_number for bay in shown.bays] == [3, 4]
    assert shown.bays[0].light.reported == report
    assert shown.bays[0].reported_received_at == T0 + minutes(1)
    assert shown.bays[1].light.reported is None
    assert await meter_lights(database, 999) is None


async def test_live_windows_leave_out_windows_that_are_over(database: Database) -> None:
    async with LightUnitOfWork(database) as uow:
        for held in (window("r1", -90, -30), window("r2", 0, 60), window("r3", 0, 60, ended=-1)):
            await uow.lights.save_window(held, meter_id=1)
        await uow.commit()
    async with LightUnitOfWork(database) as uow:
        live = await uow.lights.live_windows(BAY, T0)
        _, own = await uow.lights.windows_of_bays([BAY], T0, reservation_ids=["r1"])
    assert [w.reservation_id for w in live] == ["r2"]
    assert own == {"r1": window("r1", -90, -30)}
