"""Persian text: normalising what people type, digits, and Jalali dates in Tehran time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.kernel.persian import (
    ARABIC_INDIC_DIGITS,
    PERSIAN_DIGITS,
    ascii_digits,
    format_jalali,
    jalali,
    normalise,
    persian_digits,
)

NOWRUZ_1405 = datetime(2026, 3, 20, 20, 30, tzinfo=UTC)  # midnight in Tehran, +03:30


def test_arabic_yeh_and_kaf_become_the_persian_letters() -> None:
    assert normalise("علي") == "علی"
    assert normalise("كرج") == "کرج"
    assert normalise("مصطفى") == "مصطفی"


def test_arabic_ae_becomes_the_persian_heh() -> None:
    assert normalise("خانە") == "خانه"


def test_heh_with_yeh_above_is_spelled_as_heh_and_hamza() -> None:
    assert normalise("خانۀ") == "خانهٔ"


def test_persian_and_arabic_indic_digits_become_ascii() -> None:
    assert normalise("۰۹۱۲۳۴۵۶۷۸۹") == "09123456789"
    assert normalise("٠٩١٢٣٤٥٦٧٨٩") == "09123456789"


def test_direction_marks_are_dropped_and_spaces_collapsed() -> None:
    assert normalise("\u200f  منطقه \n\t ۲\u200e  ") == "منطقه 2"


def test_the_zero_width_non_joiner_of_persian_words_is_kept() -> None:
    assert normalise("می\u200cروم") == "می\u200cروم"


def test_text_is_composed_to_nfc() -> None:
    assert normalise("e\u0301") == "\u00e9"


def test_normalising_twice_changes_nothing_when_a_direction_mark_sat_before_an_accent() -> None:
    once = normalise("A\u200f\u0301")

    assert normalise(once) == once == "\u00c1"


@given(st.text())
def test_normalising_twice_is_the_same_as_normalising_once(text: str) -> None:
    once = normalise(text)

    assert normalise(once) == once


@given(st.text(alphabet="يىكە\u200f\u200e۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩ \t\n"))
def test_no_arabic_letter_persian_digit_or_direction_mark_survives_normalising(
    text: str,
) -> None:
    assert not set(normalise(text)) & set("يىكە\u200f\u200e" + PERSIAN_DIGITS + ARABIC_INDIC_DIGITS)


@given(st.integers(min_value=0))
def test_persian_digits_read_back_as_the_same_number(number: int) -> None:
    shown = persian_digits(str(number))

    assert set(shown) <= set(PERSIAN_DIGITS)
    assert int(ascii_digits(shown)) == number


def test_only_ascii_digits_change_into_persian_ones() -> None:
    assert persian_digits("پلاک 12 ب") == "پلاک ۱۲ ب"
    assert persian_digits("10:30") == "۱۰:۳۰"


@pytest.mark.parametrize(
    ("moment", "year", "month", "day"),
    [
        (NOWRUZ_1405, 1405, 1, 1),
        (NOWRUZ_1405 - timedelta(minutes=1), 1404, 12, 29),
        (datetime(2026, 3, 21, 8, 30, tzinfo=UTC), 1405, 1, 1),
        (datetime(2025, 3, 20, 20, 30, tzinfo=UTC), 1404, 1, 1),
        (datetime(2026, 6, 21, 8, 30, tzinfo=UTC), 1405, 3, 31),
        (datetime(2026, 11, 26, 6, 30, tzinfo=UTC), 1405, 9, 5),
        (datetime(1979, 2, 11, 12, 0, tzinfo=UTC), 1357, 11, 22),
        (datetime(2000, 1, 1, 0, 0, tzinfo=UTC), 1378, 10, 11),
    ],
)
def test_known_dates_fall_on_their_jalali_day_in_tehran(
    moment: datetime, year: int, month: int, day: int
) -> None:
    local = jalali(moment)

    assert (local.year, local.month, local.day) == (year, month, day)


def test_the_jalali_day_follows_tehran_midnight_not_utc_midnight() -> None:
    late_evening_utc = datetime(2026, 3, 20, 21, 0, tzinfo=UTC)  # 00:30 on 21 March in Tehran

    assert (jalali(late_evening_utc).month, jalali(late_evening_utc).day) == (1, 1)
    assert (jalali(late_evening_utc).hour, jalali(late_evening_utc).minute) == (0, 30)


def test_an_instant_in_any_zone_gives_the_same_tehran_time() -> None:
    in_utc = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    in_berlin = in_utc.astimezone(timezone(timedelta(hours=1)))

    assert jalali(in_berlin) == jalali(in_utc)


def test_tehran_keeps_plus_three_thirty_in_summer_since_daylight_saving_ended() -> None:
    assert format_jalali(datetime(2026, 6, 21, 8, 30, tzinfo=UTC), "en") == "31 Khordad 1405, 12:00"


def test_a_date_reads_in_persian_with_persian_digits_and_month_names() -> None:
    moment = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)

    assert format_jalali(moment) == "۵ آذر ۱۴۰۵، ۱۰:۰۰"
    assert format_jalali(moment, "fa", with_time=False) == "۵ آذر ۱۴۰۵"


def test_a_date_reads_in_english_with_transliterated_month_names() -> None:
    moment = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)

    assert format_jalali(moment, "en") == "5 Azar 1405, 10:00"
    assert format_jalali(moment, "en", with_time=False) == "5 Azar 1405"
    assert format_jalali(NOWRUZ_1405, "en") == "1 Farvardin 1405, 00:00"


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 21, 12, 0)  # noqa: DTZ001  the point of the test

    with pytest.raises(ValueError, match="naive"):
        jalali(naive)
    with pytest.raises(ValueError, match="naive"):
        format_jalali(naive)
