"""Parking's API models: map layers (GeoJSON, [lon, lat]), search, quotes and reservations."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import persian_digits
from shahr.kernel.plates import parse_plate
from shahr.kernel.web import i18n
from shahr.kernel.web.i18n import Language
from shahr.parking.domain import (
    Alternative,
    Bay,
    BayKind,
    District,
    EndReason,
    Meter,
    MetroStation,
    Price,
    ReservationStatus,
    StreetClass,
    TimeWindow,
    VehicleKind,
    Zone,
)
from shahr.parking.gateways import StartedPayment
from shahr.parking.queries import (
    BayState,
    MeterAvailability,
    MeterDetail,
    MetroNearby,
    ReservationView,
    SearchResult,
)
from shahr.parking.services import Quote

# The metro data set's licence asks that every use name it (ODbL 1.0, section 4.3).
METRO_ATTRIBUTION = (
    "Metro stations: tehran-metro-data by Mostafa Kheibary"
    " (github.com/mostafa-kheibary/tehran-metro-data), ODbL 1.0"
)
METRO_LICENSE_URL = "https://opendatacommons.org/licenses/odbl/1-0/"


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[lon, lat], WGS84")


class DistrictProperties(BaseModel):
    district: int = Field(description="The municipal district's number (منطقه)")
    name_fa: str
    name_en: str
    approximate: bool = Field(
        description="True for the demo city's outline drawn around a centroid, not an official one"
    )
    source: str = Field(description="Where the outline comes from")


class DistrictFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] = Field(description="A GeoJSON Polygon or MultiPolygon")
    properties: DistrictProperties


class DistrictCollection(BaseModel):
    """Tehran's municipal districts as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DistrictFeature]

    @classmethod
    def of(cls, districts: Sequence[District]) -> DistrictCollection:
        return cls(
            features=[
                DistrictFeature(
                    id=d.number,
                    geometry=d.geometry,
                    properties=DistrictProperties(
                        district=d.number,
                        name_fa=d.name_fa,
                        name_en=d.name_en,
                        approximate=d.approximate,
                        source=d.source,
                    ),
                )
                for d in districts
            ]
        )


class MetroStationProperties(BaseModel):
    name_fa: str
    name_en: str
    lines: list[int] = Field(description="The metro lines that stop here; several at interchanges")


class MetroStationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: MetroStationProperties


class MetroStationCollection(BaseModel):
    """Metro stations as a GeoJSON FeatureCollection carrying the data set's attribution."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    # RFC 7946 section 6.1 allows foreign members; maps show this next to the layer.
    attribution: str = METRO_ATTRIBUTION
    license: str = METRO_LICENSE_URL
    features: list[MetroStationFeature]

    @classmethod
    def of(cls, stations: Sequence[MetroStation]) -> MetroStationCollection:
        return cls(
            features=[
                MetroStationFeature(
                    geometry=PointGeometry(coordinates=(s.lon, s.lat)),
                    properties=MetroStationProperties(
                        name_fa=s.name_fa, name_en=s.name_en, lines=list(s.lines)
                    ),
                )
                for s in stations
            ]
        )


# --- search, meters and bays -------------------------------------------------------------------


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
        if metro is None:
            return None
        return cls(
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
        return cls(
            id=meter.id,
            device_id=meter.device_id,
            street_fa=meter.street_fa,
            street_en=meter.street_en,
            street_class=meter.street_class,
            zone_code=meter.zone_code,
            lon=meter.lon,
            lat=meter.lat,
            demo=meter.demo,
        )


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
        return cls(
            **MeterRefOut.of(found.meter).model_dump(),
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


# --- quotes and reservations ------------------------------------------------------------------


class QuoteCreate(BaseModel):
    """A bay, one of the citizen's plates, and a window: a start (default now) and an end."""

    model_config = ConfigDict(extra="forbid")

    bay_id: int = Field(gt=0)
    plate: str = Field(min_length=1, max_length=48, examples=["12ب345-67", "12B345-67"])
    vehicle_kind: VehicleKind | None = Field(
        default=None, description="Checked against the kind the plate is registered with"
    )
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now")
    ends_at: AwareDatetime | None = None
    duration_min: int | None = Field(default=None, gt=0, le=24 * 60)


def _plate_forms(canonical: str) -> tuple[str, str]:
    plate = parse_plate(canonical)
    return plate.display_fa, plate.display_en


class QuoteOut(BaseModel):
    """The price for the window and the token that reserves it until `expires_at`."""

    quote_token: str
    quote_id: str
    expires_at: datetime
    bay: BayRefOut
    meter: MeterRefOut
    zone: ZoneOut
    plate: str
    plate_fa: str
    plate_en: str
    vehicle_kind: VehicleKind
    window: WindowOut
    price: PriceOut

    @classmethod
    def of(cls, quote: Quote) -> QuoteOut:
        plate_fa, plate_en = _plate_forms(quote.claims.plate)
        return cls(
            quote_token=quote.token,
            quote_id=quote.claims.quote_id,
            expires_at=quote.claims.expires_at,
            bay=BayRefOut.of(quote.bay),
            meter=MeterRefOut.of(quote.meter),
            zone=ZoneOut.of(quote.zone),
            plate=quote.claims.plate,
            plate_fa=plate_fa,
            plate_en=plate_en,
            vehicle_kind=quote.claims.vehicle_kind,
            window=WindowOut.of(quote.claims.window),
            price=PriceOut.of(quote.price),
        )


PayMethod = Literal["psp", "wallet"]


class ReservationCreate(BaseModel):
    """Reserve what a quote priced; `amount_rial`, if sent, must be the quoted amount."""

    model_config = ConfigDict(extra="forbid")

    quote_token: str = Field(min_length=1, max_length=1000)
    amount_rial: int | None = Field(default=None, ge=0)
    method: PayMethod = Field(default="psp", description="Pay by card (psp) or from the wallet")
    return_url: str | None = Field(
        default=None, max_length=300, description="A path on this site to come back to"
    )


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: PayMethod = "psp"
    return_url: str | None = Field(default=None, max_length=300)


class ExtensionCreate(BaseModel):
    """The new end; only the difference is paid."""

    model_config = ConfigDict(extra="forbid")

    ends_at: AwareDatetime
    method: PayMethod = "psp"
    return_url: str | None = Field(default=None, max_length=300)


class PlateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: str = Field(min_length=1, max_length=48)
    vehicle_kind: VehicleKind | None = None


class PaymentStartOut(BaseModel):
    """Where to send the citizen to pay (card), or null when the wallet paid at once."""

    payment_id: str
    status: str
    method: str
    amount_rial: int
    redirect_url: str | None

    @classmethod
    def of(cls, payment: StartedPayment | None) -> PaymentStartOut | None:
        if payment is None:
            return None
        return cls(
            payment_id=payment.payment_id,
            status=payment.status,
            method=payment.method,
            amount_rial=payment.amount_rial,
            redirect_url=payment.redirect_url,
        )


class ExtensionOut(BaseModel):
    """An extension waiting for its payment: the bay is held to `ends_at` until then."""

    ends_at: datetime
    amount_rial: int
    hold_expires_at: datetime | None


class PaymentLineOut(BaseModel):
    payment_id: str
    purpose: str
    amount_rial: int
    outcome: str = Field(description="confirmed, extended or refunded")
    verified_at: datetime
    receipt_url: str
    receipt_page: str


class RefundOut(BaseModel):
    reason: str
    amount_rial: int
    issued: bool


class ReservationOut(BaseModel):
    id: str
    status: ReservationStatus
    bay: BayRefOut
    meter: MeterRefOut
    zone: ZoneOut
    plate: str
    plate_fa: str
    plate_en: str
    vehicle_kind: VehicleKind
    starts_at: datetime
    ends_at: datetime = Field(description="The paid (or, while pending, the booked) end")
    hold_expires_at: datetime | None = Field(description="Pay by then, or the hold lapses")
    amount_rial: int = Field(description="The price of the window from start to `ends_at`")
    paid_rial: int
    amount_due_rial: int
    refunded_rial: int
    extension: ExtensionOut | None
    created_at: datetime
    confirmed_at: datetime | None
    ended_at: datetime | None
    end_reason: EndReason | None
    payments: list[PaymentLineOut]
    refunds: list[RefundOut]

    @classmethod
    def of(cls, view: ReservationView) -> ReservationOut:
        r = view.reservation
        plate_fa, plate_en = _plate_forms(r.plate)
        extension = None
        if r.extension_pending and r.extension_rial is not None:
            extension = ExtensionOut(
                ends_at=r.ends_at, amount_rial=r.extension_rial, hold_expires_at=r.hold_expires_at
            )
        return cls(
            id=r.id,
            status=r.status,
            bay=BayRefOut.of(view.bay),
            meter=MeterRefOut.of(view.meter),
            zone=ZoneOut.of(view.zone),
            plate=r.plate,
            plate_fa=plate_fa,
            plate_en=plate_en,
            vehicle_kind=r.vehicle_kind,
            starts_at=r.starts_at,
            ends_at=r.paid_ends_at,
            hold_expires_at=r.hold_expires_at,
            amount_rial=r.amount_rial,
            paid_rial=r.paid_rial,
            amount_due_rial=r.amount_due_rial,
            refunded_rial=r.refunded_rial,
            extension=extension,
            created_at=r.created_at,
            confirmed_at=r.confirmed_at,
            ended_at=r.ended_at,
            end_reason=r.end_reason,
            payments=[
                PaymentLineOut(
                    payment_id=p.payment_id,
                    purpose=p.purpose,
                    amount_rial=p.amount_rial,
                    outcome=p.outcome,
                    verified_at=p.verified_at,
                    receipt_url=f"/api/v1/payments/{p.payment_id}/receipt",
                    receipt_page=f"/payments/{p.payment_id}/receipt",
                )
                for p in view.payments
            ],
            refunds=[
                RefundOut(reason=f.reason, amount_rial=f.amount_rial, issued=f.issued)
                for f in view.refunds
            ],
        )


class ReservationStartOut(BaseModel):
    """The reservation held, and where to pay for it."""

    reservation: ReservationOut
    payment: PaymentStartOut | None


class StayChangeOut(BaseModel):
    reservation: ReservationOut
    payment: PaymentStartOut | None
    refund_rial: int = Field(description="What this change gives back to the wallet")


class ReceiptLinkOut(BaseModel):
    payment_id: str
    purpose: str
    amount_rial: int
    receipt_url: str = Field(description="The receipt in the payments API (JSON)")
    receipt_page: str = Field(description="The receipt as a page, Jalali date and Rial")


class ReceiptsOut(BaseModel):
    reservation_id: str
    receipts: list[ReceiptLinkOut]


class AlternativeOut(BaseModel):
    bay_id: int
    bay_number: int
    meter_id: int
    meter_device_id: str
    street_fa: str
    street_en: str
    distance_m: float
    price_rial: int

    @classmethod
    def of(cls, alternative: Alternative) -> AlternativeOut:
        return cls(**dataclasses.asdict(alternative))


class BayTakenProblem(BaseModel):
    """409: the bay is held for part of the window; `alternatives` are free for all of it."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    field: str | None = None
    alternatives: list[AlternativeOut]


class NotificationOut(BaseModel):
    id: int
    kind: str
    reservation_id: str
    text: str
    created_at: datetime


def render_notice(message: str, params: dict[str, Any], language: Language) -> str:
    """A stored notice in the given language: Persian digits and street name in Persian."""
    street = params.get("street_fa" if language == "fa" else "street_en", "")
    bay = str(params.get("bay", ""))
    time = str(params.get("time", ""))
    if language == "fa":
        bay, time = persian_digits(bay), persian_digits(time)
    text: str = i18n.translations(language).gettext(message)
    return text.format(street=street, bay=bay, time=time)
