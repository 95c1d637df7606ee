"""The clock port: aware UTC instants, and a fixed clock that moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from shahr import bootstrap
from shahr.kernel.clock import TEHRAN, Clock, FixedClock, ShiftedClock, SystemClock, in_tehran
from shahr.kernel.settings import Settings

NAIVE = datetime(2026, 11, 26, 10, 0)  # noqa: DTZ001  naive on purpose: it must be refused


def read(clock: Clock) -> datetime:
    return clock.now()


def test_a_fixed_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(NAIVE)


def test_a_fixed_clock_refuses_to_be_set_to_a_naive_time(clock: FixedClock) -> None:
    before = clock.now()

    with pytest.raises(ValueError, match="aware"):
        clock.set(NAIVE)
    assert clock.now() == before


def test_a_fixed_clock_stands_still_until_advanced(clock: FixedClock) -> None:
    assert clock.now() == clock.now()


def test_a_fixed_clock_advances_by_what_it_is_told(clock: FixedClock) -> None:
    start = clock.now()

    clock.advance(timedelta(minutes=30))
    clock.advance(timedelta(seconds=1))

    assert clock.now() - start == timedelta(minutes=30, seconds=1)


def test_a_fixed_clock_gives_utc_whatever_zone_it_was_started_in() -> None:
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=TEHRAN))

    assert clock.now() == datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().tzinfo is UTC


def test_a_fixed_clock_can_be_set_to_another_instant(clock: FixedClock) -> None:
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=TEHRAN))

    assert read(clock) == datetime(2026, 12, 31, 20, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_the_system_clock_gives_an_aware_utc_instant() -> None:
    before = datetime.now(UTC)
    now = read(SystemClock())

    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_an_instant_is_shown_in_tehran_wall_clock_time() -> None:
    local = in_tehran(datetime(2026, 11, 26, 6, 30, tzinfo=UTC))

    assert (local.hour, local.minute) == (10, 0)
    assert local.utcoffset() == timedelta(hours=3, minutes=30)


def test_a_naive_instant_cannot_be_shown_in_tehran_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        in_tehran(NAIVE)


def test_a_shifted_clock_runs_with_real_time_a_constant_ahead() -> None:
    shift = timedelta(hours=9)
    before = datetime.now(UTC)
    shifted = ShiftedClock(shift).now()
    after = datetime.now(UTC)
    assert shifted.tzinfo is not None
    assert before + shift <= shifted <= after + shift


def test_the_city_runs_shifted_only_when_told_and_never_in_production(tmp_path: Path) -> None:
    assert isinstance(bootstrap.build(Settings(var_dir=tmp_path)).clock, SystemClock)
    shifted = bootstrap.build(Settings(var_dir=tmp_path, clock_shift_s=3600)).clock
    assert isinstance(shifted, ShiftedClock)
    assert shifted.shift == timedelta(hours=1)
    with pytest.raises(ValidationError, match="SHAHR_CLOCK_SHIFT_S"):
        Settings(environment="production", secret_key="k" * 32, clock_shift_s=3600)
