"""The meter gateway's decisions, pure: window changes merged, and the light and seq of each bay.

No database and no broker: what the gateway reads goes in as values, what it stores and
sends comes out as values.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shahr.parking.domain.lights import (
    BayLight,
    BayLightKey,
    LightColor,
    LightCommand,
    LightDecisions,
    LightReport,
    LightWindow,
    WindowChange,
    decide_lights,
    merge_changes,
    restored_schedule,
    unset_command,
)

T0 = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
BAY = BayLightKey("PM-0201", 3)
METER_ID = 7


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def unlit(key: BayLightKey = BAY, meter_id: int | None = METER_ID) -> BayLight:
    return BayLight(key, meter_id, unset_command(T0 - timedelta(days=1)))


def lit(until_min: float) -> BayLight:
    """The bay after its first command: green until `until_min`."""
    return BayLight(BAY, METER_ID, LightCommand(1, LightColor.green, at(until_min), T0))


def confirmed(rid: str, start: float, end: float, key: BayLightKey = BAY) -> WindowChange:
    return WindowChange(rid, key, METER_ID, starts_at=at(start), ends_at=at(end))


def extended(rid: str, end: float) -> WindowChange:
    return WindowChange(rid, BAY, METER_ID, ends_at=at(end))


def ended(rid: str, end: float, reason: str = "ended_early") -> WindowChange:
    return WindowChange(rid, BAY, METER_ID, ended_at=at(end), end_reason=reason)


def held(rid: str, start: float, end: float) -> LightWindow:
    return LightWindow(rid, BAY, starts_at=at(start), ends_at=at(end))


def decide(
    changes: list[WindowChange],
    *,
    now: float = 0,
    light: BayLight | None = None,
    live: list[LightWindow] | None = None,
) -> LightDecisions:
    windows = live or []
    known = {w.reservation_id: w for w in windows}
    return decide_lights({BAY: light or unlit()}, {BAY: windows}, known, changes, at(now))


def test_a_confirmation_turns_an_unlit_bay_green_until_its_end_with_the_first_seq() -> None:
    decided = decide([confirmed("r1", 0, 60)])

    bay = decided.bays[BAY]
    assert (bay.light.desired.seq, bay.light.desired.color) == (1, LightColor.green)
    assert bay.light.desired.until == at(60)
    assert bay.changed
    assert bay.light.pending
    assert bay.next_change_at == at(60)
    assert [m.window for m in decided.windows] == [held("r1", 0, 60)]


def test_a_confirmation_heard_again_changes_neither_the_light_nor_its_seq() -> None:
    decided = decide([confirmed("r1", 0, 60)], now=5, light=lit(60), live=[held("r1", 0, 60)])

    assert decided.bays[BAY].light == lit(60)
    assert not decided.bays[BAY].changed


def test_an_extension_keeps_the_bay_green_until_the_new_end_under_the_next_seq() -> None:
    decided = decide([extended("r1", 90)], now=30, light=lit(60), live=[held("r1", 0, 60)])

    command = decided.bays[BAY].light.desired
    assert (command.seq, command.color, command.until) == (2, LightColor.green, at(90))
    assert decided.windows[0].window.ends_at == at(90)


def test_an_early_end_turns_the_light_off_at_once_and_keeps_its_reason() -> None:
    decided = decide([ended("r1", 20)], now=20, light=lit(60), live=[held("r1", 0, 60)])

    command = decided.bays[BAY].light.desired
    assert (command.seq, command.color, command.until) == (2, LightColor.off, None)
    assert decided.bays[BAY].next_change_at is None
    assert decided.windows[0].end_reason == "ended_early"
    assert decided.windows[0].window.effective_end == at(20)


def test_a_reservation_starting_later_leaves_the_bay_off_until_its_start() -> None:
    decided = decide([confirmed("r1", 30, 90)])

    bay = decided.bays[BAY]
    assert bay.light == unlit()
    assert not bay.changed
    assert bay.next_change_at == at(30)


def test_a_back_to_back_reservation_lengthens_the_green_run_instead_of_blinking() -> None:
    decided = decide([confirmed("r2", 60, 90)], now=10, light=lit(60), live=[held("r1", 0, 60)])

    assert decided.bays[BAY].light.desired.until == at(90)
    assert decided.bays[BAY].next_change_at == at(90)


def test_one_reservations_changes_in_one_batch_merge_and_its_end_reason_stays() -> None:
    merged = merge_changes([ended("r1", 20, "cancelled"), confirmed("r1", 0, 60)], {})

    assert merged["r1"].window == LightWindow("r1", BAY, at(0), at(60), at(20))
    assert merged["r1"].end_reason == "cancelled"
    assert merged["r1"].meter_id == METER_ID


def test_an_extension_heard_before_its_confirmation_lights_nothing_until_the_start_is_known() -> (
    None
):
    decided = decide([extended("r1", 90)])

    assert decided.bays[BAY].light == unlit()
    assert not decided.windows[0].window.complete


def test_a_bay_decided_again_when_its_window_is_over_goes_back_to_off() -> None:
    decided = decide([], now=60, light=lit(60))

    command = decided.bays[BAY].light.desired
    assert (command.seq, command.color) == (2, LightColor.off)
    assert decided.windows == []


def test_a_meter_ahead_of_the_platform_is_told_again_with_a_seq_above_its_own() -> None:
    ahead = BayLight(BAY, METER_ID, lit(60).desired, reported=LightReport(5, LightColor.off, T0))

    decided = decide([], now=10, light=ahead, live=[held("r1", 0, 60)])

    command = decided.bays[BAY].light.desired
    assert (command.seq, command.color, command.until) == (6, LightColor.green, at(60))


def test_the_meter_a_reservation_names_is_recorded_on_the_bay_and_linked_to_its_device() -> None:
    decided = decide([confirmed("r1", 30, 90)], light=unlit(meter_id=None))

    assert decided.bays[BAY].light.meter_id == METER_ID
    assert decided.bays[BAY].changed  # a new meter id alone is worth storing
    assert decided.meters == {("PM-0201", METER_ID)}


def test_a_change_for_a_bay_not_being_decided_is_stored_but_lights_nothing_else() -> None:
    other = BayLightKey("PM-0201", 4)

    decided = decide([confirmed("r1", 0, 60, key=other)])

    assert decided.bays[BAY].light == unlit()
    assert [m.window.key for m in decided.windows] == [other]


def test_the_catch_up_gives_the_same_light_as_the_events_it_stands_for() -> None:
    caught_up = WindowChange(
        "r1",
        BAY,
        METER_ID,
        starts_at=at(0),
        ends_at=at(60),
        ended_at=at(20),
        end_reason="cancelled",
    )
    from_events = decide([confirmed("r1", 0, 60), ended("r1", 20, "cancelled")], now=5)

    assert decide([caught_up], now=5) == from_events


CHANGES = st.lists(
    st.sampled_from(
        [
            confirmed("r1", 0, 60),
            extended("r1", 75),
            ended("r1", 45),
            confirmed("r2", 60, 90),
            ended("r2", 80, "cancelled"),
        ]
    ),
    min_size=1,
    max_size=8,
)


@given(CHANGES, st.randoms(), st.sampled_from([-10.0, 10.0, 50.0, 70.0, 100.0]))
def test_a_batch_decides_the_same_light_in_any_order_and_when_repeated(
    changes: list[WindowChange], shuffler: random.Random, now: float
) -> None:
    in_order = decide(changes, now=now).bays[BAY]
    again = [*changes, *changes]
    shuffler.shuffle(again)
    assert decide(again, now=now).bays[BAY] == in_order


def test_a_restarted_gateway_decides_at_once_a_light_that_changed_while_it_was_away() -> None:
    windows = {BAY: [held("r1", 0, 60)]}

    assert restored_schedule(windows, {BAY: lit(60)}, at(10)) == {BAY: at(60)}
    assert restored_schedule({}, {BAY: lit(60)}, at(70)) == {BAY: at(70)}
    assert restored_schedule(windows, {}, at(-5)) == {BAY: at(0)}
