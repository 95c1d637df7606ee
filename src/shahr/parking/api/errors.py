"""Parking's error map: the status each domain error answers with, for the API and pages."""

from __future__ import annotations

from shahr.kernel.errors import DomainError
from shahr.parking.domain import (
    BayKindMismatchError,
    BayNotFoundError,
    BayTakenError,
    ExtensionBlockedError,
    GeoFileError,
    InvalidQuoteError,
    InvalidReminderLinkError,
    InvalidWindowError,
    MeterFileError,
    MeterNotFoundError,
    NoTariffError,
    PaymentInDoubtError,
    PlateChangeError,
    QuoteExpiredError,
    ReminderLinkExpiredError,
    ReservationNotFoundError,
    ReservationStateError,
    UnknownVehicleError,
    VehicleKindMismatchError,
)
from shahr.parking.services import PriceChangedError


class SearchAreaError(DomainError):
    """A search names neither a point nor a usable map view."""


ERROR_STATUS: dict[type[DomainError], int] = {
    GeoFileError: 422,
    MeterFileError: 422,
    SearchAreaError: 422,
    InvalidWindowError: 422,
    InvalidQuoteError: 422,
    QuoteExpiredError: 422,
    InvalidReminderLinkError: 400,
    ReminderLinkExpiredError: 410,
    NoTariffError: 422,
    BayKindMismatchError: 422,
    UnknownVehicleError: 422,
    VehicleKindMismatchError: 422,
    PlateChangeError: 422,
    BayNotFoundError: 404,
    MeterNotFoundError: 404,
    ReservationNotFoundError: 404,
    PriceChangedError: 409,
    ReservationStateError: 409,
    PaymentInDoubtError: 409,
    BayTakenError: 409,
    ExtensionBlockedError: 409,
}
