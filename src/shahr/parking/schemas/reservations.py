"""Quotes, reservations and stays: what citizens send and what they get back."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shahr.kernel.clock import in_tehran
from shahr.kernel.persian import format_jalali, persian_digits
from shahr.kernel.plates import parse_vehicle_plate
from shahr.kernel.web import i18n
from shahr.kernel.web.i18n import Language
from shahr.kernel.web.instants import Instant
from shahr.parking.domain import (
    Alternative,
    EndReason,
    ReservationStatus,
    VehicleKind,
)
from shahr.parking.gateways import StartedPayment
from shahr.parking.queries import (
    ReservationView,
)

# The metro data set's licence asks that every use name it (ODbL 1.0, section 4.3).
from shahr.parking.schemas.availability import BayRefOut, MeterRefOut, PriceOut, WindowOut, ZoneOut
from shahr.parking.services import Quote


class QuoteCreate(BaseModel):
    """A bay, one of the citizen's plates, and a window: a start (default now) and an end."""

    model_config = ConfigDict(extra="forbid")

    bay_id: int = Field(gt=0)
    plate: str = Field(min_length=1, max_length=48, examples=["12ب345-67", "12B345-67"])
    vehicle_kind: VehicleKind | None = Field(
        default=None, description="Checked against the kind the plate is registered with"
    )
    starts_at: Instant | None = Field(default=None, description="Default: now")
    ends_at: Instant | None = None
    duration_min: int | None = Field(default=None, gt=0, le=24 * 60)


def _plate_forms(canonical: str) -> tuple[str, str]:
    plate = parse_vehicle_plate(canonical)
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

    ends_at: Instant
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
    paid_at: datetime
    paid_at_jalali: str = Field(description="Date and time of payment, Jalali, Tehran time")
    receipt_url: str = Field(description="The receipt in the payments API (JSON)")
    receipt_page: str = Field(description="The receipt as a page, Jalali date and Rial")


class ReceiptsOut(BaseModel):
    """What a reservation's receipt says: the bay, plate and window, and each payment."""

    reservation_id: str
    bay_number: int
    meter_device_id: str
    street: str = Field(description="In the user's language")
    plate: str
    plate_fa: str
    plate_en: str
    starts_at: datetime
    ends_at: datetime = Field(description="The paid end")
    window_jalali: str = Field(description="The paid window: Jalali date, Tehran times")
    amount_rial: int
    paid_rial: int
    refunded_rial: int
    receipts: list[ReceiptLinkOut]

    @classmethod
    def of(cls, view: ReservationView) -> ReceiptsOut:
        r = view.reservation
        language = i18n.current_language.get()
        plate_fa, plate_en = _plate_forms(r.plate)
        ends = in_tehran(r.paid_ends_at).strftime("%H:%M")
        window = f"{format_jalali(r.starts_at, language)}–{ends}"
        return cls(
            reservation_id=r.id,
            bay_number=view.bay.number,
            meter_device_id=view.meter.device_id,
            street=view.meter.street_fa if language == "fa" else view.meter.street_en,
            plate=r.plate,
            plate_fa=plate_fa,
            plate_en=plate_en,
            starts_at=r.starts_at,
            ends_at=r.paid_ends_at,
            window_jalali=persian_digits(window) if language == "fa" else window,
            amount_rial=r.amount_rial,
            paid_rial=r.paid_rial,
            refunded_rial=r.refunded_rial,
            receipts=[
                ReceiptLinkOut(
                    payment_id=p.payment_id,
                    purpose=p.purpose,
                    amount_rial=p.amount_rial,
                    paid_at=p.verified_at,
                    paid_at_jalali=format_jalali(p.verified_at, language),
                    receipt_url=f"/api/v1/payments/{p.payment_id}/receipt",
                    receipt_page=f"/payments/{p.payment_id}/receipt",
                )
                for p in view.payments
                if p.outcome != "refunded"
            ],
        )


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
    return text.format(street=street, bay=bay, time=time, link=params.get("link", ""))
