"""Reservations: a bay held for a window, paid, then extended, ended, cancelled or run out.

    pending ──paid──> confirmed ──(ends_at passes)──> expired
       │                  ├──end early──> ended      (unused whole half-hours refunded)
       │                  └──cancel before start──> cancelled (all refunded)
       ├──cancel──> cancelled
       └──hold runs out unpaid──> lapsed ──paid late, bay still free──> confirmed

A pending or confirmed reservation holds its bay over [starts_at, ends_at); the database
refuses two such rows for one bay whose ranges overlap (docs/decisions/0011). While an
extension waits for payment, `ends_at` is already the extension's end and
`extension_from` keeps the paid end, so the extra time is held too; an extension that is
not paid in time falls back. Pure: times come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

from shahr.kernel.errors import ConflictError, DomainError, NotFoundError
from shahr.parking.domain.quotes import MINUTE, EndEarlyRefund, ParkingPolicy, TimeWindow
from shahr.parking.domain.tariffs import StreetClass, Tariff, VehicleKind

ReservationId = NewType("ReservationId", str)


class ReservationStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    lapsed = "lapsed"
    cancelled = "cancelled"
    ended = "ended"
    expired = "expired"


# The rows the exclusion constraint (and SQLite's check) consider: they hold the bay.
HOLDING_STATUSES = frozenset({ReservationStatus.pending, ReservationStatus.confirmed})


class EndReason(StrEnum):
    """Why a confirmed stay stopped holding its bay (`ReservationEnded.reason`)."""

    ended_early = "ended_early"
    cancelled = "cancelled"
    expired = "expired"


class ReservationNotFoundError(NotFoundError):
    """No such reservation among the caller's."""


class ReservationStateError(ConflictError):
    """The reservation is not in a state that allows this."""


class PaymentInDoubtError(ReservationStateError):
    """A payment for this reservation is still waiting for the bank's answer."""


class BayTakenError(ConflictError):
    """The bay is held by someone else for part of the window; `alternatives` are free."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        alternatives: tuple[Alternative, ...] = (),
    ) -> None:
        super().__init__(message, field=field)
        self.alternatives = alternatives


class ExtensionBlockedError(ConflictError):
    """Someone else's booking starts before the asked-for end."""


class UnknownVehicleError(DomainError):
    """The plate is not among the citizen's registered vehicles."""


class VehicleKindMismatchError(DomainError):
    """The vehicle kind asked for is not the one the plate is registered with."""


class PlateChangeError(DomainError):
    """The new plate cannot replace the old one on this reservation."""


@dataclass(frozen=True)
class Alternative:
    """A free bay offered instead of a taken one: same meter first, then the nearest meters."""

    bay_id: int
    bay_number: int
    meter_id: int
    meter_device_id: str
    street_fa: str
    street_en: str
    distance_m: float
    price_rial: int


def bay_taken(alternatives: tuple[Alternative, ...]) -> BayTakenError:
    return BayTakenError(
        "This bay is already booked for part of that time.",
        field="bay_id",
        alternatives=alternatives,
    )


def not_found() -> ReservationNotFoundError:
    return ReservationNotFoundError("This reservation was not found.")


@dataclass
class Reservation:
    id: ReservationId
    citizen_id: str
    bay_id: int
    meter_id: int
    plate: str
    vehicle_kind: VehicleKind
    street_class: StreetClass
    tariff_version: str
    quote_id: str
    status: ReservationStatus
    starts_at: datetime
    ends_at: datetime
    amount_rial: int
    created_at: datetime
    hold_expires_at: datetime | None
    paid_rial: int = 0
    extension_from: datetime | None = None
    extension_rial: int | None = None
    confirmed_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    refunded_rial: int = 0
    reminder_sent_at: datetime | None = None

    @property
    def paid_ends_at(self) -> datetime:
        """The end that is (or, while pending, will be) paid for; a pending extension aside."""
        return self.extension_from if self.extension_from is not None else self.ends_at

    @property
    def window(self) -> TimeWindow:
        return TimeWindow(self.starts_at, self.paid_ends_at)

    @property
    def stayed_until(self) -> datetime:
        """The end a citizen is shown: when a stay was ended early, that moment, not the
        booked end; otherwise the end paid for."""
        if self.status is ReservationStatus.ended and self.ended_at is not None:
            return self.ended_at
        return self.paid_ends_at

    @property
    def stayed_min(self) -> int:
        """Whole minutes from the start to `stayed_until`."""
        return int((self.stayed_until - self.starts_at).total_seconds() // 60)

    @property
    def extension_pending(self) -> bool:
        return self.extension_from is not None

    @property
    def amount_due_rial(self) -> int:
        """What the citizen must still pay: the reservation, or a pending extension."""
        if self.status is ReservationStatus.pending:
            return self.amount_rial
        if self.status is ReservationStatus.confirmed and self.extension_rial:
            return self.extension_rial
        return 0

    def holds_bay(self, now: datetime) -> bool:
        if self.status is ReservationStatus.confirmed:
            return True
        return (
            self.status is ReservationStatus.pending
            and self.hold_expires_at is not None
            and now < self.hold_expires_at
        )

    def _require(self, *allowed: ReservationStatus) -> None:
        if self.status not in allowed:
            raise ReservationStateError("This reservation can no longer be changed this way.")

    def confirm(self, *, at: datetime) -> None:
        """Paid: the bay is the citizen's for the window (a lapsed hold only if re-held)."""
        self._require(ReservationStatus.pending, ReservationStatus.lapsed)
        self.status = ReservationStatus.confirmed
        self.paid_rial += self.amount_rial
        self.hold_expires_at = None
        self.confirmed_at = at

    def lapse(self) -> None:
        self._require(ReservationStatus.pending)
        self.status = ReservationStatus.lapsed
        self.hold_expires_at = None

    def begin_extension(self, new_end: datetime, *, amount_rial: int, hold_until: datetime) -> None:
        self._require(ReservationStatus.confirmed)
        if self.extension_pending:
            raise ReservationStateError(
                "An extension of this reservation is already waiting for payment."
            )
        if new_end <= self.ends_at:
            raise ReservationStateError("An extension must end later than the stay does now.")
        self.extension_from = self.ends_at
        self.ends_at = new_end
        self.extension_rial = amount_rial
        self.hold_expires_at = hold_until

    def extend_now(self, new_end: datetime, *, amount_rial: int) -> None:
        """An extension that costs nothing more (it stays inside a billed half-hour)."""
        self._require(ReservationStatus.confirmed)
        self.ends_at = new_end
        self.amount_rial += amount_rial
        self.reminder_sent_at = None

    def confirm_extension(self) -> None:
        self._require(ReservationStatus.confirmed)
        if self.extension_rial is None:
            raise ReservationStateError("No extension of this reservation is waiting for payment.")
        self.amount_rial += self.extension_rial
        self.paid_rial += self.extension_rial
        self.extension_from = None
        self.extension_rial = None
        self.hold_expires_at = None
        self.reminder_sent_at = None

    def drop_extension(self) -> None:
        """The extension was not paid in time (or the stay ended): the bay is held as paid."""
        if self.extension_from is not None:
            self.ends_at = self.extension_from
        self.extension_from = None
        self.extension_rial = None
        if self.status is ReservationStatus.confirmed:
            self.hold_expires_at = None

    def cancel(self, *, at: datetime) -> int:
        """Cancel before the start; answers what to refund (everything paid)."""
        self._require(ReservationStatus.pending, ReservationStatus.confirmed)
        if at >= self.starts_at and self.status is ReservationStatus.confirmed:
            raise ReservationStateError(
                "The stay has already started; end it instead of cancelling."
            )
        was_paid = self.status is ReservationStatus.confirmed
        self.drop_extension()
        self.status = ReservationStatus.cancelled
        self.hold_expires_at = None
        self.ended_at = at
        self.end_reason = EndReason.cancelled if was_paid else None
        return self.paid_rial if was_paid else 0

    def end_early(self, *, at: datetime, refund_rial: int) -> None:
        self._require(ReservationStatus.confirmed)
        if at < self.starts_at:
            raise ReservationStateError("The stay has not started yet; cancel it instead.")
        if at >= self.paid_ends_at:
            raise ReservationStateError("This stay has already ended.")
        self.drop_extension()
        self.status = ReservationStatus.ended
        self.ended_at = at
        self.end_reason = EndReason.ended_early
        self.refunded_rial += refund_rial

    def expire(self) -> None:
        """The stay ran to its paid end."""
        self._require(ReservationStatus.confirmed)
        self.drop_extension()
        self.status = ReservationStatus.expired
        self.ended_at = self.paid_ends_at
        self.end_reason = EndReason.expired

    def change_plate(self, plate: str, kind: VehicleKind, *, at: datetime) -> None:
        self._require(ReservationStatus.pending, ReservationStatus.confirmed)
        if at >= self.starts_at:
            raise ReservationStateError("The plate can be changed only before the stay starts.")
        self.plate = plate
        self.vehicle_kind = kind


def used_minutes(reservation: Reservation, at: datetime) -> int:
    """Whole minutes from the start to `at`, a started minute counted."""
    elapsed = at - reservation.starts_at
    return -(-elapsed // MINUTE) if elapsed.total_seconds() > 0 else 0


def end_early_refund(
    reservation: Reservation, tariff: Tariff, policy: ParkingPolicy, *, at: datetime
) -> int:
    """The unused whole billing units, at the rates they were bought for (per the policy).

    What was paid is the price of the whole paid window; what the citizen used is billed as
    any stay is, each started half-hour counted; the refund is the difference, so a unit
    already started is never refunded and tiered rates come back from the top.
    """
    if policy.end_early_refund is EndEarlyRefund.none:
        return 0
    used = tariff.price(
        max(used_minutes(reservation, at), 1), reservation.vehicle_kind, reservation.street_class
    )
    return max(0, reservation.paid_rial - used.total_rial)
