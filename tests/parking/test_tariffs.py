"""Tariffs: Tehran's 1403 tariff as data, each started half-hour billed, integer Rial only."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.parking.domain import (
    BASIS_POINTS,
    NoTariffError,
    RateGroup,
    Rates,
    StreetClass,
    Tariff,
    TariffBook,
    TariffFileError,
    VehicleKind,
    parse_tariffs,
    scale_bp,
)
from shahr.parking.services import shipped_tariffs

TARIFF_1403 = shipped_tariffs().version("1403")
CLASSES = list(StreetClass)  # A, B, C, D: dearest first
durations = st.integers(min_value=0, max_value=24 * 60)
kinds = st.sampled_from(list(VehicleKind))
classes = st.sampled_from(CLASSES)


def total(
    minutes: int, kind: VehicleKind, street_class: StreetClass, tariff: Tariff = TARIFF_1403
) -> int:
    return tariff.price(minutes, kind, street_class).total_rial


@pytest.mark.parametrize(
    ("minutes", "kind", "street_class", "rial"),
    [
        (60, VehicleKind.car, StreetClass.D, 60_000),
        (60, VehicleKind.car, StreetClass.A, 108_000),
        (180, VehicleKind.car, StreetClass.D, 198_000),
        (60, VehicleKind.motorcycle, StreetClass.D, 12_000),
        (60, VehicleKind.van, StreetClass.D, 60_000),
        (60, VehicleKind.light_truck, StreetClass.D, 122_000),
        (180, VehicleKind.minibus, StreetClass.D, 4 * 61_000 + 2 * 75_000),
        (60, VehicleKind.car, StreetClass.B, 84_000),
        (60, VehicleKind.car, StreetClass.C, 72_000),
        (150, VehicleKind.car, StreetClass.A, 4 * 54_000 + 70_200),
    ],
)
def test_the_worked_examples_of_the_1403_tariff_hold(
    minutes: int, kind: VehicleKind, street_class: StreetClass, rial: int
) -> None:
    assert total(minutes, kind, street_class) == rial


def test_each_started_half_hour_is_billed() -> None:
    assert total(1, VehicleKind.car, StreetClass.D) == 30_000
    assert total(30, VehicleKind.car, StreetClass.D) == 30_000
    assert total(31, VehicleKind.car, StreetClass.D) == 60_000
    assert total(61, VehicleKind.car, StreetClass.D) == 90_000


def test_the_higher_rate_starts_only_after_the_first_two_hours() -> None:
    two_hours = TARIFF_1403.price(120, VehicleKind.car, StreetClass.D)
    a_minute_more = TARIFF_1403.price(121, VehicleKind.car, StreetClass.D)

    assert (two_hours.first_units, two_hours.later_units) == (4, 0)
    assert (a_minute_more.first_units, a_minute_more.later_units) == (4, 1)
    assert a_minute_more.total_rial - two_hours.total_rial == 39_000


def test_the_breakdown_names_units_rates_multiplier_and_share() -> None:
    price = TARIFF_1403.price(180, VehicleKind.motorcycle, StreetClass.A)

    assert price.tariff_version == "1403"
    assert (price.billed_units, price.first_units, price.later_units) == (6, 4, 2)
    assert (price.base_first_rial, price.base_later_rial) == (30_000, 39_000)
    assert (price.class_multiplier_bp, price.vehicle_share_bp) == (18_000, 2_000)
    # 30,000 x 1.8 x 20 % and 39,000 x 1.8 x 20 %, exactly, in integer arithmetic.
    assert (price.first_unit_rial, price.later_unit_rial) == (10_800, 14_040)
    assert price.total_rial == 4 * 10_800 + 2 * 14_040


def test_a_free_first_half_hour_and_the_higher_rate_threshold_are_configurable() -> None:
    generous = Tariff(
        version="test",
        effective_from=date(2026, 1, 1),
        rates=TARIFF_1403.rates,
        vehicle_groups=TARIFF_1403.vehicle_groups,
        class_multiplier_bp=TARIFF_1403.class_multiplier_bp,
        vehicle_share_bp=TARIFF_1403.vehicle_share_bp,
        free_first_min=30,
        higher_after_min=60,
    )

    price = generous.price(120, VehicleKind.car, StreetClass.D)

    assert (price.free_units, price.first_units, price.later_units) == (1, 1, 2)
    assert price.total_rial == 30_000 + 2 * 39_000
    assert price.free_rial == 30_000
    assert generous.price(30, VehicleKind.car, StreetClass.D).total_rial == 0


def test_the_tariff_in_force_is_the_newest_that_has_started() -> None:
    document = {
        "tariffs": [
            {**_entry("1403"), "effective_from": "2024-03-20"},
            {
                **_entry("1405"),
                "effective_from": "2026-03-21",
                "rates_rial": {"light": [40000, 50000], "heavy": [80000, 90000]},
            },
        ]
    }
    book = parse_tariffs(document)

    assert book.in_force(date(2026, 3, 20)).version == "1403"
    assert book.in_force(date(2026, 3, 21)).version == "1405"
    assert book.version("1403").price(60, VehicleKind.car, StreetClass.D).total_rial == 60_000
    with pytest.raises(NoTariffError):
        book.in_force(date(2024, 3, 19))


def test_the_shipped_book_starts_with_the_1403_tariff_on_1_farvardin_1403() -> None:
    tariff = shipped_tariffs().in_force(date(2026, 11, 26))

    assert tariff.version == "1403"
    assert tariff.effective_from == date(2024, 3, 20)
    assert tariff.rates[RateGroup.light] == Rates(30_000, 39_000)
    assert tariff.rates[RateGroup.heavy] == Rates(61_000, 75_000)


def test_a_tariff_is_named_by_its_year_and_revision_and_its_prices_carry_the_name() -> None:
    shipped = shipped_tariffs().in_force(date(2026, 12, 5))
    revised = parse_tariffs({"tariffs": [{**_entry("1405b"), "year": 1405, "revision": 2}]})
    unnamed = parse_tariffs({"tariffs": [{**_entry("x"), "effective_from": "2026-03-21"}]})

    assert (shipped.year, shipped.revision) == (1403, 1)
    price = revised.version("1405b").price(60, VehicleKind.car, StreetClass.D)
    assert (price.tariff_year, price.tariff_revision) == (1405, 2)
    # Without a year, a tariff is named by the Jalali year it takes effect in (1 Farvardin 1405).
    assert (unnamed.version("x").year, unnamed.version("x").revision) == (1405, 1)


def test_a_malformed_tariff_is_refused() -> None:
    with pytest.raises(TariffFileError):
        parse_tariffs({"tariffs": [{**_entry("x"), "higher_after_min": 45}]})
    with pytest.raises(TariffFileError):
        parse_tariffs({"tariffs": [{**_entry("x"), "class_multiplier_bp": {"A": 18000}}]})
    with pytest.raises(TariffFileError):
        parse_tariffs({"tariffs": [{**_entry("x"), "revision": 0}]})
    with pytest.raises(TariffFileError):
        TariffBook(())


def _entry(version: str) -> dict[str, object]:
    return {
        "version": version,
        "effective_from": "2024-03-20",
        "rates_rial": {"light": [30000, 39000], "heavy": [61000, 75000]},
        "vehicle_groups": {
            k.value: ("heavy" if k in (VehicleKind.light_truck, VehicleKind.minibus) else "light")
            for k in VehicleKind
        },
        "vehicle_share_bp": {"motorcycle": 2000},
        "class_multiplier_bp": {"A": 18000, "B": 14000, "C": 12000, "D": 10000},
    }


# --- properties ---------------------------------------------------------------------------


@given(durations, durations, kinds, classes)
def test_the_price_never_falls_as_the_stay_grows(
    a: int, b: int, kind: VehicleKind, cls: StreetClass
) -> None:
    shorter, longer = sorted((a, b))
    assert total(shorter, kind, cls) <= total(longer, kind, cls)


@given(durations, kinds, classes)
def test_the_billed_half_hours_are_the_duration_rounded_up(
    minutes: int, kind: VehicleKind, cls: StreetClass
) -> None:
    price = TARIFF_1403.price(minutes, kind, cls)
    assert price.billed_units == math.ceil(minutes / 30)
    assert price.free_units + price.first_units + price.later_units == price.billed_units
    assert (
        price.total_rial
        == price.first_units * price.first_unit_rial + price.later_units * price.later_unit_rial
    )
    assert isinstance(price.total_rial, int)


@given(durations, kinds)
def test_a_busier_street_class_never_costs_less(minutes: int, kind: VehicleKind) -> None:
    prices = [total(minutes, kind, cls) for cls in CLASSES]
    assert prices == sorted(prices, reverse=True)


@given(durations, classes)
def test_a_motorcycle_pays_a_fifth_of_a_car(minutes: int, cls: StreetClass) -> None:
    assert 5 * total(minutes, VehicleKind.motorcycle, cls) == total(minutes, VehicleKind.car, cls)


@given(durations, classes)
def test_a_light_truck_never_pays_less_than_a_car(minutes: int, cls: StreetClass) -> None:
    assert total(minutes, VehicleKind.light_truck, cls) >= total(minutes, VehicleKind.car, cls)


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=5 * BASIS_POINTS),
    st.integers(min_value=0, max_value=BASIS_POINTS),
)
def test_scaling_by_basis_points_rounds_half_up_exactly(
    amount: int, factor: int, share: int
) -> None:
    exact_times_2 = 2 * amount * factor * share
    denominator = BASIS_POINTS * BASIS_POINTS
    scaled = scale_bp(amount, factor, share)
    # scaled is the nearest integer, halves going up: |2·scaled·d − 2·exact| ≤ d.
    assert -denominator < 2 * scaled * denominator - exact_times_2 <= denominator


@given(
    st.integers(min_value=1, max_value=200_000),
    st.integers(min_value=1, max_value=200_000),
    st.sampled_from([0, 30, 60]),
    st.sampled_from([30, 60, 120, 180]),
    durations,
    durations,
)
def test_any_tariff_is_monotone_and_whole(
    first: int, later: int, free_min: int, higher_after: int, a: int, b: int
) -> None:
    tariff = Tariff(
        version="generated",
        effective_from=date(2026, 1, 1),
        rates={RateGroup.light: Rates(first, later), RateGroup.heavy: Rates(first, later)},
        vehicle_groups=TARIFF_1403.vehicle_groups,
        class_multiplier_bp=TARIFF_1403.class_multiplier_bp,
        vehicle_share_bp={VehicleKind.motorcycle: 2_500},
        free_first_min=free_min,
        higher_after_min=higher_after,
    )
    shorter, longer = sorted((a, b))
    for kind in (VehicleKind.car, VehicleKind.motorcycle):
        low, high = (tariff.price(m, kind, StreetClass.C).total_rial for m in (shorter, longer))
        assert 0 <= low <= high
