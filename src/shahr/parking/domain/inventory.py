"""The street parking inventory: zones, meters, numbered bays, and which vehicle fits which bay.

A zone (محدوده) lies inside a municipal district and carries the rules of its streets:
operating hours, days off, minimum and maximum stay. A meter (پارکومتر) stands on a street
of a class A-D and serves numbered bays (8 is Tehran's standard). Pure: nothing here reads
files or the database (the meter file is read in `meter_file`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NewType

from shahr.kernel.clock import TEHRAN
from shahr.kernel.errors import DomainError, NotFoundError
from shahr.parking.domain.tariffs import StreetClass, VehicleKind

MeterId = NewType("MeterId", int)
BayId = NewType("BayId", int)

STANDARD_BAYS_PER_METER = 8
MAX_BAYS_PER_METER = 20
MAX_METERS_PER_FILE = 200_000
DISTRICT_COUNT = 22
# Iran's extent: a position outside it is a swapped or mistyped coordinate.
IRAN_BOUNDS = (44.0, 25.0, 63.5, 40.0)


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


class BayKind(StrEnum):
    car = "car"
    motorcycle = "motorcycle"
    disabled = "disabled"
    loading = "loading"


# Which vehicles each kind of bay takes. A disabled bay also needs a valid disability permit.
VEHICLES_FOR_BAY: dict[BayKind, frozenset[VehicleKind]] = {
    BayKind.car: frozenset({VehicleKind.car, VehicleKind.van}),
    BayKind.motorcycle: frozenset({VehicleKind.motorcycle}),
    BayKind.disabled: frozenset({VehicleKind.car, VehicleKind.van}),
    BayKind.loading: frozenset({VehicleKind.van, VehicleKind.light_truck, VehicleKind.minibus}),
}

_BAY_REFUSALS = {
    BayKind.car: _("This bay is for cars and vans."),
    BayKind.motorcycle: _("This bay is for motorcycles only."),
    BayKind.disabled: _(
        "This bay is for drivers with disabilities: a car or van with an approved disability "
        "permit valid for this time. Add the permit to the vehicle in your account."
    ),
    BayKind.loading: _("This bay is for loading: vans, light trucks and minibuses."),
}


class BayKindMismatchError(DomainError):
    """The bay's kind does not take this vehicle."""


class BayNotFoundError(NotFoundError):
    """No such bay, or it is out of service."""


class MeterNotFoundError(NotFoundError):
    """No such meter."""


class MeterFileError(DomainError):
    """A meter file cannot be imported; nothing was written."""


def bay_fits(bay_kind: BayKind, vehicle_kind: VehicleKind, *, disability_permit: bool) -> bool:
    """Whether the bay takes the vehicle; `disability_permit`: it carries a valid permit."""
    if vehicle_kind not in VEHICLES_FOR_BAY[bay_kind]:
        return False
    return disability_permit or bay_kind is not BayKind.disabled


def check_bay_fits(
    bay_kind: BayKind, vehicle_kind: VehicleKind, *, disability_permit: bool
) -> None:
    if not bay_fits(bay_kind, vehicle_kind, disability_permit=disability_permit):
        raise BayKindMismatchError(_BAY_REFUSALS[bay_kind], field="bay_id")


def permit_covers(permit_expires_on: date | None, ends_at: datetime) -> bool:
    """An approved permit is valid through its expiry day, Tehran time, for the whole stay."""
    return permit_expires_on is not None and ends_at.astimezone(TEHRAN).date() <= permit_expires_on


@dataclass(frozen=True)
class ZoneRules:
    """When and for how long a zone's bays may be booked; minutes after Tehran midnight."""

    opens_min: int = 6 * 60
    closes_min: int = 22 * 60
    min_stay_min: int = 60
    max_stay_min: int = 900
    fridays_off: bool = True
    holidays_off: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.opens_min < self.closes_min <= 24 * 60:
            raise ValueError("a zone opens before it closes, within one day")
        if not 0 < self.min_stay_min <= self.max_stay_min:
            raise ValueError("a zone's minimum stay is positive and at most its maximum")


@dataclass(frozen=True)
class Zone:
    """A parking zone (محدوده) inside a municipal district."""

    code: str
    district: int
    name_fa: str
    name_en: str
    rules: ZoneRules = field(default_factory=ZoneRules)


@dataclass(frozen=True)
class Bay:
    id: BayId
    meter_id: MeterId
    number: int
    kind: BayKind
    in_service: bool = True


@dataclass(frozen=True)
class Meter:
    """A parking meter on a street, with its bays in number order."""

    id: MeterId
    device_id: str
    zone_code: str
    street_fa: str
    street_en: str
    street_class: StreetClass
    lon: float
    lat: float
    demo: bool
    bays: tuple[Bay, ...] = ()


@dataclass(frozen=True)
class MeterRecord:
    """A meter as a file or the demo describes it, before it has an id."""

    device_id: str
    zone: Zone
    street_fa: str
    street_en: str
    street_class: StreetClass
    lon: float
    lat: float
    bay_kinds: tuple[BayKind, ...]
    demo: bool = False
