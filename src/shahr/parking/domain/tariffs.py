"""Tariffs: what a stay costs, as data versioned by effective date.

Pure and in integer Rial. Each started unit (a half-hour by default) is billed; units after
`higher_after_min` cost the higher rate; the first `free_first_min` are free. A unit's
price is the group's rate times the street-class multiplier times the vehicle's share,
both in basis points, rounded half up to a whole Rial once per unit, so the total is a
count of identical unit prices and never drifts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from shahr.kernel.errors import DomainError
from shahr.kernel.money import Rial
from shahr.kernel.persian import jalali_year

BASIS_POINTS = 10_000


class VehicleKind(StrEnum):
    """The vehicle kinds of the tariff; the same words identity registers vehicles with."""

    car = "car"
    van = "van"
    light_truck = "light_truck"
    minibus = "minibus"
    motorcycle = "motorcycle"


class StreetClass(StrEnum):
    """Street grade (درجه معبر الف، ب، ج، د): busier streets cost more."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class RateGroup(StrEnum):
    """Which half-hour rates a vehicle pays: light (car, van) or heavy (light truck, minibus)."""

    light = "light"
    heavy = "heavy"


class NoTariffError(DomainError):
    """No tariff is in force on the day a stay starts."""


class TariffFileError(ValueError):
    """The shipped tariff data is malformed (a deployment error, not a user's)."""


@dataclass(frozen=True)
class Rates:
    """Rial per billing unit: before and after the higher rate starts."""

    first_rial: int
    later_rial: int


@dataclass(frozen=True)
class Price:
    """A stay's price and how it was reached, for the quote's breakdown."""

    tariff_version: str
    duration_min: int
    unit_min: int
    billed_units: int
    free_units: int
    first_units: int
    later_units: int
    first_unit_rial: Rial
    later_unit_rial: Rial
    base_first_rial: int
    base_later_rial: int
    class_multiplier_bp: int
    vehicle_share_bp: int
    total_rial: Rial
    # The tariff's own name: the (Jalali) year it was set for and its revision that year.
    tariff_year: int = 0
    tariff_revision: int = 1

    @property
    def free_rial(self) -> Rial:
        """What the free units would have cost: shown so the citizen sees the saving."""
        return Rial(self.free_units * self.first_unit_rial)


def scale_bp(amount: int, *factors_bp: int) -> int:
    """`amount` times each factor in basis points, rounded half up to a whole Rial."""
    numerator = amount
    denominator = 1
    for factor in factors_bp:
        numerator *= factor
        denominator *= BASIS_POINTS
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Tariff:
    """One version of the tariff, in force from `effective_from` (a Tehran calendar date)."""

    version: str
    effective_from: date
    rates: Mapping[RateGroup, Rates]
    vehicle_groups: Mapping[VehicleKind, RateGroup]
    class_multiplier_bp: Mapping[StreetClass, int]
    vehicle_share_bp: Mapping[VehicleKind, int] = field(default_factory=dict)
    unit_min: int = 30
    higher_after_min: int = 120
    free_first_min: int = 0
    source: str = ""
    # The Jalali year the tariff was set for (its name: "the 1403 tariff") and its
    # revision within that year; without a year, the year it takes effect in.
    year: int = 0
    revision: int = 1

    def __post_init__(self) -> None:
        if not self.year:
            object.__setattr__(self, "year", jalali_year(self.effective_from))
        if self.revision < 1:
            raise TariffFileError(f"tariff {self.version}: revisions are numbered from 1")
        if self.unit_min <= 0:
            raise TariffFileError(f"tariff {self.version}: the unit must be positive")
        for name in ("higher_after_min", "free_first_min"):
            value = getattr(self, name)
            if value < 0 or value % self.unit_min:
                raise TariffFileError(
                    f"tariff {self.version}: {name} must be a whole number of units"
                )
        if set(self.vehicle_groups) != set(VehicleKind):
            raise TariffFileError(f"tariff {self.version}: name a rate group for every vehicle")
        if set(self.class_multiplier_bp) != set(StreetClass):
            raise TariffFileError(f"tariff {self.version}: name a multiplier for every class")
        missing = {g for g in self.vehicle_groups.values() if g not in self.rates}
        if missing:
            raise TariffFileError(f"tariff {self.version}: no rates for {sorted(missing)}")
        values = [v for r in self.rates.values() for v in (r.first_rial, r.later_rial)]
        values += [*self.class_multiplier_bp.values(), *self.vehicle_share_bp.values()]
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values):
            raise TariffFileError(f"tariff {self.version}: rates and factors are whole >= 0")

    def share_bp(self, kind: VehicleKind) -> int:
        return self.vehicle_share_bp.get(kind, BASIS_POINTS)

    def unit_rial(self, kind: VehicleKind, street_class: StreetClass, *, later: bool) -> Rial:
        """The price of one billing unit for this vehicle on this class of street."""
        rates = self.rates[self.vehicle_groups[kind]]
        base = rates.later_rial if later else rates.first_rial
        return Rial(scale_bp(base, self.class_multiplier_bp[street_class], self.share_bp(kind)))

    def billed_units(self, duration_min: int) -> int:
        """Each started unit is billed."""
        return math.ceil(duration_min / self.unit_min) if duration_min > 0 else 0

    def price(self, duration_min: int, kind: VehicleKind, street_class: StreetClass) -> Price:
        """The price of a stay of `duration_min` minutes."""
        if duration_min < 0:
            raise ValueError("a duration cannot be negative")
        units = self.billed_units(duration_min)
        first_limit = self.higher_after_min // self.unit_min
        free = min(units, self.free_first_min // self.unit_min)
        first = max(0, min(units, first_limit) - free)
        later = max(0, units - max(first_limit, free))
        first_unit = self.unit_rial(kind, street_class, later=False)
        later_unit = self.unit_rial(kind, street_class, later=True)
        rates = self.rates[self.vehicle_groups[kind]]
        return Price(
            tariff_version=self.version,
            duration_min=duration_min,
            unit_min=self.unit_min,
            billed_units=units,
            free_units=free,
            first_units=first,
            later_units=later,
            first_unit_rial=first_unit,
            later_unit_rial=later_unit,
            base_first_rial=rates.first_rial,
            base_later_rial=rates.later_rial,
            class_multiplier_bp=self.class_multiplier_bp[street_class],
            vehicle_share_bp=self.share_bp(kind),
            total_rial=Rial(first * first_unit + later * later_unit),
            tariff_year=self.year,
            tariff_revision=self.revision,
        )


@dataclass(frozen=True)
class TariffBook:
    """Every tariff version; the one in force on a day is the newest that has started."""

    tariffs: tuple[Tariff, ...]

    def __post_init__(self) -> None:
        if not self.tariffs:
            raise TariffFileError("the tariff book is empty")
        versions = [t.version for t in self.tariffs]
        if len(set(versions)) != len(versions):
            raise TariffFileError("a tariff version appears twice")
        dates = [t.effective_from for t in self.tariffs]
        if len(set(dates)) != len(dates):
            raise TariffFileError("two tariffs start on the same day")
        ordered = tuple(sorted(self.tariffs, key=lambda t: t.effective_from))
        object.__setattr__(self, "tariffs", ordered)

    def in_force(self, on: date) -> Tariff:
        """The tariff for a stay that starts on `on` (Tehran's calendar date)."""
        current = [t for t in self.tariffs if t.effective_from <= on]
        if not current:
            raise NoTariffError("No parking tariff is in force on that day.", field="starts_at")
        return current[-1]

    def version(self, version: str) -> Tariff:
        """A reservation keeps the version it was priced with, for extensions and refunds."""
        for tariff in self.tariffs:
            if tariff.version == version:
                return tariff
        raise NoTariffError("No parking tariff is in force on that day.", field="starts_at")


def parse_tariffs(document: Any) -> TariffBook:
    """Read `{"tariffs": [...]}` (see `parking/data/tariffs.json`) into a book."""
    if not isinstance(document, dict) or not isinstance(document.get("tariffs"), list):
        raise TariffFileError('a tariff file is {"tariffs": [...]}')
    return TariffBook(tuple(_tariff(entry) for entry in document["tariffs"]))


def _tariff(entry: Any) -> Tariff:
    try:
        return Tariff(
            version=str(entry["version"]),
            effective_from=date.fromisoformat(entry["effective_from"]),
            rates={
                RateGroup(group): Rates(first_rial=pair[0], later_rial=pair[1])
                for group, pair in entry["rates_rial"].items()
            },
            vehicle_groups={
                VehicleKind(kind): RateGroup(group)
                for kind, group in entry["vehicle_groups"].items()
            },
            class_multiplier_bp={
                StreetClass(name): bp for name, bp in entry["class_multiplier_bp"].items()
            },
            vehicle_share_bp={
                VehicleKind(kind): bp for kind, bp in entry.get("vehicle_share_bp", {}).items()
            },
            unit_min=entry.get("unit_min", 30),
            higher_after_min=entry.get("higher_after_min", 120),
            free_first_min=entry.get("free_first_min", 0),
            source=entry.get("source", ""),
            year=int(entry.get("year", 0)),
            revision=int(entry.get("revision", 1)),
        )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        if isinstance(error, TariffFileError):
            raise
        raise TariffFileError(f"a tariff entry cannot be read: {error!r}") from error
