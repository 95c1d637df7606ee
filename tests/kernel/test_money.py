"""Money: integer Rial, shown with Persian digits and separators, Toman only on screen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.kernel.money import (
    PERSIAN_THOUSANDS_SEPARATOR,
    format_rial,
    format_toman,
    group_thousands,
    rial,
)
from shahr.kernel.persian import ascii_digits


def test_persian_amounts_use_persian_digits_and_the_persian_thousands_separator() -> None:
    assert group_thousands(1_234_567) == "۱٬۲۳۴٬۵۶۷"
    assert PERSIAN_THOUSANDS_SEPARATOR == "٬"


def test_english_amounts_use_ascii_digits_and_commas() -> None:
    assert group_thousands(1_234_567, "en") == "1,234,567"


def test_small_amounts_have_no_separator() -> None:
    assert group_thousands(999) == "۹۹۹"
    assert group_thousands(0) == "۰"


def test_rial_amounts_say_rial() -> None:
    assert format_rial(250_000) == "۲۵۰٬۰۰۰ ریال"
    assert format_rial(250_000, "en") == "250,000 Rial"


def test_toman_is_a_tenth_of_the_rial_amount() -> None:
    assert format_toman(rial(250_000)) == "۲۵٬۰۰۰ تومان"
    assert format_toman(rial(250_000), "en") == "25,000 Toman"


def test_toman_drops_a_trailing_half_toman() -> None:
    assert format_toman(rial(1_234_567), "en") == "123,456 Toman"


def test_a_negative_toman_amount_rounds_towards_zero_too() -> None:
    assert format_toman(rial(-15), "en") == "-1 Toman"
    assert format_toman(rial(-1_234_567), "en") == "-123,456 Toman"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_persian_amount_reads_back_as_the_same_number(amount: int) -> None:
    shown = group_thousands(amount)

    assert int(ascii_digits(shown).replace(PERSIAN_THOUSANDS_SEPARATOR, "")) == amount


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_toman_is_rial_divided_by_ten_towards_zero(amount: int) -> None:
    shown = format_toman(rial(amount), "en").removesuffix(" Toman").replace(",", "")

    assert abs(int(shown)) == abs(amount) // 10
    assert int(shown) * amount >= 0  # never on the other side of zero


def test_a_whole_number_of_rial_is_a_rial_amount() -> None:
    assert rial(10) == 10


@pytest.mark.parametrize("amount", [1.5, 10.0, True, "10", None])
def test_only_integers_are_rial_amounts(amount: object) -> None:
    with pytest.raises(TypeError):
        rial(amount)  # type: ignore[arg-type]  # refusing the wrong type is the point
