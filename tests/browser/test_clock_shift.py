"""The browser suite's clock: in working hours whenever it runs, untouched when already so."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shahr.kernel.clock import TEHRAN
from shahr.parking.domain import ZoneRules, day_off
from shahr.parking.services import shipped_holidays

from .conftest import JOURNEY_NEEDS, shift_into_working_hours


def test_a_working_afternoon_is_left_as_it_is() -> None:
    thursday_afternoon = datetime(2026, 11, 26, 15, 0, tzinfo=TEHRAN)
    assert shift_into_working_hours(thursday_afternoon) == timedelta(0)


@pytest.mark.parametrize(
    "real",
    [
        datetime(2026, 11, 26, 21, 0, tzinfo=TEHRAN),  # Thursday, too late for the journey
        datetime(2026, 11, 27, 12, 0, tzinfo=TEHRAN),  # Friday
        datetime(2026, 11, 28, 3, 0, tzinfo=TEHRAN),  # before the meters open
    ],
)
def test_outside_working_hours_the_city_runs_at_the_next_working_morning(real: datetime) -> None:
    shifted = real + shift_into_working_hours(real)
    rules = ZoneRules()
    assert (shifted.hour, shifted.minute) == (9, 0)
    assert not day_off(shifted.date(), rules, shipped_holidays())
    assert shifted + JOURNEY_NEEDS <= shifted.replace(hour=0) + timedelta(minutes=rules.closes_min)
    assert shifted > real
