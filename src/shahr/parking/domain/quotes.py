"""When a bay may be booked, and quotes: a signed price for one bay, plate and window.

Pure: times come in as arguments. A window is checked in Tehran's wall-clock time against
its zone's rules (hours, days off, minimum and maximum stay) and the city's policy (how
far ahead, how long a quote or an unpaid hold lasts). A quote travels as a token signed
with HMAC-SHA256, so the price a citizen saw cannot be changed on the way back and the
server keeps no quote rows.
"""

from __future__ import annotations

import csv
import hmac
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from shahr.kernel.clock import in_tehran
from shahr.kernel.errors import DomainError
from shahr.kernel.signing import TokenSigner
from shahr.parking.domain.inventory import ZoneRules
from shahr.parking.domain.tariffs import TariffBook, VehicleKind

MINUTE = timedelta(minutes=1)
FRIDAY = 4  # date.weekday(): Monday is 0; Tehran's weekend is Friday
MAX_TOKEN_CHARS = 1_000


class InvalidWindowError(DomainError):
    """The window breaks a rule of the zone or of the city's policy."""


class InvalidQuoteError(DomainError):
    """The quote token is not one we signed, or not the caller's."""


class QuoteExpiredError(DomainError):
    """The quote's time to reserve has run out."""


class EndEarlyRefund(StrEnum):
    """What ending a stay early gives back."""

    none = "none"
    unused_units = "unused_units"  # the whole unused half-hours, at the rates they cost


@dataclass(frozen=True)
class ParkingPolicy:
    """The city's booking policy; per-zone rules live on the zone."""

    quote_ttl: timedelta = timedelta(minutes=10)
    # As long as the PSP gives the citizen at the bank's page (payments' PAYMENT_WINDOW).
    payment_hold: timedelta = timedelta(minutes=15)
    max_advance: timedelta = timedelta(days=7)
    # A window that starts this little in the past still counts as "now".
    start_grace: timedelta = timedelta(minutes=2)
    reminder_before: timedelta = timedelta(minutes=10)
    end_early_refund: EndEarlyRefund = EndEarlyRefund.unused_units
    alternatives: int = 5
    alternatives_within_m: float = 1_000.0


@dataclass(frozen=True)
class ParkingRules:
    """Everything a price or a window is judged by, besides the zone: data and policy."""

    tariffs: TariffBook
    holidays: HolidayCalendar
    policy: ParkingPolicy = field(default_factory=ParkingPolicy)


@dataclass(frozen=True)
class TimeWindow:
    """[starts_at, ends_at): aware instants, half-open like the database's range."""

    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("a window's times are aware")

    @property
    def duration_min(self) -> int:
        return (self.ends_at - self.starts_at) // MINUTE

    def overlaps(self, other: TimeWindow) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def next_whole_minute(moment: datetime) -> datetime:
    """`moment` rounded up to a whole minute: "now" as a window's start."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


@dataclass(frozen=True)
class Holiday:
    day: date
    name_fa: str
    name_en: str
    basis: str


@dataclass(frozen=True)
class HolidayCalendar:
    """Official holidays by Gregorian date (the table is data, see `parking/data/`)."""

    holidays: Mapping[date, Holiday] = field(default_factory=dict)

    def holiday(self, day: date) -> Holiday | None:
        return self.holidays.get(day)


def parse_holidays(text: str) -> HolidayCalendar:
    """Read `date,jalali,name_fa,name_en,basis` rows into a calendar."""
    found: dict[date, Holiday] = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        day = date.fromisoformat(row["date"].strip())
        if day in found:
            raise ValueError(f"holiday {day} appears twice")
        found[day] = Holiday(day, row["name_fa"].strip(), row["name_en"].strip(), row["basis"])
    return HolidayCalendar(found)


def day_off(day: date, rules: ZoneRules, holidays: HolidayCalendar) -> bool:
    """Street parking does not run (and is free) on Fridays and official holidays."""
    if rules.fridays_off and day.weekday() == FRIDAY:
        return True
    return rules.holidays_off and holidays.holiday(day) is not None


def check_window(
    window: TimeWindow,
    rules: ZoneRules,
    holidays: HolidayCalendar,
    policy: ParkingPolicy,
    *,
    now: datetime,
) -> None:
    """Refuse a window that cannot be booked in this zone now, naming the field to fix."""
    check_whole_minutes(window)
    if window.starts_at < now - policy.start_grace or window.ends_at <= now:
        raise InvalidWindowError("This time has already passed.", field="starts_at")
    if window.starts_at > now + policy.max_advance:
        raise InvalidWindowError(
            "You can book at most {days} days ahead.",
            field="starts_at",
            days=policy.max_advance.days,
        )
    check_open(window, rules, holidays)
    check_stay_length(window.duration_min, rules)


def check_whole_minutes(window: TimeWindow) -> None:
    for name in ("starts_at", "ends_at"):
        moment: datetime = getattr(window, name)
        if moment.second or moment.microsecond:
            raise InvalidWindowError("Give times in whole minutes.", field=name)
    if window.ends_at <= window.starts_at:
        raise InvalidWindowError("The stay must end after it starts.", field="ends_at")


def check_open(window: TimeWindow, rules: ZoneRules, holidays: HolidayCalendar) -> None:
    """The window lies inside one operating day's hours, on a day the zone runs."""
    start, end = in_tehran(window.starts_at), in_tehran(window.ends_at)
    if rules.fridays_off and start.date().weekday() == FRIDAY:
        raise InvalidWindowError(
            "Street parking does not run on Fridays: parking is free and cannot be booked.",
            field="starts_at",
        )
    if day_off(start.date(), rules, holidays):
        raise InvalidWindowError(
            "Street parking does not run on official holidays: parking is free and cannot"
            " be booked.",
            field="starts_at",
        )
    start_min = start.hour * 60 + start.minute
    end_min = (end.date() - start.date()).days * 24 * 60 + end.hour * 60 + end.minute
    if start_min < rules.opens_min or end_min > rules.closes_min:
        raise hours_error(rules, field="starts_at" if start_min < rules.opens_min else "ends_at")


def hours_error(rules: ZoneRules, *, field: str) -> InvalidWindowError:
    opens_h, opens_m = divmod(rules.opens_min, 60)
    closes_h, closes_m = divmod(rules.closes_min, 60)
    if opens_m == 0 and closes_m == 0:
        return InvalidWindowError(
            "Street parking here runs from {opens} to {closes} o'clock, Tehran time.",
            field=field,
            opens=opens_h,
            closes=closes_h,
        )
    return InvalidWindowError(
        "Street parking here runs from {opens} to {closes}, Tehran time.",
        field=field,
        opens=f"{opens_h:02d}:{opens_m:02d}",
        closes=f"{closes_h:02d}:{closes_m:02d}",
    )


def check_stay_length(duration_min: int, rules: ZoneRules) -> None:
    if duration_min < rules.min_stay_min:
        raise InvalidWindowError(
            "A stay here must be at least {minutes} minutes.",
            field="ends_at",
            minutes=rules.min_stay_min,
        )
    if duration_min > rules.max_stay_min:
        raise InvalidWindowError(
            "A stay here may last at most {minutes} minutes.",
            field="ends_at",
            minutes=rules.max_stay_min,
        )


# --- quotes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteClaims:
    """What a quote promises: this price for this bay, plate and window, until `expires_at`."""

    quote_id: str
    citizen_id: str
    bay_id: int
    plate: str
    vehicle_kind: VehicleKind
    window: TimeWindow
    amount_rial: int
    tariff_version: str
    expires_at: datetime


class QuoteSigner:
    """Signs quotes and reads them back; a changed byte makes the token invalid."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._tokens = TokenSigner(key, purpose="quote", max_chars=MAX_TOKEN_CHARS)

    def sign(self, claims: QuoteClaims) -> str:
        return self._tokens.sign(
            {
                "q": claims.quote_id,
                "c": claims.citizen_id,
                "b": claims.bay_id,
                "p": claims.plate,
                "k": claims.vehicle_kind.value,
                "s": claims.window.starts_at.astimezone(UTC).isoformat(),
                "e": claims.window.ends_at.astimezone(UTC).isoformat(),
                "a": claims.amount_rial,
                "v": claims.tariff_version,
                "x": claims.expires_at.astimezone(UTC).isoformat(),
            }
        )

    def read(self, token: str) -> QuoteClaims:
        """The claims of a token this signer made; anything else is InvalidQuoteError."""
        body = self._tokens.read(token)
        if body is None:
            raise invalid_quote()
        try:
            return QuoteClaims(
                quote_id=str(body["q"]),
                citizen_id=str(body["c"]),
                bay_id=int(body["b"]),
                plate=str(body["p"]),
                vehicle_kind=VehicleKind(body["k"]),
                window=TimeWindow(
                    datetime.fromisoformat(body["s"]), datetime.fromisoformat(body["e"])
                ),
                amount_rial=int(body["a"]),
                tariff_version=str(body["v"]),
                expires_at=datetime.fromisoformat(body["x"]),
            )
        except (ValueError, KeyError, TypeError):
            raise invalid_quote() from None


def invalid_quote() -> InvalidQuoteError:
    return InvalidQuoteError("This quote is not valid. Ask for a new quote.", field="quote_token")


def check_quote_usable(claims: QuoteClaims, *, citizen_id: str, now: datetime) -> None:
    """The quote is the caller's and still open; someone else's reads as invalid."""
    if not hmac.compare_digest(claims.citizen_id.encode(), citizen_id.encode()):
        raise invalid_quote()
    if now >= claims.expires_at:
        raise QuoteExpiredError("This quote has expired. Ask for a new quote.", field="quote_token")
