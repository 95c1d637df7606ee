"""Search, meters and bays: what is free for a window, where, and at what price."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shahr.kernel.errors import DomainError
from shahr.kernel.web import i18n
from shahr.parking.domain import (
    Bay,
    BayKind,
    Meter,
    Price,
    StreetClass,
    TimeWindow,
    VehicleKind,
    Zone,
)
from shahr.parking.queries import (
    BayState,
    MeterAvailability,
    MeterDetail,
    MetroNearby,
    SearchResult,
)

# The metro data set's licence asks that every use name it (ODbL 1.0, section 4.3).


def refusal_text(error: DomainError | None) -> str | None:
    """Why a window cannot be booked, in the request's language."""
    return None if error is None else i18n.gettext(error.message, **error.params)


def _clock_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class WindowOut(BaseModel):
    starts_at: datetime
    ends_at: datetime
    duration_min: int

    @classmethod
    def of(cls, window: TimeWindow) -> WindowOut:
        return cls(
            starts_at=window.starts_at, ends_at=window.ends_at, duration_min=window.duration_min
        )


class PriceLineOut(BaseModel):
    """One line of the breakdown: so many half-hours at so much each."""

    label: Literal["free", "first", "later"]
    half_hours: int
    unit_rial: int
    amount_rial: int


class PriceOut(BaseModel):
    """A price and how it was reached; every amount is integer Rial."""

    tariff_version: str
    duration_min: int
    unit_min: int = Field(description="The billing unit in minutes; each started unit is billed")
    billed_units: int
    free_units: int
    first_units: int = Field(description="Units at the first rate (within the first two hours)")
    later_units: int = Field(description="Units at the higher rate, after the first two hours")
    base_first_rial: int = Field(description="The tariff's rate per unit before multipliers")
    base_later_rial: int
    class_multiplier_bp: int = Field(description="Street-class multiplier, 10000 = 1.0")
    vehicle_share_bp: int = Field(description="The vehicle's share, 10000 = 100 %")
    first_unit_rial: int
    later_unit_rial: int
    free_rial: int = Field(description="What the free units would have cost")
    total_rial: int
    lines: list[PriceLineOut]

    @classmethod
    def of(cls, price: Price) -> PriceOut:
        lines = [
            PriceLineOut(label=label, half_hours=n, unit_rial=unit, amount_rial=n * amount_unit)
            for label, n, unit, amount_unit in (
                ("free", price.free_units, price.first_unit_rial, 0),
                ("first", price.first_units, price.first_unit_rial, price.first_unit_rial),
                ("later", price.later_units, price.later_unit_rial, price.later_unit_rial),
            )
            if n
        ]
        return cls(
            tariff_version=price.tariff_version,
            duration_min=price.duration_min,
            unit_min=price.unit_min,
            billed_units=price.billed_units,
            free_units=price.free_units,
            first_units=price.first_units,
            later_units=price.later_units,
            base_first_rial=price.base_first_rial,
            base_later_rial=price.base_later_rial,
            class_multiplier_bp=price.class_multiplier_bp,
            vehicle_share_bp=price.vehicle_share_bp,
            first_unit_rial=price.first_unit_rial,
            later_unit_rial=price.later_unit_rial,
            free_rial=price.free_rial,
            total_rial=price.total_rial,
            lines=lines,
        )


class MetroOut(BaseModel):
    """The closest metro station, for park and ride."""

    name_fa: str
    name_en: str
    lines: list[int]
    distance_m: float

    @classmethod
    def of(cls, metro: MetroNearby | None) -> MetroOut | None:
        return None if metro is None else _metro_out(metro)


@functools.lru_cache(maxsize=8_192)
def _metro_out(metro: MetroNearby) -> MetroOut:
    """One model per (station, distance): a search shows the same few stations beside many
    meters, and each meter's closest station stays the same. Never changed once made."""
    return MetroOut(
        name_fa=metro.name_fa,
        name_en=metro.name_en,
        lines=list(metro.lines),
        distance_m=metro.distance_m,
    )


class ZoneOut(BaseModel):
    code: str
    district: int
    name_fa: str
    name_en: str
    opens: str = Field(description="Tehran time, HH:MM")
    closes: str
    min_stay_min: int
    max_stay_min: int
    fridays_off: bool
    holidays_off: bool

    @classmethod
    def of(cls, zone: Zone) -> ZoneOut:
        rules = zone.rules
        return cls(
            code=zone.code,
            district=zone.district,
            name_fa=zone.name_fa,
            name_en=zone.name_en,
            opens=_clock_time(rules.opens_min),
            closes=_clock_time(rules.closes_min),
            min_stay_min=rules.min_stay_min,
            max_stay_min=rules.max_stay_min,
            fridays_off=rules.fridays_off,
            holidays_off=rules.holidays_off,
        )


class MeterRefOut(BaseModel):
    id: int
    device_id: str
    street_fa: str
    street_en: str
    street_class: StreetClass
    zone_code: str
    lon: float
    lat: float
    demo: bool = Field(description="True for the demo city's invented meters")

    @classmethod
    def of(cls, meter: Meter) -> MeterRefOut:
        return cls(**_meter_fields(meter))


def _meter_fields(meter: Meter) -> dict[str, Any]:
    """`MeterRefOut`'s fields, for it and for the models that extend it."""
    return {
        "id": meter.id,
        "device_id": meter.device_id,
        "street_fa": meter.street_fa,
        "street_en": meter.street_en,
        "street_class": meter.street_class,
        "zone_code": meter.zone_code,
        "lon": meter.lon,
        "lat": meter.lat,
        "demo": meter.demo,
    }


class BayRefOut(BaseModel):
    id: int
    number: int
    kind: BayKind

    @classmethod
    def of(cls, bay: Bay) -> BayRefOut:
        return cls(id=bay.id, number=bay.number, kind=bay.kind)


class MeterSummaryOut(MeterRefOut):
    """A meter in search results, with its free bays for the window."""

    district: int
    zone_name_fa: str
    zone_name_en: str
    distance_m: float | None
    bays_total: int = Field(description="Bays that take the vehicle")
    bays_free: int = Field(description="Of those, bays not held for any part of the window")
    price_rial: int | None = Field(description="The window's price here; null if not bookable")
    bookable: bool
    closed_reason: str | None = Field(description="Why the window cannot be booked here")
    metro: MetroOut | None

    @classmethod
    def of_availability(cls, found: MeterAvailability) -> MeterSummaryOut:
        # The meter's fields as a dict, not `MeterRefOut.of(...).model_dump()`: that
        # validated and dumped every meter of every search once more (a search's hottest
        # cost through HTTP).
        return cls(
            **_meter_fields(found.meter),
            district=found.zone.district,
            zone_name_fa=found.zone.name_fa,
            zone_name_en=found.zone.name_en,
            distance_m=found.distance_m,
            bays_total=found.bays_total,
            bays_free=found.bays_free,
            price_rial=None if found.price is None else found.price.total_rial,
            bookable=found.price is not None,
            closed_reason=refusal_text(found.refusal),
            metro=MetroOut.of(found.metro),
        )


class SearchOut(BaseModel):
    """Meters nearest first, with the closest metro station to the place searched."""

    window: WindowOut
    vehicle_kind: VehicleKind
    nearest_metro: MetroOut | None
    meters: list[MeterSummaryOut]

    @classmethod
    def of(cls, result: SearchResult) -> SearchOut:
        return cls(
            window=WindowOut.of(result.window),
            vehicle_kind=result.vehicle_kind,
            nearest_metro=MetroOut.of(result.nearest_metro),
            meters=[MeterSummaryOut.of_availability(m) for m in result.meters],
        )


class BayOut(BaseModel):
    """A bay for the window asked: held (reserved), paid, and bookable by the vehicle."""

    id: int
    number: int
    kind: BayKind
    fits: bool | None = Field(description="Takes the vehicle kind asked for (null if none asked)")
    reserved: bool = Field(description="Held by a reservation for part of the window")
    paid: bool = Field(description="Held by a paid reservation for part of the window")
    available: bool
    status: Literal["free", "occupied", "closed", "unknown"] = Field(
        description="Occupancy as a sensor sees it (FIWARE ParkingSpot status)"
    )

    @classmethod
    def of(cls, state: BayState) -> BayOut:
        return cls(
            id=state.bay.id,
            number=state.bay.number,
            kind=state.bay.kind,
            fits=state.fits,
            reserved=state.reserved,
            paid=state.paid,
            available=state.available,
            status=state.status,
        )


class MeterOut(MeterRefOut):
    """A meter with its zone's rules, each bay's state for the window, and the price."""

    zone: ZoneOut
    window: WindowOut
    vehicle_kind: VehicleKind | None
    price: PriceOut | None
    closed_reason: str | None
    bays: list[BayOut]
    metro: MetroOut | None

    @classmethod
    def of_detail(cls, detail: MeterDetail) -> MeterOut:
        return cls(
            **MeterRefOut.of(detail.meter).model_dump(),
            zone=ZoneOut.of(detail.zone),
            window=WindowOut.of(detail.window),
            vehicle_kind=detail.vehicle_kind,
            price=None if detail.price is None else PriceOut.of(detail.price),
            closed_reason=refusal_text(detail.refusal),
            bays=[BayOut.of(b) for b in detail.bays],
            metro=MetroOut.of(detail.metro),
        )
