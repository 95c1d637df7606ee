"""Windows and quotes: when a bay may be booked, and a signed price nobody can change."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.bootstrap import Container
from shahr.kernel.clock import TEHRAN, FixedClock, in_tehran
from shahr.kernel.plates import InvalidPlateError
from shahr.parking import services
from shahr.parking.domain import (
    BayKindMismatchError,
    BayNotFoundError,
    HolidayCalendar,
    InvalidQuoteError,
    InvalidWindowError,
    ParkingPolicy,
    QuoteClaims,
    QuoteExpiredError,
    QuoteSigner,
    TimeWindow,
    UnknownVehicleError,
    VehicleKind,
    VehicleKindMismatchError,
    ZoneRules,
    check_quote_usable,
    check_window,
)
from shahr.parking.services import shipped_holidays

from .flows import CAR, CITIZEN, DISABLED, MOTORCYCLE, OTHER, bay_of, seeded_ports

RULES = ZoneRules()
POLICY = ParkingPolicy()
HOLIDAYS = shipped_holidays()
# Thursday 5 Azar 1405, 10:00 in Tehran: the tests' fixed "now".
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TEHRAN)
DATA = Path(__file__).resolve().parents[2] / "src" / "shahr" / "parking" / "data"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TEHRAN)


def check(start: datetime, minutes: int, *, rules: ZoneRules = RULES, now: datetime = NOW) -> None:
    window = TimeWindow(start, start + timedelta(minutes=minutes))
    check_window(window, rules, HOLIDAYS, POLICY, now=now)


def refusal(start: datetime, minutes: int, **kw: object) -> InvalidWindowError:
    with pytest.raises(InvalidWindowError) as refused:
        check(start, minutes, **kw)  # type: ignore[arg-type]
    return refused.value


def test_a_window_inside_the_hours_of_a_working_day_is_accepted() -> None:
    check(at(26, 10, 30), 60)
    check(at(28, 6), 900)  # Saturday 06:00 to 21:00, the longest stay
    check(at(28, 21), 60)  # Saturday, ending at closing time


def test_a_window_in_the_past_is_refused_but_now_is_not() -> None:
    assert refusal(at(26, 9), 120).message == "This time has already passed."
    check(NOW - timedelta(minutes=1), 60)  # "now", sent a moment late


def test_a_window_too_far_ahead_is_refused() -> None:
    refused = refusal(at(26, 10) + timedelta(days=7, minutes=30), 60)
    assert (refused.field, refused.params) == ("starts_at", {"days": 7})


def test_fridays_and_official_holidays_are_days_off() -> None:
    assert "Fridays" in refusal(at(27, 10), 60).message
    holiday = datetime(2026, 12, 23, 10, tzinfo=TEHRAN)  # the birth of Imam Ali, 2 Dey 1405
    assert "holidays" in refusal(holiday, 60, now=holiday - timedelta(days=1)).message


def test_a_window_outside_the_operating_hours_is_refused() -> None:
    early = refusal(at(28, 5, 30), 60)
    late = refusal(at(28, 21, 30), 60)
    assert (early.field, late.field) == ("starts_at", "ends_at")
    assert early.params == {"opens": 6, "closes": 22}
    half_hours = refusal(at(28, 7), 60, rules=ZoneRules(opens_min=7 * 60 + 30))
    assert half_hours.params == {"opens": "07:30", "closes": "22:00"}


def test_stays_shorter_or_longer_than_the_zone_allows_are_refused() -> None:
    assert refusal(at(26, 11), 30).params == {"minutes": 60}
    assert refusal(at(26, 11), 180, rules=ZoneRules(max_stay_min=120)).params == {"minutes": 120}


def test_times_must_be_whole_minutes_and_end_after_the_start() -> None:
    assert refusal(at(26, 11) + timedelta(seconds=30), 60).field == "starts_at"
    assert refusal(at(26, 11), 0).field == "ends_at"


working_days = st.sampled_from([date(2026, 11, d) for d in (26, 28, 29, 30)] + [date(2026, 12, 1)])


@given(working_days, st.integers(6 * 60, 21 * 60), st.integers(60, 900))
def test_any_window_inside_hours_and_stays_on_a_working_day_is_accepted(
    day: date, start_min: int, minutes: int
) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=TEHRAN) + timedelta(minutes=start_min)
    if start_min + minutes > 22 * 60 or start < NOW:
        return
    check(start, minutes)


@given(
    st.integers(0, 10 * 24 * 60),
    st.integers(1, 24 * 60),
    st.integers(0, 23 * 60),
    st.integers(1, 24 * 60),
)
def test_an_accepted_window_always_lies_in_the_rules(
    offset_min: int, minutes: int, opens: int, span: int
) -> None:
    rules = ZoneRules(opens_min=opens, closes_min=min(24 * 60, opens + span), max_stay_min=900)
    start = NOW + timedelta(minutes=offset_min)
    try:
        check(start, minutes, rules=rules)
    except InvalidWindowError:
        return
    local_start, local_end = in_tehran(start), in_tehran(start + timedelta(minutes=minutes))
    assert local_start.weekday() != 4
    assert HOLIDAYS.holiday(local_start.date()) is None
    assert rules.min_stay_min <= minutes <= rules.max_stay_min
    assert local_start.hour * 60 + local_start.minute >= rules.opens_min
    end_min = (local_end.date() - local_start.date()).days * 1440 + local_end.hour * 60
    assert end_min + local_end.minute <= rules.closes_min
    assert start <= NOW + POLICY.max_advance


def test_the_holiday_table_of_1405_is_data_with_25_days() -> None:
    with (DATA / "holidays_1405.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    days = [date.fromisoformat(row["date"]) for row in rows]

    assert len(rows) == 25
    assert min(days) == date(2026, 3, 21)
    assert max(days) == date(2027, 3, 20)
    assert all(HOLIDAYS.holiday(day) is not None for day in days)
    assert HOLIDAYS.holiday(date(2026, 11, 26)) is None
    assert isinstance(HOLIDAYS, HolidayCalendar)


# --- the signed quote -----------------------------------------------------------------------

SIGNER = QuoteSigner(b"k" * 32)
CLAIMS = QuoteClaims(
    quote_id="q-1",
    citizen_id=CITIZEN,
    bay_id=7,
    plate=CAR,
    vehicle_kind=VehicleKind.car,
    window=TimeWindow(at(26, 11), at(26, 12)),
    amount_rial=60_000,
    tariff_version="1403",
    expires_at=NOW + timedelta(minutes=10),
)


def test_a_quote_reads_back_as_signed() -> None:
    assert SIGNER.read(SIGNER.sign(CLAIMS)) == CLAIMS


def test_a_changed_byte_or_another_key_makes_a_quote_invalid() -> None:
    token = SIGNER.sign(CLAIMS)
    payload, mac = token.split(".")
    tampered = ("A" if payload[5] != "A" else "B").join((payload[:5], payload[6:])) + "." + mac
    for bad in (tampered, QuoteSigner(b"x" * 32).sign(CLAIMS), "", "nonsense", token + "x"):
        with pytest.raises(InvalidQuoteError) as refused:
            SIGNER.read(bad)
        assert refused.value.field == "quote_token"


def test_a_quote_is_only_its_citizens_and_only_until_it_expires() -> None:
    check_quote_usable(CLAIMS, citizen_id=CITIZEN, now=NOW)
    with pytest.raises(InvalidQuoteError):
        check_quote_usable(CLAIMS, citizen_id=OTHER, now=NOW)
    with pytest.raises(QuoteExpiredError):
        check_quote_usable(CLAIMS, citizen_id=CITIZEN, now=CLAIMS.expires_at)


# --- quoting a bay ------------------------------------------------------------------------


async def test_a_quote_prices_the_window_with_its_breakdown_and_expiry(
    container: Container, clock: FixedClock
) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-A1", 1)

    quote = await services.quote_bay(
        ports,
        citizen_id=CITIZEN,
        bay_id=bay.id,
        plate="۱۲ ب ۳۴۵ ایران ۶۷",
        starts_at=at(26, 10, 30),
        ends_at=at(26, 13, 30),
    )

    assert quote.claims.plate == CAR
    assert quote.claims.vehicle_kind is VehicleKind.car
    assert quote.claims.expires_at == clock.now() + timedelta(minutes=10)
    assert (quote.price.first_units, quote.price.later_units) == (4, 2)
    assert quote.price.total_rial == 4 * 54_000 + 2 * 70_200
    assert ports.quotes.read(quote.token) == quote.claims


async def test_a_quote_without_a_start_starts_now(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D1", 2)

    quote = await services.quote_bay(
        ports, citizen_id=CITIZEN, bay_id=bay.id, plate=CAR, duration_min=60
    )

    assert quote.claims.window == TimeWindow(at(26, 10), at(26, 11))


async def test_only_the_citizens_own_vehicles_can_be_quoted(container: Container) -> None:
    ports = await seeded_ports(container)
    bay = await bay_of(ports, "TEST-D1", 2)

    with pytest.raises(UnknownVehicleError) as unknown:
        await services.quote_bay(ports, citizen_id=OTHER, bay_id=bay.id, plate=CAR, duration_min=60)
    with pytest.raises(VehicleKindMismatchError) as mismatch:
        await services.quote_bay(
            ports, citizen_id=CITIZEN, bay_id=bay.id, plate=CAR, vehicle_kind="van", duration_min=60
        )
    with pytest.raises(InvalidPlateError) as bad:
        await services.quote_bay(
            ports, citizen_id=CITIZEN, bay_id=bay.id, plate="12345", duration_min=60
        )

    assert (unknown.value.field, mismatch.value.field, bad.value.field) == (
        "plate",
        "vehicle_kind",
        "plate",
    )


async def test_a_bay_takes_only_the_vehicles_its_kind_allows(container: Container) -> None:
    ports = await seeded_ports(container)
    car_bay = await bay_of(ports, "TEST-A1", 1)
    disabled_bay = await bay_of(ports, "TEST-A1", 7)
    motorcycle_bay = await bay_of(ports, "TEST-A1", 8)

    async def quote(bay_id: int, plate: str) -> int:
        found = await services.quote_bay(
            ports, citizen_id=CITIZEN, bay_id=bay_id, plate=plate, duration_min=60
        )
        return found.price.total_rial

    assert await quote(motorcycle_bay.id, MOTORCYCLE) == 21_600
    assert await quote(disabled_bay.id, DISABLED) == 108_000
    for bay_id, plate in (
        (car_bay.id, MOTORCYCLE),
        (disabled_bay.id, CAR),
        (motorcycle_bay.id, CAR),
    ):
        with pytest.raises(BayKindMismatchError):
            await quote(bay_id, plate)


async def test_an_unknown_bay_is_not_found(container: Container) -> None:
    ports = await seeded_ports(container)

    with pytest.raises(BayNotFoundError):
        await services.quote_bay(
            ports, citizen_id=CITIZEN, bay_id=99_999, plate=CAR, duration_min=60
        )
