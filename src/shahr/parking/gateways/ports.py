"""Parking's ports to other areas (payments, the citizen's vehicles, notices), with their fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from shahr.kernel.db import UnitOfWork
from shahr.kernel.errors import ConflictError
from shahr.kernel.plates import check_plate_shape, parse_vehicle_plate

# Payments port
#
# Parking asks payments for money and for refunds through this port; bootstrap's adapter
# calls `shahr.payments.services`. Areas never import each other, so the port speaks in
# plain values. The same section holds parking's other small ports: the citizen's vehicles
# (identity's data) and notices to a citizen (identity's SMS gateway).

RESERVATION_PURPOSE = "reservation"
EXTENSION_PURPOSE = "extension"


@dataclass(frozen=True)
class VerifiedPayment:
    """Payments' `PaymentVerified`, in parking's words (areas do not share classes)."""

    payment_id: str
    citizen_id: str
    purpose: str
    reference: str
    amount_rial: int
    verified_at: datetime
    method: str = "psp"


@dataclass(frozen=True)
class PaidFor:
    """What a parking payment buys, for the citizen's wallet line: a bay on a street.

    Plain data, the street in both languages, so the wallet names it in its reader's.
    """

    street_fa: str
    street_en: str
    bay_number: int


@dataclass(frozen=True)
class StartedPayment:
    """A payment begun: by card, where to send the citizen; from the wallet, already paid."""

    payment_id: str
    status: str
    method: str
    amount_rial: int
    redirect_url: str | None


@dataclass(frozen=True)
class PaymentState:
    """Where one payment for a reservation stands, as payments words it.

    `standing` is one of `in_doubt`, `confirmed`, `failed`, `returned`, `refunded`; `label`
    and `explanation` are payments' message ids for it (the staff view shows the same);
    `decided_by` is when a payment in doubt is settled one way or the other;
    `unanswered` is true while the bank has said nothing of it (the payer may never have
    finished on its page), when the payer may give it up (`give_up_payment`).
    """

    payment_id: str
    purpose: str
    amount_rial: int
    standing: str
    label: str
    explanation: str
    decided_by: datetime | None
    created_at: datetime
    unanswered: bool = False


IN_DOUBT = "in_doubt"
CONFIRMED = "confirmed"


class PaymentPort(Protocol):
    async def request_payment(
        self,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        method: str,
        paid_for: PaidFor | None = None,
        pay_by: datetime | None = None,
    ) -> StartedPayment:
        """Start a card payment of `amount_rial` for `purpose`; verified, it comes as an event.

        `pay_by` (the hold's end) is the bank page's deadline too, to the instant.
        """
        ...

    async def pay_from_wallet(
        self,
        transaction: UnitOfWork,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        paid_for: PaidFor | None = None,
    ) -> StartedPayment:
        """Debit the citizen's wallet inside `transaction`, which the caller then commits.

        Paid when this answers (and booked only if the caller commits); refused with a
        domain error (a wallet too short) writing nothing.
        """
        ...

    async def refund(self, *, reference: str, amount_rial: int, reason: str) -> None:
        """Give money paid for `reference` back to the wallet; idempotent by (reference, reason)."""
        ...

    async def verified_payments(
        self, *, verified_from: datetime, verified_to: datetime
    ) -> list[VerifiedPayment]:
        """Parking's payments verified in [from, to): what the events should have brought."""
        ...

    async def payment_states(self, *, reference: str) -> list[PaymentState]:
        """Every payment asked for `reference` (a reservation), oldest first."""
        ...

    async def give_up_payment(self, *, payment_id: str, citizen_id: str) -> None:
        """Stop waiting for an unanswered payment: the bank gives back anything it took."""
        ...


@dataclass
class FakePayments:
    """The embedded adapter tests use: records what parking asked; moves no money.

    A wallet payment is answered paid at once; a card payment waits for the test to deliver
    its verified payment to parking. `fail_with` makes the next requests raise it (a PSP
    that is down, a wallet too short).
    """

    requested: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    # Verified payments payments would report (`verified_payments`), put here by tests.
    verified: list[VerifiedPayment] = field(default_factory=list)
    fail_with: Exception | None = None
    fail_refunds_with: Exception | None = None
    # What `payment_states` answers, by reference, put here by tests.
    states: dict[str, list[PaymentState]] = field(default_factory=dict)
    given_up: list[str] = field(default_factory=list)

    async def request_payment(
        self,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        method: str,
        paid_for: PaidFor | None = None,
        pay_by: datetime | None = None,
    ) -> StartedPayment:
        if self.fail_with is not None:
            raise self.fail_with
        payment_id = f"fake-payment-{len(self.requested) + 1}"
        self.requested.append(
            {
                "payment_id": payment_id,
                "citizen_id": citizen_id,
                "amount_rial": amount_rial,
                "purpose": purpose,
                "reference": reference,
                "return_url": return_url,
                "method": method,
                "paid_for": paid_for,
            }
        )
        return StartedPayment(
            payment_id, "redirected", method, amount_rial, f"/sandbox-psp/pay/{payment_id}"
        )

    async def pay_from_wallet(
        self,
        transaction: UnitOfWork,
        *,
        citizen_id: str,
        amount_rial: int,
        purpose: str,
        reference: str,
        return_url: str,
        paid_for: PaidFor | None = None,
    ) -> StartedPayment:
        started = await self.request_payment(
            citizen_id=citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reference,
            return_url=return_url,
            method="wallet",
            paid_for=paid_for,
        )
        return StartedPayment(started.payment_id, "settled", "wallet", amount_rial, None)

    async def refund(self, *, reference: str, amount_rial: int, reason: str) -> None:
        if self.fail_refunds_with is not None:
            raise self.fail_refunds_with
        entry = {"reference": reference, "amount_rial": amount_rial, "reason": reason}
        if entry not in self.refunds:
            self.refunds.append(entry)

    async def verified_payments(
        self, *, verified_from: datetime, verified_to: datetime
    ) -> list[VerifiedPayment]:
        return [p for p in self.verified if verified_from <= p.verified_at < verified_to]

    async def payment_states(self, *, reference: str) -> list[PaymentState]:
        return list(self.states.get(reference, []))

    async def give_up_payment(self, *, payment_id: str, citizen_id: str) -> None:
        self.given_up.append(payment_id)


@dataclass(frozen=True)
class RegisteredVehicle:
    """One of a citizen's vehicles, in parking's words: identity keeps them."""

    plate: str  # canonical, from `kernel.plates`
    kind: str
    nickname: str | None = None
    # The last day of the vehicle's approved disability permit; None without one (none
    # submitted, still pending, or rejected).
    permit_expires_on: date | None = None


class VehicleDirectory(Protocol):
    async def vehicles_of(self, *, citizen_id: str) -> list[RegisteredVehicle]:
        """The citizen's vehicles, oldest first."""
        ...

    async def vehicle(self, *, citizen_id: str, plate: str) -> RegisteredVehicle | None:
        """The citizen's vehicle with this canonical plate, or None if it is not theirs."""
        ...

    async def register(self, *, citizen_id: str, plate: str, kind: str) -> RegisteredVehicle:
        """Add a vehicle to the citizen's account (a DomainError naming `plate` or `kind`)."""
        ...


@dataclass
class StaticVehicleDirectory:
    """The embedded adapter: kinds by (citizen id, canonical plate), and approved permits."""

    vehicles: dict[tuple[str, str], str] = field(default_factory=dict)
    permits: dict[tuple[str, str], date] = field(default_factory=dict)
    nicknames: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(
        self, citizen_id: str, plate: str, kind: str, *, permit_expires_on: date | None = None
    ) -> None:
        self.vehicles[(citizen_id, plate)] = kind
        if permit_expires_on is not None:
            self.permits[(citizen_id, plate)] = permit_expires_on

    async def vehicles_of(self, *, citizen_id: str) -> list[RegisteredVehicle]:
        return [
            self._registered(owner, plate) for owner, plate in self.vehicles if owner == citizen_id
        ]

    async def vehicle(self, *, citizen_id: str, plate: str) -> RegisteredVehicle | None:
        if (citizen_id, plate) not in self.vehicles:
            return None
        return self._registered(citizen_id, plate)

    async def register(self, *, citizen_id: str, plate: str, kind: str) -> RegisteredVehicle:
        parsed = parse_vehicle_plate(plate)
        check_plate_shape(parsed, motorcycle=kind == "motorcycle")
        if (citizen_id, parsed.canonical) in self.vehicles:
            raise ConflictError("This plate is already registered on your account.", field="plate")
        self.add(citizen_id, parsed.canonical, kind)
        return self._registered(citizen_id, parsed.canonical)

    def _registered(self, citizen_id: str, plate: str) -> RegisteredVehicle:
        key = (citizen_id, plate)
        return RegisteredVehicle(
            plate, self.vehicles[key], self.nicknames.get(key), self.permits.get(key)
        )


@dataclass(frozen=True)
class Notice:
    """Something a citizen should hear about; `message` is an English msgid with `params`."""

    citizen_id: str
    reservation_id: str
    kind: str
    message: str
    params: dict[str, Any]


class ParkingNotifier(Protocol):
    async def notify(self, notice: Notice) -> None:
        """Tell the citizen outside the app (by SMS); the in-app list is parking's own."""
        ...


@dataclass
class RecordingNotifier:
    """The embedded adapter: keeps each notice (tests read them)."""

    sent: list[Notice] = field(default_factory=list)

    async def notify(self, notice: Notice) -> None:
        self.sent.append(notice)
